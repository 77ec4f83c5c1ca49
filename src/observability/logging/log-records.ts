import type { LoggingLevel } from "@modelcontextprotocol/server";
import type { SpanContext } from "@opentelemetry/api";
import type { CallContext, CallKind } from "../../core/call-context.js";
import { sortedKeys } from "../canonical-json.js";
import { jsonText, type JsonTextLimits } from "../json-text.js";
import type { Redaction, RedactionBounds } from "../redaction.js";

/**
 * The two line shapes: Lantern's (the seed's field names) and Elastic Common Schema.
 *
 * @example
 * server.use(new StructuredLoggingMiddleware({ format: "ecs" satisfies LogFormat }));
 */
export type LogFormat = "json" | "ecs";

/** The ECS version the `ecs` lines follow. */
export const ECS_VERSION = "8.11.0";

const MAX_DEPTH = 8;
const MAX_ITEMS = 100;
const MAX_STRING = 4096;
/** Data of an ECS `message` that is not a string: its JSON, bounded like the strings of a line. */
const MESSAGE_JSON: JsonTextLimits = { maxChars: MAX_STRING, noJson: String, unserialisable: "[unserialisable]" };

/** `event` of a call's line, per kind; the name field says what was called. */
const EVENT_OF: Record<CallKind, { event: string; field: string }> = {
  tool: { event: "tool_call", field: "tool" },
  resource: { event: "resource_read", field: "resource" },
  prompt: { event: "prompt_get", field: "prompt" },
};

/** How a finished call is described on its line. */
export interface CallLine {
  level: string;
  status: string;
  durationMs: number;
  /** Set on failure, with `errorMessage`: the JSON line's `error` is `"<ErrorName>: <message>"`. */
  errorName: string | undefined;
  errorMessage: string | undefined;
  args: unknown;
  spanContext: SpanContext | undefined;
}

/**
 * Who writes the lines: the server's name and this replica's id, fixed when the server is built.
 * JSON lines carry them as `service` and `replica`; ECS lines as `service.name` and `service.node.name`.
 */
export interface LogOrigin {
  service: string | undefined;
  replica: string | undefined;
  /** The ECS `service` object, made once and shared by every line. */
  ecsService: { name: string; node: { name: string } } | undefined;
}

/** The origin of lines written before a server set the middleware up (none are, in practice). */
export const UNKNOWN_ORIGIN: LogOrigin = { service: undefined, replica: undefined, ecsService: undefined };

/** The origin of the lines of server `service` running as replica `replica`. */
export function logOrigin(service: string, replica: string): LogOrigin {
  return { service, replica, ecsService: Object.freeze({ name: service, node: Object.freeze({ name: replica }) }) };
}

/**
 * The top-level keys the lines of this module (and the sink's own notices) have, sorted once: a
 * line is written with its keys in sorted order, as winston's JSON format writes them.
 */
export const LINE_KEYS = sortedKeys([
  // JSON call and client-log lines
  "level", "event", "tool", "resource", "prompt", "request_id", "duration_ms", "status", "timestamp", "service", "replica", "client_id",
  "error", "session_id", "protocol_version", "client_name", "client_version", "correlation_id", "round", "input_required", "trace_id",
  "span_id", "args", "mcp_level", "data", "logger",
  // ECS lines
  "@timestamp", "log.level", "ecs.version", "message", "mcp", "trace", "span", "log.logger",
  // the sink's notices: refused requests, dropped lines
  "reason", "transport", "detail", "suppressed", "count",
]);

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * A call's line with the seed's fields (`event`, `tool`, `request_id`, `duration_ms`, `status`,
 * `timestamp`, `error` on failure) plus who wrote it (`service`, `replica`), `client_id`,
 * `session_id` and the trace ids (see {@link jsonLine}).
 */
export function jsonCallRecord(ctx: CallContext, line: CallLine, origin: LogOrigin): Record<string, unknown> {
  return jsonLine(ctx, origin, line.spanContext, {
    event: EVENT_OF[ctx.kind].event,
    level: line.level,
    args: line.args,
    durationMs: line.durationMs,
    error: line.errorName === undefined ? undefined : `${line.errorName}: ${line.errorMessage}`,
    status: line.status,
  });
}

/** What a JSON line says beyond the call it belongs to. */
interface JsonLineFields {
  event: string;
  level: string;
  args?: unknown;
  data?: unknown;
  durationMs?: number;
  error?: string;
  logger?: string;
  mcpLevel?: LoggingLevel;
  status?: string;
}

/**
 * A JSON line of a call: `fields`, the call's name (`tool`, `resource` or `prompt`), `request_id`,
 * `timestamp`, `service`, `replica`, `client_id`, and when there are any `session_id` (2025-era
 * sessions only), `protocol_version`, the client's self-reported name and version, the logical call
 * (`correlation_id`, `round`, `input_required`) of a multi-round-trip call, `trace_id` and `span_id`.
 *
 * Keys are set in sorted order, the order of the line on disk: the sink then writes it with
 * JSON.stringify alone (see `canonicalJson`), without sorting or copying.
 */
