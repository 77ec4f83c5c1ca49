import { cutToSize } from "./json-text.js";

/** What a redacted value is replaced by, in log lines and audit entries alike. */
export const REDACTED = "[REDACTED]";

/** How far {@link Redaction.copy} walks and how much it keeps. */
export interface RedactionBounds {
  /** Deeper values are replaced by `tooDeep`. */
  maxDepth: number;
  tooDeep: string;
  /** Arrays and objects keep this many items (the rest is summarised); default: all. */
  maxItems?: number;
  /** Strings are cut to this many characters; default: whole. */
  maxString?: number;
}

/**
 * The field names whose values never reach a log line or an audit entry. One implementation for
 * every part: names match at any depth and without regard to case (`SSN` hides `ssn`). The lists of
 * server, class and method are merged (a union, so a list only ever grows) before one is made.
 *
 * @example
 * const redaction = Redaction.of(["ssn", "dob"]);
 * redaction.copy({ SSN: "123", name: "Ada" }, { maxDepth: 64, tooDeep: "[TOO DEEP]" }); // { SSN: "[REDACTED]", name: "Ada" }
 */
export class Redaction {
  static readonly none = new Redaction(new Set());

  private constructor(private readonly names: ReadonlySet<string>) {}

  /** The redaction of these field names (compared without case). */
  static of(fields: Iterable<string> | undefined): Redaction {
    if (!fields) return Redaction.none;
    const names = new Set<string>();
    for (const field of fields) {
      if (typeof field !== "string") throw new TypeError(`redact takes field names (strings), got ${typeof field}`);
      names.add(field.toLowerCase());
    }
    return names.size ? new Redaction(names) : Redaction.none;
  }

  /** The field names, lower-cased. */
  get fields(): readonly string[] {
    return [...this.names];
  }

  get isEmpty(): boolean {
    return this.names.size === 0;
  }

  /** Whether the value under `key` is hidden. */
  matches(key: string): boolean {
    return this.names.size > 0 && this.names.has(key.toLowerCase());
  }

  /**
   * A copy of `value` with the values of matching keys replaced by {@link REDACTED}, bounded by
   * `bounds`. Objects are copied without a prototype, so an own `__proto__` key stays a key.
   */
  copy(value: unknown, bounds: RedactionBounds, depth = 0): unknown {
    if (typeof value === "string") return bounds.maxString === undefined ? value : cutToSize(value, bounds.maxString);
    if (value === null || typeof value !== "object") return value;
    if (depth >= bounds.maxDepth) return bounds.tooDeep;
    const maxItems = bounds.maxItems ?? Infinity;
    if (Array.isArray(value)) {
      const items = (value.length > maxItems ? value.slice(0, maxItems) : value).map((item) => this.copy(item, bounds, depth + 1));
      if (value.length > maxItems) items.push(`[${value.length - maxItems} more]`);
      return items;
    }
    const copy: Record<string, unknown> = Object.create(null);
    const keys = Object.keys(value);
    let count = 0;
    for (const key of keys) {
      if (++count > maxItems) {
        copy["[more]"] = `${keys.length - maxItems} more keys`;
        break;
      }
      copy[key] = this.matches(key) ? REDACTED : this.copy((value as Record<string, unknown>)[key], bounds, depth + 1);
    }
    return copy;
  }
}
