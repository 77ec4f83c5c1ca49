export { DEFAULT_DURATION_BUCKETS, PrometheusMiddleware, type PrometheusOptions } from "./prometheus-middleware.js";
