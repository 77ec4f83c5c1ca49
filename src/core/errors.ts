import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";

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
  ParseError: ErrorCode.ParseError,
  InvalidRequest: ErrorCode.InvalidRequest,
  MethodNotFound: ErrorCode.MethodNotFound,
  InvalidParams: ErrorCode.InvalidParams,
  InternalError: ErrorCode.InternalError,
  Unauthorized: -32001,
  Forbidden: -32003,
  Timeout: -32004,
  /** A rate limit, quota or concurrency cap refused the call; `data.retryAfterMs` says when to retry. */
  RateLimited: -32005,
  Cancelled: -32800,
  ResourceNotFound: -32002,
} as const;

/** One field that failed validation, in class-validator's own shape. */
export interface ValidationIssue {
  property: string;
  constraints: Record<string, string>;
  value?: never;
}

/** Base of every JSON-RPC error Lantern raises; `status` is what observability records. */
export class LanternError extends McpError {
  constructor(
    code: number,
    message: string,
    data?: unknown,
    /** How the call ended, as metrics, logs, spans and the audit trail record it. */
    readonly status: CallStatus = "error",
  ) {
    super(code, message, data);
    // McpError prefixes "MCP error <code>: "; keep the message we wrote.
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

/** No tool, resource or prompt of that name. Tools and prompts answer -32602 as the MCP spec says. */
export class NotFoundError extends LanternError {
  constructor(kind: "tool" | "prompt" | "resource", name: string) {
    super(
      kind === "resource" ? LanternErrorCode.ResourceNotFound : LanternErrorCode.InvalidParams,
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

/** The client cancelled the call (notifications/cancelled) or the server is shutting down. */
export class CancelledError extends LanternError {
  constructor(reason = "Request cancelled") {
    super(LanternErrorCode.Cancelled, reason, undefined, "cancelled");
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
