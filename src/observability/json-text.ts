/**
 * How {@link jsonText} bounds a value's JSON: the length past which it is cut, and the texts it
 * uses when `JSON.stringify` gives nothing (`undefined`, a function) or throws (a cycle, a BigInt).
 */
export interface JsonTextLimits {
  maxChars: number;
  /** The text of a value `JSON.stringify` returns undefined for. */
  noJson: (value: unknown) => string;
  /** The text of a value `JSON.stringify` throws on. */
  unserialisable: string;
}

/**
 * `value` as JSON, cut to size: a span attribute or a log field is not a blob store.
 *
 * @example
 * const text = jsonText(args, { maxChars: 8192, noJson: () => "null", unserialisable: '"[unserialisable]"' });
 */
export function jsonText(value: unknown, limits: JsonTextLimits): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? limits.noJson(value);
  } catch {
    return limits.unserialisable;
  }
  return cutToSize(text, limits.maxChars);
}

/** `text` cut to `maxChars`, marked `…[truncated]` when it was longer. */
export const cutToSize = (text: string, maxChars: number): string =>
  text.length > maxChars ? `${text.slice(0, maxChars)}…[truncated]` : text;
