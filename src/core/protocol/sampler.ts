import type { CreateMessageRequestParams, CreateMessageResult } from "@modelcontextprotocol/server";
import { CallContext } from "../call-context.js";
import { askClient, questionOptions, type QuestionOptions } from "./ask-client.js";

/** Options of {@link Sampler.ask}: everything of `sampling/createMessage` but the messages, plus the question's `key`. */
export type SamplingOptions = Partial<Omit<CreateMessageRequestParams, "messages">> & { key?: string };

const DEFAULT_MAX_TOKENS = 1000;

/**
 * Asks the calling client's LLM for a completion (`sampling/createMessage`). Inject it into a tool.
 * Both protocol eras, as {@link Elicitor} explains: a request on a 2025 session, an input request
 * of the round (and a re-run of the tool with the answer) on a 2026-07-28 request.
 *
 * @example
 * @Tool({ description: "Summarise a text" })
 * async summarise(input: SummariseInput, @Inject(Sampler) sampler: Sampler) {
 *   return sampler.ask(`Summarise: ${input.text}`, { maxTokens: 200 });
 * }
 */
export class Sampler {
  constructor(private readonly ctx: CallContext | undefined = CallContext.current()) {}

  /** True when the client declared the `sampling` capability. */
  get supported(): boolean {
    return this.ctx?.channel.clientCapabilities()?.sampling !== undefined;
  }

  /**
   * Sends `sampling/createMessage` as it is and resolves to the client's result. `key` names the
   * question in a 2026-era round (default: `input-<n>` by order of asking).
   */
  async createMessage(params: CreateMessageRequestParams, options: QuestionOptions = {}): Promise<CreateMessageResult> {
    const ctx = this.requireCall();
    return askClient(ctx, "sampling/createMessage", params as unknown as Record<string, unknown>, {
      supported: this.supported,
      capability: "sampling",
      what: "asking its LLM for a completion",
      key: questionOptions(options, "sampler.createMessage(params, options)").key,
    }) as Promise<CreateMessageResult>;
  }

  /**
   * One user message in, the model's text out (empty when it answered with no text block).
   * `maxTokens` defaults to 1000.
   */
  async ask(prompt: string, options: SamplingOptions = {}): Promise<string> {
    const { key, ...rest } = options;
    const result = await this.createMessage(
      { ...rest, maxTokens: rest.maxTokens ?? DEFAULT_MAX_TOKENS, messages: [{ role: "user", content: { type: "text", text: prompt } }] },
      { key },
    );
    const blocks = Array.isArray(result.content) ? result.content : [result.content];
    return blocks.map((block) => (block.type === "text" ? block.text : "")).join("");
  }

  private requireCall(): CallContext {
    if (!this.ctx) throw new Error("Sampler works inside a tool, resource or prompt call: inject it with @Inject(Sampler)");
    return this.ctx;
  }
}
