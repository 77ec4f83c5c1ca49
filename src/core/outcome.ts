import { ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import type { CallContext, CallOutcome } from "./call-context.js";
import { LanternError, SERVER_SHUTDOWN, ServerShutdownError } from "./errors.js";

/** The outcome of an error: a refusal keeps its status and JSON-RPC code; anything else is an error. */
export function outcomeOfError(error: unknown): CallOutcome {
  if (error instanceof ServerShutdownError) return { status: error.status, error, errorType: SERVER_SHUTDOWN };
  if (error instanceof LanternError) return { status: error.status, error, errorType: String(error.code) };
  if (error instanceof ProtocolError) return { status: "error", error, errorType: String(error.code) };
  return { status: "error", error, errorType: error instanceof Error ? error.name : "Error" };
}

/**
 * How the call ended, as observability parts record it. Call after `next()` settled: with the
 * error it threw, if it threw (a middleware deeper in the chain may fail after the tool succeeded).
 *
 * @example
 * try { const result = await next(); record(callOutcome(ctx)); return result; }
 * catch (error) { record(callOutcome(ctx, error, true)); throw error; }
 */
export function callOutcome(ctx: CallContext, error?: unknown, threw: boolean = error !== undefined): CallOutcome {
  // `threw` tells a thrown `undefined` (a failure) from "did not throw".
  if (threw) return outcomeOfError(error ?? new Error("undefined was thrown"));
  return ctx.outcome ?? OK;
}

/** `errorType` of a call whose tool threw or returned `isError: true` (the MCP conventions' `error.type`). */
export const TOOL_ERROR = "tool_error";

const OK: CallOutcome = Object.freeze({ status: "ok" });

/** The outcome recorded when a tool returned `isError: true` itself. */
export const toolErrorOutcome = (result: CallToolResult): CallOutcome => ({
  status: "error",
  errorType: TOOL_ERROR,
  error: new Error(result.content.find((c) => c.type === "text")?.text ?? "the tool reported an error"),
});

export { OK as OK_OUTCOME };
