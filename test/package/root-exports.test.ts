import * as root from "lantern-mcp";

describe("the root export lists what users need, not internals", () => {
  it.each([
    "canonicalJson", "GENESIS_HASH", "auditKeyId", "AuditLog",
    "renderExposition", "negotiateFormat", "contentTypeOf", "CONTENT_TYPES",
    "startOtlpSdk", "CALL_SPAN_CONTEXT", "EXECUTE_TOOL", "MCP_DURATION_BUCKETS", "TOOL_ERROR",
    "MAX_LATENCY_MS", "MIN_LATENCY_MS", "PERCENTILE_RELATIVE_ERROR",
    "fetchDashboardSnapshot", "DASHBOARD_TELEMETRY_PATH", "captureServerOutput",
    "snakeCase", "DefinitionCompiler", "ProviderTable", "Registry", "SessionHost", "scanServerClass",
  ])("%s is not exported", (name) => {
    expect(Object.keys(root)).not.toContain(name);
  });

  it.each([
    "McpServer", "Server", "Tool", "Resource", "Prompt", "Inject", "Param", "UseMiddleware", "middlewareDecorator", "mergeOptions",
    "DefinitionError", "ServerStateError", "ServerShutdownError", "ToolError",
    "AuditMiddleware", "Audited", "verifyAuditLog", "StructuredLoggingMiddleware", "Logged", "OTelMiddleware", "Traced",
    "MetricsCollector", "MetricsMiddleware", "Metered", "PrometheusMiddleware", "AuthMiddleware", "JWTAuth", "Dashboard", "DashboardEndpoint",
  ])("%s is exported", (name) => {
    expect(Object.keys(root)).toContain(name);
  });
});
