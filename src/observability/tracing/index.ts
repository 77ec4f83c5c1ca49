export { OTelMiddleware, Traced, type OTelOptions, type TracedOptions } from "./otel-middleware.js";
export { startOtlpSdk, type OtlpSdk, type OtlpSdkOptions } from "./otlp-sdk.js";
export { CALL_SPAN_CONTEXT, EXECUTE_TOOL, MCP_ATTRIBUTES, MCP_DURATION_BUCKETS, MCP_METRICS, TOOL_ERROR } from "./semantic-conventions.js";
