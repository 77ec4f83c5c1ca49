import { ProtocolErrorCode, ProtocolError } from "@modelcontextprotocol/server";

/**
 * Where each failure goes, decided here and nowhere else:
 *
 * - JSON-RPC errors (the call never reached the tool, or was refused): unknown tool/resource/prompt,
 *   invalid params, unauthorized, forbidden, timeout, cancelled. They are thrown as {@link LanternError}
 *   subclasses and the SDK turns them into JSON-RPC error responses.
 * - Tool results with `isError: true` (the tool ran and failed): anything a tool throws. Only a
 *   {@link ToolError}'s message reaches the client; other exceptions are reported as
 *   "Internal error" and their details stay in server-side logs.
 */

/** Codes Lantern uses beyond the JSON-RPC standard ones (the -32000..-32099 server range). */
export const LanternErrorCode = {
  ParseError: ProtocolErrorCode.ParseError,
  InvalidRequest: ProtocolErrorCode.InvalidRequest,
  MethodNotFound: ProtocolErrorCode.MethodNotFound,
  InvalidParams: ProtocolErrorCode.InvalidParams,
  InternalError: ProtocolErrorCode.InternalError,
  Unauthorized: -32001,
  Forbidden: -32003,
  Timeout: -32004,
  /** A rate limit, quota or concurrency cap refused the call; `data.retryAfterMs` says when to retry. */
  RateLimited: -32005,
  Cancelled: -32800,
  /** 2026-07-28: the request needs a capability the client did not declare in its `_meta`. */
  MissingClientCapability: -32021,
} as const;

/** One field that failed validation, in class-validator's own shape. */
export interface ValidationIssue {
  property: string;
  constraints: Record<string, string>;
  value?: never;
}

/** Base of every JSON-RPC error Lantern raises; `status` is what observability records. */
export class LanternError extends ProtocolError {
  constructor(
    code: number,
    message: string,
    data?: unknown,
    /** How the call ended, as metrics, logs, spans and the audit trail record it. */
    readonly status: CallStatus = "error",
  ) {
    super(code, message, data);
    // ProtocolError prefixes "MCP error <code>: "; keep the message we wrote.
    this.message = message;
    this.name = new.target.name;
  }
}

/**
 * How a call ended. `refused` covers authentication and authorisation refusals; `rate_limited` a
 * rate limit, quota or concurrency cap.
 */
export type CallStatus = "ok" | "error" | "timeout" | "cancelled" | "refused" | "rate_limited";

/** The arguments of a call failed validation: JSON-RPC -32602, data lists `[{ property, constraints }]`. */
export class InvalidParamsError extends LanternError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[] = [],
  ) {
    super(LanternErrorCode.InvalidParams, message, issues.length ? issues : undefined);
  }
}

/**
 * No tool, resource or prompt of that name: JSON-RPC -32602 in both protocol eras (for a resource,
 * with `data: { uri }`; 2026-07-28 requires it, and the SDK answers it for 2025-era clients too,
 * who accept it in place of the older -32002).
 */
export class NotFoundError extends LanternError {
  constructor(kind: "tool" | "prompt" | "resource", name: string) {
    super(
      LanternErrorCode.InvalidParams,
      kind === "resource" ? `Resource not found: ${name}` : `Unknown ${kind}: ${name}`,
      kind === "resource" ? { uri: name } : undefined,
    );
  }
}

/** The caller is not authenticated (missing or invalid credentials). */
export class UnauthorizedError extends LanternError {
  constructor(message = "Unauthorized: a valid bearer token is required") {
    super(LanternErrorCode.Unauthorized, message, undefined, "refused");
  }
}

/** The caller is authenticated but lacks a scope or role the call needs. */
export class ForbiddenError extends LanternError {
  constructor(
    message: string,
    readonly missing: { scopes?: string[]; roles?: string[] } = {},
  ) {
    super(LanternErrorCode.Forbidden, message, missing, "refused");
  }
}

/** The call ran past its time limit and was aborted. */
export class TimeoutError extends LanternError {
  constructor(name: string, timeoutMs: number) {
    super(LanternErrorCode.Timeout, `"${name}" timed out after ${timeoutMs} ms`, { timeoutMs }, "timeout");
  }
}

/** What a client refused by a limit finds in the JSON-RPC error's `data`. */
export interface RateLimitedData {
  /** Which limit refused the call: `tool:search_employees`, `quota:role:free`, `concurrency`, `store`. */
  limit: string;
  /** Milliseconds until a retry can succeed. */
  retryAfterMs: number;
  /** The limit's allowance (points per window, or calls in flight). */
  points?: number;
  /** The limit's window in milliseconds (absent for concurrency caps). */
  windowMs?: number;
}

/** A rate limit, quota or concurrency cap refused the call: JSON-RPC -32005, `data` is {@link RateLimitedData}. */
export class RateLimitedError extends LanternError {
  constructor(
    message: string,
    readonly detail: RateLimitedData,
  ) {
    super(LanternErrorCode.RateLimited, message, detail, "rate_limited");
  }
}

/** The client cancelled the call (notifications/cancelled). */
export class CancelledError extends LanternError {
  constructor(reason = "Request cancelled") {
    super(LanternErrorCode.Cancelled, reason, undefined, "cancelled");
  }
}

/** `errorType` (logs, audit `error.type`, span `error.type`) of a call the server's shutdown ended. */
export const SERVER_SHUTDOWN = "server_shutdown";

/**
 * The server shut down while the call ran: recorded as `cancelled` with the error type
 * `server_shutdown` (never as a cancellation by the client).
 */
export class ServerShutdownError extends CancelledError {
  constructor() {
    super("The server is shutting down");
  }
}

