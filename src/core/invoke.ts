import { ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { CallContext, CallerIdentity } from "./call-context.js";
import type { AuthorizationRequirement, InputClass } from "./definitions.js";
import { CancelledError, ForbiddenError, LanternError, ToolError, UnsendableResultError } from "./errors.js";
import { OK_OUTCOME, outcomeOfError, TOOL_ERROR, toolErrorOutcome } from "./outcome.js";
import { toolErrorResult, toPromptResult, toResourceResult, toToolResult } from "./results.js";
import type { Terminal } from "./middleware.js";
import type { InputValidator } from "./validation.js";
import { validateAgainst } from "./validation.js";

/** Reports an exception whose details must stay server-side. */
export type InternalErrorSink = (ctx: CallContext, error: unknown) => void;

/** The scopes and roles of `requirement` that `identity` does not hold (both empty: it may call). */
export function missingGrants(requirement: AuthorizationRequirement, identity: CallerIdentity | undefined): { scopes: string[]; roles: string[] } {
  return {
    scopes: requirement.scopes.filter((scope) => !identity?.scopes.includes(scope)),
    roles: requirement.roles.filter((role) => !identity?.roles.includes(role)),
  };
}

/** Refuses the call unless the caller holds every required scope and role. */
export function authorize(requirement: AuthorizationRequirement, ctx: CallContext): void {
  if (requirement.scopes.length === 0 && requirement.roles.length === 0) return;
  const identity = ctx.identity;
  const { scopes: missingScopes, roles: missingRoles } = missingGrants(requirement, identity);
  if (missingScopes.length === 0 && missingRoles.length === 0) return;
  const what = `${ctx.kind} "${ctx.name}"`;
  const parts = [
    missingScopes.length ? `scope${missingScopes.length > 1 ? "s" : ""} ${missingScopes.map((s) => `"${s}"`).join(", ")}` : "",
    missingRoles.length ? `role${missingRoles.length > 1 ? "s" : ""} ${missingRoles.map((r) => `"${r}"`).join(", ")}` : "",
  ].filter(Boolean);
  const who = identity ? "the caller lacks" : "the call is not authenticated and so lacks";
  throw new ForbiddenError(`Forbidden: ${what} requires ${parts.join(" and ")}; ${who} ${parts.length > 1 ? "them" : "it"}`, {
    ...(missingScopes.length ? { scopes: missingScopes } : {}),
    ...(missingRoles.length ? { roles: missingRoles } : {}),
  });
}

/** Settles with the tool's promise, or rejects as soon as the call's signal aborts. */
function untilAborted<T>(promise: Promise<T>, ctx: CallContext): Promise<T> {
  const signal = ctx.signal;
  if (signal.aborted) return Promise.reject(abortError(signal, ctx));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, ctx));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener("abort", onAbort); resolve(value); },
      (error: unknown) => { signal.removeEventListener("abort", onAbort); reject(error); },
    );
  });
}

const abortError = (signal: AbortSignal, ctx: CallContext): LanternError =>
  signal.reason instanceof LanternError ? signal.reason : new CancelledError(`"${ctx.name}" was cancelled by the client`);

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";

/** What a tool needs to run: built once per tool when the server is built. */
export interface ToolRuntime {
  authorization: AuthorizationRequirement;
  validate: InputValidator | undefined;
  outputClass: InputClass | undefined;
  run: (ctx: CallContext) => unknown;
}

/**
 * The innermost step of a tool's chain: authorise, validate, run, shape the result. A thrown
 * {@link LanternError} stays a JSON-RPC error; anything else the tool throws becomes an `isError`
 * result with a safe message, its details going to `internalError`. A return value the protocol
 * cannot carry ({@link UnsendableResultError}) also becomes an `isError` result: `ctx.outcome` is
 * always what the client gets.
 */
export function toolTerminal(tool: ToolRuntime, internalError: InternalErrorSink): Terminal {
  return async (ctx) => {
    try {
      authorize(tool.authorization, ctx);
      if (tool.validate) ctx.input = tool.validate(ctx.args as Record<string, unknown>);
      let value = tool.run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx);
      const result = toToolResult(value, ctx.name);
      if (tool.outputClass && !result.isError) checkOutput(tool.outputClass, result, ctx);
      ctx.outcome = result.isError ? toolErrorOutcome(result) : OK_OUTCOME;
      return result;
    } catch (error) {
      if (error instanceof UnsendableResultError) {
        // The tool ran and its answer cannot be sent: a failed call, told to the client as one.
        ctx.outcome = { status: "error", error, errorType: TOOL_ERROR };
        internalError(ctx, error);
        return toolErrorResult(error);
      }
      if (error instanceof LanternError) {
        ctx.outcome = outcomeOfError(error);
        throw error;
      }
      ctx.outcome = { status: "error", error, errorType: TOOL_ERROR };
      // A ToolError is an answer meant for the client, not a fault: only other exceptions are reported.
      if (!(error instanceof ToolError)) internalError(ctx, error);
      return toolErrorResult(error, (problem) => internalError(ctx, problem), ctx.name);
    }
  };
}

function checkOutput(outputClass: InputClass, result: CallToolResult, ctx: CallContext): void {
  const issues = validateAgainst(outputClass, result.structuredContent);
  if (issues.length === 0) return;
  const detail = issues.map((i) => `${i.property}: ${Object.values(i.constraints).join(", ")}`).join("; ");
  throw new Error(`Tool "${ctx.name}" returned output that does not match its output class ${outputClass.name}: ${detail}`);
}

/** Turns an exception of a resource or prompt handler into a JSON-RPC error without internals. */
function rethrowSafely(ctx: CallContext, error: unknown, internalError: InternalErrorSink): never {
  // A result that cannot be sent is a fault of the handler: the server log hears of it too.
  if (error instanceof UnsendableResultError) internalError(ctx, error);
  if (error instanceof LanternError || error instanceof McpError) {
    ctx.outcome = outcomeOfError(error);
    throw error;
  }
  ctx.outcome = { status: "error", error, errorType: String(ErrorCode.InternalError) };
  if (error instanceof ToolError) throw new McpError(ErrorCode.InternalError, error.message);
  internalError(ctx, error);
  throw new McpError(ErrorCode.InternalError, `Internal error while handling ${ctx.kind} "${ctx.name}"; details are in the server log`);
}

/** The innermost step of a resource read. */
export function resourceTerminal(
  run: (ctx: CallContext) => unknown,
  authorization: AuthorizationRequirement,
  mimeType: string | undefined,
  internalError: InternalErrorSink,
): Terminal {
  return async (ctx) => {
    try {
      authorize(authorization, ctx);
      let value = run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx);
      const result = toResourceResult(value, ctx.name, mimeType);
      ctx.outcome = OK_OUTCOME;
      return result;
    } catch (error) {
      rethrowSafely(ctx, error, internalError);
    }
  };
}

/** The innermost step of a prompt get. */
export function promptTerminal(
  run: (ctx: CallContext) => unknown,
  authorization: AuthorizationRequirement,
  validate: InputValidator | undefined,
  description: string | undefined,
  internalError: InternalErrorSink,
): Terminal {
  return async (ctx) => {
    try {
      authorize(authorization, ctx);
      if (validate) ctx.input = validate(ctx.args as Record<string, unknown>);
      let value = run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx);
      const result = toPromptResult(value, description, ctx.name);
      ctx.outcome = OK_OUTCOME;
      return result;
    } catch (error) {
      rethrowSafely(ctx, error, internalError);
    }
  };
}

