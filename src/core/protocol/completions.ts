import { ProtocolErrorCode, ProtocolError, type CompleteRequest, type CompleteResult } from "@modelcontextprotocol/server";
import type { CompletionTarget } from "../decorators/complete.js";
import { DefinitionError, describeError, InvalidParamsError } from "../errors.js";
import { writeStderrNotice } from "../stderr-report.js";
import type { Registry } from "../registry.js";

/** What a completer knows besides the partial value. */
export interface CompletionContext {
  /** The argument (or template variable) being completed. */
  argument: string;
  /** Other arguments the user already filled in (`context.arguments` of the request). */
  arguments: Readonly<Record<string, string>>;
}

/** Suggestions: a list, or a list with the full count when only part of it is returned. */
export type CompletionValues = string[] | { values: string[]; total?: number; hasMore?: boolean };

/** A completer: the partial value in, suggestions out. */
export type Completer = (value: string, context: CompletionContext) => CompletionValues | Promise<CompletionValues>;

/** The protocol's cap on the values of one answer. */
const MAX_VALUES = 100;

const EMPTY: CompleteResult = Object.freeze({ completion: Object.freeze({ values: [], hasMore: false }) }) as CompleteResult;

const keyOf = (target: CompletionTarget): string =>
  "prompt" in target ? `prompt\u0000${target.prompt}\u0000${target.argument}` : `resource\u0000${target.resourceTemplate}\u0000${target.argument}`;

/**
 * The completers of a built server, keyed by prompt argument or template variable, and the
 * `completion/complete` answer built from them.
 */
export class CompletionTable {
  private readonly completers = new Map<string, { completer: Completer; label: string; target: CompletionTarget }>();

  /** Adds a completer; a second one for the same argument is a definition error. */
  add(target: CompletionTarget, completer: Completer, label: string): void {
    const key = keyOf(target);
    const existing = this.completers.get(key);
    if (existing) {
      throw new DefinitionError(`Cannot register the completer ${label}: ${existing.label} already completes ${describe(target)}`);
    }
    this.completers.set(key, { completer, label, target });
  }

  /** Fails the build when a completer names a prompt argument or template variable that does not exist. */
  check(registry: Registry): void {
    for (const { target, label } of this.completers.values()) {
      const fail = (reason: string): never => {
        throw new DefinitionError(`Cannot register the completer ${label} for ${describe(target)}: ${reason}`);
      };
      if ("prompt" in target) {
        const prompt = registry.prompts.get(target.prompt);
        if (!prompt) fail(`there is no prompt "${target.prompt}"`);
        if (!prompt!.descriptor.arguments?.some((a) => a.name === target.argument)) {
          fail(`prompt "${target.prompt}" has no argument "${target.argument}" (its arguments: ${prompt!.descriptor.arguments?.map((a) => a.name).join(", ") || "none"})`);
        }
      } else {
        const template = registry.templates.find((t) => t.uri === target.resourceTemplate);
        if (!template) fail(`there is no resource template "${target.resourceTemplate}"`);
        if (!template!.template!.variableNames.includes(target.argument)) {
          fail(`template "${target.resourceTemplate}" has no variable "${target.argument}" (its variables: ${template!.template!.variableNames.join(", ")})`);
        }
      }
    }
  }

  /** Answers `completion/complete`: the completer's values, at most 100; none when nothing completes it. */
  async complete(params: CompleteRequest["params"], registry: Registry): Promise<CompleteResult> {
    const { ref, argument } = params;
    let target: CompletionTarget;
    if (ref.type === "ref/prompt") {
      if (!registry.prompts.has(ref.name)) throw new InvalidParamsError(`Cannot complete: unknown prompt "${ref.name}"`);
      target = { prompt: ref.name, argument: argument.name };
    } else {
      if (!registry.templates.some((t) => t.uri === ref.uri) && !registry.staticResources.has(ref.uri)) {
        throw new InvalidParamsError(`Cannot complete: no resource template "${ref.uri}"`);
      }
      target = { resourceTemplate: ref.uri, argument: argument.name };
    }
    const entry = this.completers.get(keyOf(target));
    if (!entry) return EMPTY;
    let answer: CompletionValues;
    try {
      answer = await entry.completer(argument.value, { argument: argument.name, arguments: params.context?.arguments ?? {} });
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      writeStderrNotice(`the completer ${entry.label} failed: ${describeError(error)}`);
      throw new ProtocolError(ProtocolErrorCode.InternalError, `Internal error while completing ${describe(target)}; details are in the server log`);
    }
    const values = (Array.isArray(answer) ? answer : answer.values).map(String);
    const total = Array.isArray(answer) ? values.length : (answer.total ?? values.length);
    const hasMore = values.length > MAX_VALUES || (!Array.isArray(answer) && answer.hasMore === true) || total > Math.min(values.length, MAX_VALUES);
    return { completion: { values: values.slice(0, MAX_VALUES), total, hasMore } };
  }
}

const describe = (target: CompletionTarget): string =>
  "prompt" in target ? `argument "${target.argument}" of prompt "${target.prompt}"` : `variable "${target.argument}" of resource template "${target.resourceTemplate}"`;