/**
 * A 2026-era request needs something of the client (sampling, elicitation, roots) that its
 * `_meta` capabilities do not declare: JSON-RPC -32021 (HTTP 400), as MCP 2026-07-28 requires.
 */
export class MissingClientCapabilityError extends LanternError {
  constructor(
    /** The capability the client lacks (`sampling`, `elicitation`, `roots`). */
    readonly capability: string,
    what: string,
  ) {
    super(
      LanternErrorCode.MissingClientCapability,
      `Missing required client capability: ${what} needs the "${capability}" capability, which the request's _meta does not declare`,
      { requiredCapabilities: { [capability]: {} } },
      "refused",
    );
  }
}

/**
 * A handler returned a value the protocol's result cannot carry (a `Map`, a `BigInt`, a cycle, a
 * content block of the wrong shape, ...). Resources and prompts answer it as JSON-RPC -32603; a
 * tool answers it as an `isError` result with this message. Either way the call is recorded as an
 * error, never `ok`. The message names the member, the path and what to return instead.
 *
 * @example
 * server.use(async (ctx, next) => {
 *   const result = await next();
 *   if (ctx.outcome?.error instanceof UnsendableResultError) alertOwners(ctx.name, ctx.outcome.error.message);
 *   return result;
 * });
 */
export class UnsendableResultError extends LanternError {
  constructor(message: string) {
    super(LanternErrorCode.InternalError, message);
  }
}

/**
 * Throw from a tool to fail with a message meant for the client: the call ends as a result with
 * `isError: true` and exactly this text.
 *
 * @example
 * if (!employee) throw new ToolError(`No employee with id ${input.id}`);
 */
export class ToolError extends Error {
  constructor(
    message: string,
    /** Extra structured detail sent to the client as `structuredContent.error`. */
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/** A mistake in a server definition, found when the server is built. */
export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DefinitionError";
  }
}

/** Codes of {@link ServerStateError}. */
export type ServerStateCode = "LANTERN_ERR_ALREADY_STARTED" | "LANTERN_ERR_CLOSING";

/**
 * A server method was called when the server can no longer honour it: a mutator (`use`, `register`,
 * `provide`, `route`, `setAuthenticator`) after the server started, `onShutdown` once it is closing.
 */
export class ServerStateError extends Error {
  constructor(
    readonly code: ServerStateCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "ServerStateError";
  }
}

/** How a handler's failure reaches the client; decided by {@link wireFailureOf}. */
export type WireFailure =
  /** A JSON-RPC error response. `internal`: the details stay in the server log. */
  | { as: "error"; error: LanternError; internal: boolean }
  /** Tools only: an `isError: true` result with this message (the tool ran and failed). */
  | { as: "result"; internal: boolean };

const MCP_ERROR_PREFIX = /^MCP error -?\d+: /;

/**
 * The one mapping from what a tool, resource or prompt handler threw to what the client gets:
 *
 * | thrown | tool | resource | prompt |
 * |---|---|---|---|
 * | `LanternError` (refusal, invalid params, ...) | that JSON-RPC error | same | same |
 * | another `ProtocolError` | `isError` result, "Internal error" | its code and message (once) | same |
 * | `UnsendableResultError` | `isError` result, its message (logged) | that -32603 (logged) | same |
 * | `ToolError` | `isError` result, its message | -32602 with `data.uri` (not found), its message | -32602, its message |
 * | anything else | `isError` result, "Internal error" | -32603, "Internal error" | -32603, "Internal error" |
 *
 * @example
 * const failure = wireFailureOf("resource", "hr://employees/99", new ToolError("No employee with id 99"));
 * // { as: "error", error: LanternError(-32602, "No employee with id 99", { uri }), internal: false }
 */
export function wireFailureOf(kind: "resource" | "prompt", name: string, error: unknown): Extract<WireFailure, { as: "error" }>;
export function wireFailureOf(kind: "tool" | "resource" | "prompt", name: string, error: unknown): WireFailure;
export function wireFailureOf(kind: "tool" | "resource" | "prompt", name: string, error: unknown): WireFailure {
  // The handler ran and its answer cannot be sent: a fault of the handler, which the server log hears of too.
  if (error instanceof UnsendableResultError) return kind === "tool" ? { as: "result", internal: true } : { as: "error", error, internal: true };
  if (error instanceof LanternError) return { as: "error", error, internal: false };
  // A tool ran: whatever else it threw (a ProtocolError of a nested request included) is its failure.
  if (kind === "tool") return { as: "result", internal: !(error instanceof ToolError) };
  if (error instanceof ProtocolError) {
    // An error relayed from another MCP peer may carry its "MCP error <code>: " prefix: keep one.
    return { as: "error", error: new LanternError(error.code, error.message.replace(MCP_ERROR_PREFIX, ""), error.data), internal: false };
  }
  if (error instanceof ToolError) {
    return {
      as: "error",
      error: kind === "resource"
        ? new LanternError(LanternErrorCode.InvalidParams, error.message, { uri: name, ...(error.detail ? { detail: error.detail } : {}) })
        : new LanternError(LanternErrorCode.InvalidParams, error.message, error.detail),
      internal: false,
    };
  }
  return { as: "error", error: new LanternError(LanternErrorCode.InternalError, `Internal error while handling ${kind} "${name}"; details are in the server log`), internal: true };
}

/** The message a client may see for an error a tool threw. */
export function clientMessageOf(error: unknown): string {
  if (error instanceof ToolError) return error.message;
  if (error instanceof LanternError) return error.message;
  return "Internal error: the tool failed; details are in the server log";
}

/** `"<ErrorName>: <message>"`, the form logs and audit entries use (server-side only). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `Error: ${String(error)}`;
}
