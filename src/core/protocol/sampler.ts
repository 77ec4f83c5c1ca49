import {
  CreateMessageResultSchema,
  type CreateMessageRequestParams,
  type CreateMessageResult,
} from "@modelcontextprotocol/sdk/types.js";
import { CallContext } from "../call-context.js";
import { ClientCapabilityError } from "./client-capability-error.js";

/** Options of {@link Sampler.ask}: everything of `sampling/createMessage` but the messages. */
export type SamplingOptions = Partial<Omit<CreateMessageRequestParams, "messages">>;

const DEFAULT_MAX_TOKENS = 1000;

/**
 * Asks the calling client's LLM for a completion (`sampling/createMessage`), tied to the current
 * request so Streamable HTTP delivers it on the call's own stream. Inject it into a tool.
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

  /** Sends `sampling/createMessage` as it is and resolves to the client's result. */
  async createMessage(params: CreateMessageRequestParams): Promise<CreateMessageResult> {
    const ctx = this.requireCall();
    if (!this.supported) throw new ClientCapabilityError("sampling", "asking its LLM for a completion");
    return ctx.channel.request({ method: "sampling/createMessage", params }, CreateMessageResultSchema, { signal: ctx.signal });
  }

  /**
   * One user message in, the model's text out (empty when it answered with no text block).
   * `maxTokens` defaults to 1000.
   */
  async ask(prompt: string, options: SamplingOptions = {}): Promise<string> {
    const result = await this.createMessage({
      ...options,
      maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
      messages: [{ role: "user", content: { type: "text", text: prompt } }],
    });
    const blocks = Array.isArray(result.content) ? result.content : [result.content];
    return blocks.map((block) => (block.type === "text" ? block.text : "")).join("");
  }

  private requireCall(): CallContext {
    if (!this.ctx) throw new Error("Sampler works inside a tool, resource or prompt call: inject it with @Inject(Sampler)");
    return this.ctx;
  }
}
