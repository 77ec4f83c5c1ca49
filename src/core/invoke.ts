import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallContext, CallerIdentity } from "./call-context.js";
import type { AuthorizationRequirement, InputClass } from "./definitions.js";
import { CancelledError, ForbiddenError, LanternError, ServerShutdownError, type UnsendableResultError, wireFailureOf } from "./errors.js";
import { OK_OUTCOME, outcomeOfError, TOOL_ERROR, toolErrorOutcome } from "./outcome.js";
import { toolErrorResult, toPromptResult, toResourceResult, toToolResult } from "./results.js";
import type { Terminal } from "./middleware.js";
import type { InputValidator } from "./validation.js";
import { validateAgainst } from "./validation.js";
import { InputRequiredSignal, isInputRequired } from "./protocol/input-exchange.js";

/** Reports an exception whose details must stay server-side. */
export type InternalErrorSink = (ctx: CallContext, error: unknown) => void;

/** What every terminal shares: where internal errors go, and whether the server is shutting down. */
export interface TerminalEnvironment {
  internalError: InternalErrorSink;
  /** True once `close()` began: an abort then is the server's shutdown, not the client's cancel. */
  shuttingDown(): boolean;
}

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

/** Settles with the tool's promise, or rejects as soon as the call ends early (cancel, time limit, shutdown). */
function untilAborted<T>(promise: Promise<T>, ctx: CallContext, env: TerminalEnvironment): Promise<T> {
  const ending = ctx.ending;
  if (ending.aborted) return Promise.reject(abortError(ending.reason, ctx, env));
  return new Promise<T>((resolve, reject) => {
    ending.watch((reason) => reject(abortError(reason, ctx, env)));
    promise.then(resolve, reject);
  });
}

const abortError = (reason: unknown, ctx: CallContext, env: TerminalEnvironment): LanternError => {
  if (env.shuttingDown() && !(reason instanceof ServerShutdownError)) return new ServerShutdownError();
  return reason instanceof LanternError ? reason : new CancelledError(`"${ctx.name}" was cancelled by the client`);
};

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
 * The innermost step of a tool's chain: authorise, validate, run, shape the result. How a failure
 * reaches the client is {@link wireFailureOf}'s decision: a JSON-RPC error, or an `isError` result
 * with a safe message, the details going to `internalError`. A return value the protocol cannot
 * carry ({@link UnsendableResultError}) also becomes an `isError` result: `ctx.outcome` is always
 * what the client gets.
 */
export function toolTerminal(tool: ToolRuntime, env: TerminalEnvironment): Terminal {
  return async (ctx) => {
    try {
      if (ctx.refusal) throw ctx.refusal;
      authorize(tool.authorization, ctx);
      if (tool.validate) ctx.input = tool.validate(ctx.args as Record<string, unknown>);
      let value = tool.run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx, env);
      if (isInputRequired(value)) return ctx.inputs.wrapToolResult(value);
      const result = toToolResult(value, ctx.name);
      if (tool.outputClass && !result.isError) checkOutput(tool.outputClass, result, ctx);
      ctx.outcome = result.isError ? toolErrorOutcome(result) : OK_OUTCOME;
      return result;
    } catch (thrown) {
      const error = roundEnd(ctx, thrown);
      if (error === ROUND_ASKED) return ctx.inputs.inputRequiredResult();
      const failure = wireFailureOf("tool", ctx.name, error);
      if (failure.internal) env.internalError(ctx, error);
      if (failure.as === "error") {
        ctx.outcome = outcomeOfError(failure.error);
        throw failure.error;
      }
      ctx.outcome = { status: "error", error, errorType: TOOL_ERROR };
      return toolErrorResult(error, (problem) => env.internalError(ctx, problem), ctx.name);
    }
  };
}

function checkOutput(outputClass: InputClass, result: CallToolResult, ctx: CallContext): void {
  const issues = validateAgainst(outputClass, result.structuredContent);
  if (issues.length === 0) return;
  const detail = issues.map((i) => `${i.property}: ${Object.values(i.constraints).join(", ")}`).join("; ");
  throw new Error(`Tool "${ctx.name}" returned output that does not match its output class ${outputClass.name}: ${detail}`);
}

const ROUND_ASKED = Symbol("the round asked the client for input");

/**
 * A multi-round-trip round that asked the client something ends with an input-required result
 * ({@link ROUND_ASKED}), unless a question could not be asked at all (the client lacks the
 * capability): that refusal is the answer. Anything else is the error as thrown.
 */
function roundEnd(ctx: CallContext, error: unknown): unknown {
  if (!(error instanceof InputRequiredSignal) || !ctx.hasInputExchange) return error;
  const refusal = ctx.inputs.refusal;
  if (refusal) return refusal;
  return ctx.inputs.waiting ? ROUND_ASKED : error;
}

/** Turns an exception of a resource or prompt handler into its JSON-RPC error ({@link wireFailureOf}), or ends its round. */
function rethrowForWire(ctx: CallContext, thrown: unknown, env: TerminalEnvironment): object {
  const error = roundEnd(ctx, thrown);
  if (error === ROUND_ASKED) return ctx.inputs.inputRequiredResult();
  const failure = wireFailureOf(ctx.kind === "prompt" ? "prompt" : "resource", ctx.name, error);
  if (failure.internal) env.internalError(ctx, error);
  ctx.outcome = outcomeOfError(failure.error);
  throw failure.error;
}

/** The innermost step of a resource read. */
export function resourceTerminal(
  run: (ctx: CallContext) => unknown,
  authorization: AuthorizationRequirement,
  mimeType: string | undefined,
  env: TerminalEnvironment,
): Terminal {
  return async (ctx) => {
    try {
      if (ctx.refusal) throw ctx.refusal;
      authorize(authorization, ctx);
      let value = run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx, env);
      if (isInputRequired(value)) return ctx.inputs.wrapToolResult(value);
      const result = toResourceResult(value, ctx.name, mimeType);
      ctx.outcome = OK_OUTCOME;
      return result;
    } catch (error) {
      return rethrowForWire(ctx, error, env);
    }
  };
}

/** The innermost step of a prompt get. */
export function promptTerminal(
  run: (ctx: CallContext) => unknown,
  authorization: AuthorizationRequirement,
  validate: InputValidator | undefined,
  description: string | undefined,
  env: TerminalEnvironment,
): Terminal {
  return async (ctx) => {
    try {
      if (ctx.refusal) throw ctx.refusal;
      authorize(authorization, ctx);
      if (validate) ctx.input = validate(ctx.args as Record<string, unknown>);
      let value = run(ctx);
      if (isPromise(value)) value = await untilAborted(value, ctx, env);
      if (isInputRequired(value)) return ctx.inputs.wrapToolResult(value);
      const result = toPromptResult(value, description, ctx.name);
      ctx.outcome = OK_OUTCOME;
      return result;
    } catch (error) {
      return rethrowForWire(ctx, error, env);
    }
  };
}