function jsonLine(ctx: CallContext, origin: LogOrigin, spanContext: SpanContext | undefined, fields: JsonLineFields): Record<string, unknown> {
  const { field } = EVENT_OF[ctx.kind];
  const client = ctx.clientInfo;
  const inputRequired = ctx.outcome?.inputRequired;
  const multiRound = ctx.round > 1 || inputRequired !== undefined;
  const protocolVersion = ctx.protocolVersion;
  const sessionId = ctx.sessionId;
  const record: Record<string, unknown> = {};
  if (fields.args !== undefined) record.args = fields.args;
  record.client_id = ctx.clientId;
  if (client) {
    record.client_name = client.name;
    record.client_version = client.version;
  }
  if (multiRound) record.correlation_id = ctx.correlationId;
  if (fields.data !== undefined) record.data = fields.data;
  if (fields.durationMs !== undefined) record.duration_ms = round3(fields.durationMs);
  if (fields.error !== undefined) record.error = fields.error;
  record.event = fields.event;
  if (inputRequired) record.input_required = inputRequired;
  record.level = fields.level;
  if (fields.logger) record.logger = fields.logger;
  if (fields.mcpLevel !== undefined) record.mcp_level = fields.mcpLevel;
  if (field === "prompt") record.prompt = ctx.name;
  if (protocolVersion) record.protocol_version = protocolVersion;
  record.replica = origin.replica;
  record.request_id = ctx.requestId;
  if (field === "resource") record.resource = ctx.name;
  if (multiRound) record.round = ctx.round;
  record.service = origin.service;
  if (sessionId) record.session_id = sessionId;
  if (spanContext) record.span_id = spanContext.spanId;
  if (fields.status !== undefined) record.status = fields.status;
  record.timestamp = new Date().toISOString();
  if (field === "tool") record.tool = ctx.name;
  if (spanContext) record.trace_id = spanContext.traceId;
  return record;
}

/** The same line in Elastic Common Schema: `@timestamp`, `log.level`, `event.duration` (ns), `trace.id`, ... */
export function ecsCallRecord(ctx: CallContext, line: CallLine, origin: LogOrigin): Record<string, unknown> {
  const { event } = EVENT_OF[ctx.kind];
  const record: Record<string, unknown> = {
    level: line.level,
    "@timestamp": new Date().toISOString(),
    "log.level": line.level,
    "ecs.version": ECS_VERSION,
    message: `${event} ${ctx.name} ${line.status}`,
    event: {
      kind: "event",
      action: event,
      duration: Math.round(line.durationMs * 1e6),
      outcome: line.status === "ok" ? "success" : "failure",
    },
    service: origin.ecsService,
    mcp: mcpFields(ctx, line.status, line.args),
  };
  if (line.errorName !== undefined) record.error = { type: line.errorName, message: line.errorMessage };
  addEcsTrace(record, line.spanContext);
  return record;
}

/** A `ServerLogger` message as the server's structured log records it. */
export interface ClientLogLine {
  level: string;
  mcpLevel: LoggingLevel;
  logger: string | undefined;
  data: unknown;
  spanContext: SpanContext | undefined;
}

export function jsonClientLogRecord(ctx: CallContext, line: ClientLogLine, origin: LogOrigin): Record<string, unknown> {
  return jsonLine(ctx, origin, line.spanContext, { event: "client_log", level: line.level, data: line.data, logger: line.logger, mcpLevel: line.mcpLevel });
}

export function ecsClientLogRecord(ctx: CallContext, line: ClientLogLine, origin: LogOrigin): Record<string, unknown> {
  const mcp = mcpFields(ctx, undefined, undefined);
  mcp.log_level = line.mcpLevel;
  const record: Record<string, unknown> = {
    level: line.level,
    "@timestamp": new Date().toISOString(),
    "log.level": line.level,
    "ecs.version": ECS_VERSION,
    message: typeof line.data === "string" ? line.data : jsonText(line.data, MESSAGE_JSON),
    event: { kind: "event", action: "client_log" },
    service: origin.ecsService,
    mcp,
  };
  if (line.logger) record["log.logger"] = line.logger;
  addEcsTrace(record, line.spanContext);
  return record;
}

function mcpFields(ctx: CallContext, status: string | undefined, args: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    method: ctx.method,
    [EVENT_OF[ctx.kind].field]: ctx.name,
    request_id: ctx.requestId,
    client_id: ctx.clientId,
  };
  if (ctx.sessionId) fields.session_id = ctx.sessionId;
  if (ctx.protocolVersion) fields.protocol_version = ctx.protocolVersion;
  const client = ctx.clientInfo;
  if (client) fields.client = { name: client.name, version: client.version };
  const inputRequired = ctx.outcome?.inputRequired;
  if (ctx.round > 1 || inputRequired) {
    fields.correlation_id = ctx.correlationId;
    fields.round = ctx.round;
    if (inputRequired) fields.input_required = inputRequired;
  }
  if (status !== undefined) fields.status = status;
  if (args !== undefined) fields.args = args;
  return fields;
}

function addEcsTrace(record: Record<string, unknown>, spanContext: SpanContext | undefined): void {
  if (!spanContext) return;
  record.trace = { id: spanContext.traceId };
  record.span = { id: spanContext.spanId };
}

/** How far a log line's copy of arguments and data goes: depth, list lengths and strings bounded. */
const LOG_BOUNDS: RedactionBounds = { maxDepth: MAX_DEPTH, tooDeep: "[too deep]", maxItems: MAX_ITEMS, maxString: MAX_STRING };

/**
 * A copy of `value` fit for a log line: the values of `redact`ed keys (at any depth, names compared
 * without case) replaced, depth, list lengths and strings bounded, cycles cut.
 */
export function redactValue(value: unknown, redaction: Redaction): unknown {
  return redaction.copy(value, LOG_BOUNDS);
}
