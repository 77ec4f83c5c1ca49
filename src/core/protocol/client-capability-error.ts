import { ToolError } from "../errors.js";

/**
 * A tool asked the client for something (sampling, elicitation) its `initialize` did not declare.
 * A {@link ToolError}: the call ends as an `isError` result whose text says what was missing.
 *
 * @example
 * try { await sampler.ask("Summarise"); } catch (e) { if (e instanceof ClientCapabilityError) return "no LLM available"; throw e; }
 */
export class ClientCapabilityError extends ToolError {
  constructor(
    /** The capability the client lacks (`sampling`, `elicitation`). */
    readonly capability: string,
    what: string,
  ) {
    super(`The client does not support ${capability} (it did not declare the "${capability}" capability in initialize), so ${what} is not possible`);
    this.name = "ClientCapabilityError";
  }
}
