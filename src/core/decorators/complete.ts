import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";

/**
 * What a completer completes: one argument of a prompt, or one variable of a resource template
 * (named by its URI template, exactly as in `@Resource`).
 */
export type CompletionTarget =
  | { prompt: string; argument: string }
  | { resourceTemplate: string; argument: string };

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
  const named = target && ("prompt" in target ? target.prompt : target.resourceTemplate);
  if (typeof named !== "string" || typeof target.argument !== "string" || !named || !target.argument) {
    throw new TypeError('@Complete needs { prompt, argument } or { resourceTemplate, argument }, e.g. @Complete({ prompt: "review_code", argument: "language" })');
  }
  return (prototype, key) => {
    if (typeof key !== "string") throw new TypeError("@Complete cannot decorate a symbol-named method");
    recordListEntry<CompletionBinding>(METADATA.completions, prototype.constructor, { method: key, target: { ...target } });
  };
}
