import { inputRequired, inputResponse, isInputRequiredResult, type InputRequest, type ResultTypeMap } from "@modelcontextprotocol/server";
import type { CallContext, ClientRequestMethod } from "../call-context.js";
import type { RequestStateSeal } from "./request-state.js";

/**
 * Thrown inside a 2026-era call by a helper (`Elicitor`, `Sampler`, `Roots`) whose question has no
 * answer yet: the innermost step turns it into an input-required result, and the client retries the
 * call with the answer. Never catch it in a tool (let it pass).
 */
export class InputRequiredSignal extends Error {
  constructor() {
    super("The call needs input from the client; it continues when the client retries with the answers");
    this.name = "InputRequiredSignal";
  }
}

const kindOf: Record<ClientRequestMethod, "elicit" | "sampling" | "roots"> = {
  "elicitation/create": "elicit",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/**
 * The questions and answers of one round of a multi-round-trip call (MCP 2026-07-28).
 *
 * The tool runs again from the start in every round. Each question it asks gets a key (its own,
 * or `input-<n>` by the order of asking, which must therefore be the same in every round): a
 * question answered in this round or an earlier one resolves at once; the others are collected,
 * and the round ends with an input-required result that carries them, the answers so far and the
 * call's correlation and trace context, sealed in `requestState`.
 */
export class InputExchange {
  private counter = 0;
  private readonly pending: Record<string, InputRequest> = {};
  private pendingCount = 0;
  private readonly used: Record<string, unknown> = {};
  private refused: Error | undefined;

  constructor(
    private readonly ctx: CallContext,
    private readonly seal: RequestStateSeal,
    /** Answers carried from earlier rounds. */
    private readonly earlier: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * The answer to `method(params)` under `key`, or (no answer yet) records the question and
   * throws {@link InputRequiredSignal}. An answer of the wrong kind is treated as missing: the
   * question is asked again.
   */
  ask<M extends ClientRequestMethod>(method: M, params: Record<string, unknown>, key?: string): ResultTypeMap[M] {
    const id = key ?? `input-${this.counter++}`;
    const answer = this.answerFor(id, method);
    if (answer !== undefined) {
      this.used[id] = answer;
      return answer as ResultTypeMap[M];
    }
    if (!(id in this.pending)) this.pendingCount++;
    this.pending[id] = { method, params } as InputRequest;
    throw new InputRequiredSignal();
  }

  /** True when this round asked something the client has not answered yet. */
  get waiting(): boolean {
    return this.pendingCount > 0;
  }

  /**
   * Records that something the call needs cannot be asked at all (the client lacks the
   * capability): that answers the round, whatever else is pending. Returns the error.
   */
  refuse(error: Error): Error {
    this.refused ??= error;
    return error;
  }

  /** The refusal that ends this round instead of an input-required result, if any. */
  get refusal(): Error | undefined {
    return this.refused;
  }

  /** The input-required result that ends this round: the open questions and the sealed state. */
  inputRequiredResult(userState?: string): object {
    const keys = Object.keys(this.pending);
    this.ctx.outcome = { status: "ok", inputRequired: keys };
    return inputRequired({
      ...(keys.length ? { inputRequests: this.pending } : {}),
      requestState: this.sealRound(userState),
    });
  }

  /**
   * A tool returned `inputRequired({ inputRequests, requestState })` itself: its state travels
   * inside Lantern's sealed one (so it comes back verified as `ctx.requestState`).
   */
  wrapToolResult(result: { inputRequests?: Record<string, InputRequest>; requestState?: string }): object {
    const requests = { ...this.pending, ...(result.inputRequests ?? {}) };
    const keys = Object.keys(requests);
    this.ctx.outcome = { status: "ok", inputRequired: keys };
    return inputRequired({
      ...(keys.length ? { inputRequests: requests } : {}),
      requestState: this.sealRound(result.requestState),
    });
  }

  private sealRound(user: string | undefined): string {
    const ctx = this.ctx;
    const trace = ctx.continuation?.traceparent ? ctx.continuation : ctx.traceContext ?? ctx.traceCarrier;
    return this.seal.seal(
      {
        method: ctx.method,
        name: ctx.name,
        correlationId: ctx.correlationId,
        round: ctx.round,
        ...(trace?.traceparent ? { traceparent: trace.traceparent } : {}),
        ...(trace?.tracestate ? { tracestate: trace.tracestate } : {}),
        answers: { ...this.earlier, ...this.used },
        ...(user !== undefined ? { user } : {}),
      },
      ctx.identity,
    );
  }

  private answerFor(key: string, method: ClientRequestMethod): unknown {
    const fresh = this.ctx.inputResponses;
    if (fresh && key in fresh) {
      const view = inputResponse(fresh, key);
      if (view.kind === kindOf[method]) return fresh[key];
    }
    return key in this.earlier ? this.earlier[key] : undefined;
  }
}

/** Whether a handler's return value is an input-required result (`inputRequired(...)`). */
export const isInputRequired = (value: unknown): value is { inputRequests?: Record<string, InputRequest>; requestState?: string } =>
  typeof value === "object" && value !== null && isInputRequiredResult(value as never);
