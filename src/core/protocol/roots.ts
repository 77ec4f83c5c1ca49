import type { Root } from "@modelcontextprotocol/server";
import { CallContext } from "../call-context.js";
import { askClient, questionOptions, type QuestionOptions } from "./ask-client.js";

/**
 * Asks the calling client for its roots (`roots/list`): the directories or URIs it lets the
 * server work in. Both protocol eras, as {@link Elicitor} explains.
 *
 * @example
 * @Tool({ description: "List the client's roots" })
 * async workspace(@Inject(Roots) roots: Roots) {
 *   return { roots: (await roots.list()).map((r) => r.uri) };
 * }
 */
export class Roots {
  constructor(private readonly ctx: CallContext | undefined = CallContext.current()) {}

  /** True when the client declared the `roots` capability. */
  get supported(): boolean {
    return this.ctx?.channel.clientCapabilities()?.roots !== undefined;
  }

  /** The client's roots. `key` names the question in a 2026-era round. */
  async list(options: QuestionOptions = {}): Promise<Root[]> {
    const ctx = this.ctx;
    if (!ctx) throw new Error("Roots works inside a tool, resource or prompt call: inject it with @Inject(Roots)");
    const result = await askClient(ctx, "roots/list", {}, { supported: this.supported, capability: "roots", what: "listing its roots", key: questionOptions(options, "roots.list(options)").key });
    return result.roots;
  }
}
