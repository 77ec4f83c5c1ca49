export {
  MetricsCollector,
  OTHER_RESOURCES,
  type CallMetrics,
  type ClientMetrics,
  type MetricsCollectorOptions,
  type MetricsSnapshot,
} from "./metrics-collector.js";
export { Metered, MetricsMiddleware, type MeteredOptions } from "./metrics-middleware.js";
export { MAX_LATENCY_MS, MIN_LATENCY_MS, PERCENTILE_RELATIVE_ERROR } from "./latency-histogram.js";
