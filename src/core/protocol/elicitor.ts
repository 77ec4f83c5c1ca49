import type { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import type { ElicitRequestFormParams, ElicitResult, JsonSchemaValidator } from "@modelcontextprotocol/server";
import { CallContext } from "../call-context.js";
import { ToolError } from "../errors.js";
import { askClient, questionOptions, type QuestionOptions } from "./ask-client.js";

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
 * Both protocol eras: on a 2025 session it sends the request and waits; on a 2026-07-28 request
 * the round ends with an input-required result and the tool runs again, from the start, when the
 * client retries with the answer (so everything before the question must be safe to repeat, and
 * questions must be asked in the same order every time, or given a `key`).
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
    return this.ctx !== undefined && formSupported(this.ctx);
  }

  /**
   * Shows `message` and the form; resolves to the user's answer. Rejects with a {@link ToolError}
   * when an accepted answer does not match the form; when the client cannot elicit, with
   * `ClientCapabilityError` (2025 era: an `isError` result) or `MissingClientCapabilityError`
   * (2026 era: JSON-RPC -32021). `key` names the question in a 2026-era round (default:
   * `input-<n>` by order of asking).
   */
  async form<Content = Record<string, string | number | boolean | string[]>>(
    message: string,
    requestedSchema: ElicitationForm,
    options: QuestionOptions = {},
  ): Promise<ElicitationAnswer<Content>> {
    const ctx = this.ctx;
    if (!ctx) throw new Error("Elicitor works inside a tool, resource or prompt call: inject it with @Inject(Elicitor)");
    const params = ctx.era === "modern" ? { message, requestedSchema } : { mode: "form", message, requestedSchema };
    const result: ElicitResult = await askClient(ctx, "elicitation/create", params, {
      supported: formSupported(ctx),
      capability: "elicitation",
      what: "asking its user to fill in a form",
      key: questionOptions(options, "elicitor.form(message, form, options)").key,
    });
    if (result.action !== "accept") return { action: result.action };
    const content = result.content ?? {};
    let validate = compiled.get(requestedSchema);
    if (!validate) {
      // ajv is loaded with the first form, not with the package.
      ajv ??= new (await import("@modelcontextprotocol/server/validators/ajv")).AjvJsonSchemaValidator();
      validate = ajv.getValidator(requestedSchema as never);
      compiled.set(requestedSchema, validate);
    }
    const verdict = validate(content);
    if (!verdict.valid) {
      throw new ToolError(`The client's answer does not match the requested form: ${verdict.errorMessage ?? "invalid content"}`);
    }
    return { action: "accept", content: content as Content };
  }
}

function formSupported(ctx: CallContext): boolean {
  const elicitation = ctx.channel.clientCapabilities()?.elicitation;
  // An empty `elicitation: {}` means form mode (the 2025-06-18 shape).
  return elicitation !== undefined && (Object.keys(elicitation).length === 0 || elicitation.form !== undefined);
}
