export { CONTENT_TYPES, negotiateFormat, renderExposition, type ExpositionFormat } from "./exposition.js";
export { DEFAULT_DURATION_BUCKETS, PrometheusMiddleware, type PrometheusOptions } from "./prometheus-middleware.js";
