export { OTelMiddleware, Traced, type OTelOptions, type TracedOptions } from "./otel-middleware.js";
export { MCP_ATTRIBUTES, MCP_METRICS } from "./semantic-conventions.js";
