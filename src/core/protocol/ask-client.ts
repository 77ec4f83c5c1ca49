import type { ResultTypeMap } from "@modelcontextprotocol/server";
import type { CallContext, ClientRequestMethod } from "../call-context.js";
import { MissingClientCapabilityError } from "../errors.js";
import { checkOptions, defineOptions, option } from "../options.js";
import { ClientCapabilityError } from "./client-capability-error.js";

/** The options of one question (`Elicitor.form`, `Sampler.createMessage`, `Roots.list`). */
export interface QuestionOptions {
  /** Names the question in a 2026-era round (default: `input-<n>` by order of asking). */
  key?: string;
}

const QUESTION_OPTIONS = defineOptions<QuestionOptions>("question options", { key: option.string({ nonEmpty: true }) });

/** Checks the options of one question (an unknown key or a key that is not a string is refused, naming `owner`). */
export const questionOptions = (given: QuestionOptions | undefined, owner: string): QuestionOptions => checkOptions(QUESTION_OPTIONS, given, owner);

/**
 * Asks the calling client for something, the same way for both protocol eras: on a 2025 session
 * a server→client request tied to the call; on a 2026-07-28 request an input request of this
 * round (the call ends with an input-required result and runs again with the answer).
 */
export function askClient<M extends ClientRequestMethod>(
  ctx: CallContext,
  method: M,
  params: Record<string, unknown>,
  need: { supported: boolean; capability: string; what: string; key?: string },
): Promise<ResultTypeMap[M]> {
  if (!need.supported) {
    if (ctx.era === "legacy") return Promise.reject(new ClientCapabilityError(need.capability, need.what));
    // Other questions of the same round may be pending: the refusal, not an input-required result, ends it.
    return Promise.reject(ctx.inputs.refuse(new MissingClientCapabilityError(need.capability, need.what)));
  }
  if (ctx.era === "modern") {
    try {
      return Promise.resolve(ctx.inputs.ask(method, params, need.key));
    } catch (signal) {
      return Promise.reject(signal);
    }
  }
  return ctx.channel.request(method, params, ctx.signal);
}
