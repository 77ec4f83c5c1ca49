/**
 * Attribute and metric names Lantern's spans and instruments carry: the seed's own (`mcp.tool.*`,
 * `mcp.request.id`, `mcp.client.id`) and the OpenTelemetry semantic conventions for MCP and GenAI
 * tool execution. Those conventions are at "development" status and not published in a stable
 * package, so they live here, in one place, spelled exactly as the convention spells them.
 *
 * @example
 * const done = spans.filter((s) => s.attributes[MCP_ATTRIBUTES.TOOL_NAME] === "search_employees");
 */
export const MCP_ATTRIBUTES = {
  // The seed's attributes.
  TOOL_NAME: "mcp.tool.name",
  REQUEST_ID: "mcp.request.id",
  CLIENT_ID: "mcp.client.id",
  /** "ok" | "error". */
  TOOL_STATUS: "mcp.tool.status",
  // OpenTelemetry MCP / GenAI / JSON-RPC / network conventions.
  METHOD_NAME: "mcp.method.name",
  SESSION_ID: "mcp.session.id",
  PROTOCOL_VERSION: "mcp.protocol.version",
  RESOURCE_URI: "mcp.resource.uri",
  GEN_AI_TOOL_NAME: "gen_ai.tool.name",
  GEN_AI_PROMPT_NAME: "gen_ai.prompt.name",
  GEN_AI_OPERATION_NAME: "gen_ai.operation.name",
  GEN_AI_TOOL_CALL_ARGUMENTS: "gen_ai.tool.call.arguments",
  GEN_AI_TOOL_CALL_RESULT: "gen_ai.tool.call.result",
  JSONRPC_REQUEST_ID: "jsonrpc.request.id",
  RPC_RESPONSE_STATUS_CODE: "rpc.response.status_code",
  NETWORK_TRANSPORT: "network.transport",
  NETWORK_PROTOCOL_NAME: "network.protocol.name",
  ERROR_TYPE: "error.type",
  /** The replica that served the call (the server's `replicaId`); also on the resource of the SDK Lantern sets up. */
  SERVICE_INSTANCE_ID: "service.instance.id",
  // Lantern's own: the finer status (`timeout`, `cancelled`, `refused`) `mcp.tool.status` folds into "error".
  LANTERN_CALL_STATUS: "lantern.call.status",
  /** The client's self-reported name and version (`clientInfo`: initialize, or the 2026-era request `_meta`). */
  LANTERN_CLIENT_NAME: "lantern.client.name",
  LANTERN_CLIENT_VERSION: "lantern.client.version",
  /** Multi-round-trip calls: the logical call's id (the same in every round) and this round's number. */
  LANTERN_CORRELATION_ID: "lantern.correlation.id",
  LANTERN_CALL_ROUND: "lantern.call.round",
  /** The keys of the questions a round asked the client (it ended with an input-required result). */
  LANTERN_INPUT_REQUIRED: "lantern.input_required",
  /** On a span link: `first_round` (a later round's link to the first round of its call). */
  LANTERN_LINK_KIND: "lantern.link.kind",
} as const;

/**
 * `gen_ai.operation.name` of a tool call.
 *
 * @example
 * const toolSpans = spans.filter((s) => s.attributes["gen_ai.operation.name"] === EXECUTE_TOOL);
 */
export const EXECUTE_TOOL = "execute_tool";

/**
 * `error.type` of a tool that ran and returned (or threw into) an `isError: true` result; defined
 * with the call outcomes in the core and re-exported here, with the other convention names.
 *
 * @example
 * const failedInTool = span.attributes["error.type"] === TOOL_ERROR;
 */
export { TOOL_ERROR } from "../../core/outcome.js";

/**
 * Metric instruments: the seed's per-tool pair and the convention's per-operation histogram.
 *
 * @example
 * const histogram = findMetric(collected, MCP_METRICS.SERVER_OPERATION_DURATION);
 */
export const MCP_METRICS = {
  /** Histogram (s) of tool calls, attribute `tool`. */
  TOOL_DURATION: "mcp.tool.duration",
  /** Counter of failed tool calls, attribute `tool`. */
  TOOL_ERRORS: "mcp.tool.errors",
  /** Histogram (s) of every served request, with the convention's attributes. */
  SERVER_OPERATION_DURATION: "mcp.server.operation.duration",
} as const;

/**
 * The explicit bucket boundaries (seconds) the MCP convention advises for its duration histograms.
 *
 * @example
 * new View({ instrumentName: "mcp.*", aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...MCP_DURATION_BUCKETS] } } });
 */
export const MCP_DURATION_BUCKETS: readonly number[] = Object.freeze([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]);

/**
 * The key under which the tracing middleware leaves the call's span context in `CallContext.bag`,
 * so parts running outside it in the chain (the structured log, when it is the outer one) can
 * still name the call's trace. `Symbol.for` so that two copies of the package agree.
 *
 * @example
 * const spanContext = ctx.bag.get(CALL_SPAN_CONTEXT) as SpanContext | undefined;
 */
export const CALL_SPAN_CONTEXT: unique symbol = Symbol.for("lantern:otel.call-span-context");
