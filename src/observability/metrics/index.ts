export {
  MetricsCollector,
  OTHER_RESOURCES,
  type CallMetrics,
  type ClientMetrics,
  type MetricsCollectorOptions,
  type MetricsSnapshot,
} from "./metrics-collector.js";
export { Metered, MetricsMiddleware, type MeteredOptions } from "./metrics-middleware.js";
