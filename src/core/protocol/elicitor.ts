import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { ElicitResultSchema, type ElicitRequestFormParams, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { CallContext } from "../call-context.js";
import { ToolError } from "../errors.js";
import { ClientCapabilityError } from "./client-capability-error.js";

/**
 * The form a client shows its user: a flat object of primitive fields. Strings, numbers, integers
 * and booleans may carry a `default` (SEP-1034); enums come untitled (`enum`), titled (`oneOf` of
 * `{ const, title }`), legacy titled (`enum` + `enumNames`), and as multi-select arrays (SEP-1330).
 */
export type ElicitationForm = ElicitRequestFormParams["requestedSchema"];

/** What the user did: `accept` (with `content` matching the form), `decline` or `cancel`. */
export type ElicitationAnswer<Content = Record<string, string | number | boolean | string[]>> =
  | { action: "accept"; content: Content }
  | { action: "decline" | "cancel"; content?: undefined };

let ajv: AjvJsonSchemaValidator | undefined;
// Tools usually pass a module-level form: compile each once.
const compiled = new WeakMap<object, JsonSchemaValidator<unknown>>();

/**
 * Asks the calling client's user to fill in a form (`elicitation/create`, form mode), tied to the
 * current request. An accepted answer is checked against the form before the tool sees it.
 *
 * @example
 * const answer = await elicitor.form("Confirm the transfer", {
 *   type: "object",
 *   properties: { confirm: { type: "boolean", default: false } },
 *   required: ["confirm"],
 * });
 * if (answer.action !== "accept" || !answer.content.confirm) return "Cancelled";
 */
export class Elicitor {
  constructor(private readonly ctx: CallContext | undefined = CallContext.current()) {}

  /** True when the client declared the `elicitation` capability (form mode). */
  get supported(): boolean {
    const elicitation = this.ctx?.channel.clientCapabilities()?.elicitation;
    // An empty `elicitation: {}` means form mode (the 2025-06-18 shape).
    return elicitation !== undefined && (Object.keys(elicitation).length === 0 || elicitation.form !== undefined);
  }

  /**
   * Shows `message` and the form; resolves to the user's answer. Rejects with a {@link ToolError}
   * when an accepted answer does not match the form, and with {@link ClientCapabilityError} when
   * the client cannot elicit.
   */
  async form<Content = Record<string, string | number | boolean | string[]>>(message: string, requestedSchema: ElicitationForm): Promise<ElicitationAnswer<Content>> {
    if (!this.ctx) throw new Error("Elicitor works inside a tool, resource or prompt call: inject it with @Inject(Elicitor)");
    if (!this.supported) throw new ClientCapabilityError("elicitation", "asking its user to fill in a form");
    const result: ElicitResult = await this.ctx.channel.request(
      { method: "elicitation/create", params: { mode: "form", message, requestedSchema } },
      ElicitResultSchema,
      { signal: this.ctx.signal },
    );
    if (result.action !== "accept") return { action: result.action };
    const content = result.content ?? {};
    let validate = compiled.get(requestedSchema);
    if (!validate) {
      validate = (ajv ??= new AjvJsonSchemaValidator()).getValidator(requestedSchema as never);
      compiled.set(requestedSchema, validate);
    }
    const verdict = validate(content);
    if (!verdict.valid) {
      throw new ToolError(`The client's answer does not match the requested form: ${verdict.errorMessage ?? "invalid content"}`);
    }
    return { action: "accept", content: content as Content };
  }
}
