import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";
import { checkOptions, defineOptions, option } from "../options.js";

/**
 * What a completer completes: one argument of a prompt, or one variable of a resource template
 * (named by its URI template, exactly as in `@Resource`).
 */
export type CompletionTarget =
  | { prompt: string; argument: string }
  | { resourceTemplate: string; argument: string };

const name = option.string({ nonEmpty: true });
/** The rules of `@Complete({ prompt, argument })` and `@Complete({ resourceTemplate, argument })`. */
const COMPLETE_OPTIONS = defineOptions<{ prompt?: string; resourceTemplate?: string; argument: string }>("@Complete options", {
  prompt: name,
  resourceTemplate: name,
  argument: option.required(name, "the prompt argument or template variable to complete"),
}, {
  template: 'use "resourceTemplate" (the URI template, exactly as in @Resource)',
  resource: 'use "resourceTemplate" (the URI template, exactly as in @Resource)',
  uri: 'use "resourceTemplate" (the URI template, exactly as in @Resource)',
  arg: 'use "argument"',
});

/** A recorded `@Complete` on a method. */
export interface CompletionBinding {
  method: string;
  target: CompletionTarget;
}

/**
 * Makes a method the completer of a prompt argument or a resource-template variable, for
 * `completion/complete`. It receives the partial value and the other arguments already filled in,
 * and returns the suggestions (at most 100 are sent; `total` and `hasMore` say how many there were).
 *
 * @example
 * @Complete({ prompt: "review_code", argument: "language" })
 * languages(value: string) { return ["python", "typescript"].filter((l) => l.startsWith(value)); }
 *
 * @Complete({ resourceTemplate: "hr://policies/{id}", argument: "id" })
 * policyIds(value: string, context: CompletionContext) { ... }
 */
export function Complete(target: CompletionTarget): MethodDecorator {
  return (prototype, key) => {
    if (typeof key !== "string") throw new TypeError("@Complete cannot decorate a symbol-named method");
    const owner = `@Complete options of ${(prototype as { constructor: { name: string } }).constructor.name}.${key}`;
    const checked = checkOptions(COMPLETE_OPTIONS, target as { prompt?: string; resourceTemplate?: string; argument: string }, owner);
    if ((checked.prompt === undefined) === (checked.resourceTemplate === undefined)) {
      throw new TypeError(`${owner}: give exactly one of "prompt" or "resourceTemplate", e.g. @Complete({ prompt: "review_code", argument: "language" })`);
    }
    recordListEntry<CompletionBinding>(METADATA.completions, prototype.constructor, { method: key, target: checked as CompletionTarget });
  };
}
