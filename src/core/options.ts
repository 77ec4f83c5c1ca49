/**
 * The one way Lantern checks an options object handed to a public constructor, function or
 * decorator: every key is declared with its type (and bounds), unknown keys are refused naming the
 * key, what it may have meant and where it belongs, and `undefined` means "the default".
 *
 * The rules, in full:
 * - A key that is not declared is refused (`TypeError`), with a "did you mean" by edit distance
 *   and, for keys that are often put in the wrong place, where they belong.
 * - A value of the wrong type, or `null` where `null` means nothing, is refused (`TypeError`); a
 *   value of the right type outside its bounds or its set of values is refused (`RangeError`).
 * - A key given as `undefined` is the same as a key left out: the option takes its default. The
 *   checked copy {@link checkOptions} returns has no `undefined` values, so `{ ...defaults, ...checked }`
 *   cannot switch a default off.
 * - Except for security opt-ins ({@link OptionRule.undefinedRefused}): options whose default is the
 *   less safe choice (an issuer check, a `/metrics` token, a redaction list, tool scopes). Writing
 *   such a key with the value `undefined` (an unset environment variable, almost always) is refused;
 *   leave the key out to ask for the default.
 */

/** How one option's value is checked. Built with {@link option}. */
export interface OptionRule {
  /** What the value must be, for messages: `"a whole number from 1 to 65535"`. */
  readonly expected: string;
  /** The value has the right type (`TypeError` when not). */
  readonly isType: (value: unknown) => boolean;
  /** The value (of the right type) is within bounds (`RangeError` when not). Default: always. */
  readonly inRange?: (value: unknown) => boolean;
  /** The key must be given (and not `undefined`); this says why. */
  readonly required?: string;
  /** Nested options, checked (and cleaned of `undefined`) the same way. */
  readonly nested?: OptionsSpec<object>;
  /** `null` is a meaningful value here. */
  readonly nullable?: boolean;
  /**
   * Set on security opt-ins: an explicit `undefined` is refused, and this says what leaving the key
   * out means (`"accept tokens from any issuer"`).
   */
  readonly undefinedRefused?: string;
  /** An extra hint appended to a refusal of the value (`write ["ssn"]`). */
  readonly hint?: (value: unknown) => string | undefined;
}

/** Every key of `T` (optional or not) with its rule: adding an option without a rule does not compile. */
export type OptionRules<T> = { readonly [K in keyof Required<T>]-?: OptionRule };

/** The declared options of one constructor, function or decorator. */
export interface OptionsSpec<T> {
  /** Who takes these options, as the user wrote it: `JWTAuth options (the second argument of new JWTAuth)`. */
  readonly owner: string;
  readonly rules: OptionRules<T>;
  /** Keys that are commonly misspelled or misplaced, and what to say about each: `{ iss: 'use "issuer"' }`. */
  readonly hints?: Readonly<Record<string, string>>;
}

/**
 * Declares the options of `owner`. The spec lives next to the options interface it checks.
 *
 * @example
 * const LIMITS = defineOptions<Limits>("Limiter options", { max: option.integer({ min: 1 }) }, { maximum: 'use "max"' });
 */
export function defineOptions<T>(owner: string, rules: OptionRules<T>, hints?: Record<string, string>): OptionsSpec<T> {
  return { owner, rules, ...(hints ? { hints } : {}) };
}

const MAX_TIMER_MS = 2_147_483_647;

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "number":
      return `the number ${value}`;
    case "boolean":
      return String(value);
    case "function":
      return `a function${value.name ? ` (${value.name})` : ""}`;
    case "object": {
      const name = (value as object).constructor?.name;
      return name && name !== "Object" ? `a ${name}` : "an object";
    }
    default:
      return `a ${typeof value}`;
  }
}

interface NumberBounds {
  min?: number;
  max?: number;
  /** Only whole numbers. */
  integer?: boolean;
  /** Appended to the expectation: `"ms"`, `"seconds"`, `"bytes"`. */
  unit?: string;
  /** The lower bound itself is excluded (`> 0` for a non-integer). */
  exclusiveMin?: boolean;
}

function numberRule(bounds: NumberBounds): OptionRule {
  const { min, max, integer, unit, exclusiveMin } = bounds;
  const kind = integer ? "a whole number" : "a number";
  const range =
    min !== undefined && max !== undefined ? ` from ${min} to ${max}`
      : min !== undefined ? (exclusiveMin ? ` greater than ${min}` : ` of at least ${min}`)
        : max !== undefined ? ` of at most ${max}` : "";
  return {
    expected: `${kind}${unit ? ` of ${unit}` : ""}${range}`,
    isType: (v) => typeof v === "number" && !Number.isNaN(v),
    inRange: (v) => {
      const n = v as number;
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) return false;
      if (min !== undefined && (exclusiveMin ? n <= min : n < min)) return false;
      return max === undefined || n <= max;
    },
    hint: (v) => (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? `convert it with Number(...)` : undefined),
  };
}

const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((item) => typeof item === "string");

/**
 * The building blocks of option rules.
 *
 * @example
 * defineOptions<HttpLimits>("listen options", { port: option.integer({ min: 0, max: 65535 }), path: option.string() });
 */
export const option = {
  /** A string; `nonEmpty` refuses `""` (an environment variable set to nothing). */
  string(options: { nonEmpty?: boolean; pattern?: RegExp; describe?: string } = {}): OptionRule {
    const { nonEmpty, pattern, describe } = options;
    return {
      expected: describe ?? (nonEmpty ? "a non-empty string" : "a string"),
      isType: (v) => typeof v === "string",
      inRange: (v) => !(nonEmpty && (v as string).length === 0) && !(pattern && !pattern.test(v as string)),
    };
  },
  /** A finite number within bounds. */
  number: (bounds: NumberBounds = {}): OptionRule => numberRule(bounds),
  /** A whole number within bounds. */
  integer: (bounds: Omit<NumberBounds, "integer"> = {}): OptionRule => numberRule({ ...bounds, integer: true }),
  /** A time limit in milliseconds that a timer can hold: whole, from `min` (default 1) to 2^31 − 1. */
  milliseconds: (min = 1): OptionRule => numberRule({ min, max: MAX_TIMER_MS, integer: true, unit: "ms" }),
  boolean(): OptionRule {
    return { expected: "true or false", isType: (v) => typeof v === "boolean" };
  },
  /** An array of strings; a lone string is refused (it is not a list of one). */
  stringList(options: { nonEmpty?: boolean } = {}): OptionRule {
    return {
      expected: options.nonEmpty ? "a non-empty list of strings" : "a list of strings",
      isType: isStringArray,
      inRange: (v) => !(options.nonEmpty && (v as unknown[]).length === 0),
      hint: (v) => (typeof v === "string" ? `a single string is not a list: write [${JSON.stringify(v)}]` : undefined),
    };
  },
  /** An array of finite numbers. */
  numberList(options: { positive?: boolean; ascending?: boolean } = {}): OptionRule {
    return {
      expected: `a list of ${options.positive ? "positive " : ""}numbers${options.ascending ? " in ascending order" : ""}`,
      isType: (v) => Array.isArray(v) && v.every((n) => typeof n === "number"),
      inRange: (v) =>
        (v as number[]).every((n, i, all) => Number.isFinite(n) && (!options.positive || n > 0) && (!options.ascending || i === 0 || n > all[i - 1]!)),
    };
  },
  /** A string, or a list of them. */
  stringOrList(options: { nonEmpty?: boolean } = {}): OptionRule {
    return {
      expected: options.nonEmpty ? "a non-empty string or a non-empty list of non-empty strings" : "a string or a list of strings",
      isType: (v) => typeof v === "string" || isStringArray(v),
      inRange: (v) => !options.nonEmpty || (typeof v === "string" ? v.length > 0 : (v as string[]).length > 0 && (v as string[]).every((s) => s.length > 0)),
    };
  },
  /** One of a fixed set of values. */
  oneOf<V extends string | number | boolean>(...values: readonly V[]): OptionRule {
    const typeOf = new Set(values.map((v) => typeof v));
    return {
      expected: `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
      isType: (v) => typeOf.has(typeof v as "string"),
      inRange: (v) => values.includes(v as V),
    };
  },
  /** A function. */
  function(describe = "a function"): OptionRule {
    return { expected: describe, isType: (v) => typeof v === "function" };
  },
  /** A plain object; with `spec`, its keys are checked too. */
  object<T>(spec?: OptionsSpec<T>, describe = "an object"): OptionRule {
    return {
      expected: describe,
      isType: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
      ...(spec ? { nested: spec as OptionsSpec<object> } : {}),
    };
  },
  /** An instance of `type`. */
  instanceOf(type: abstract new (...args: never[]) => unknown, describe = `a ${type.name}`): OptionRule {
    return { expected: describe, isType: (v) => v instanceof type };
  },
  /** An object with these methods (duck-typed: a second copy of a dependency still passes). */
  withMethods(describe: string, ...methods: string[]): OptionRule {
    return {
      expected: describe,
      isType: (v) => (typeof v === "object" || typeof v === "function") && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
    };
  },
  /** Exactly this value (`false` to turn a feature off, say). */
  literal(value: string | number | boolean): OptionRule {
    return { expected: JSON.stringify(value), isType: (v) => v === value };
  },
  /** Anything but `null` (checked elsewhere: key material, class constructors, ...). */
  any(describe: string): OptionRule {
    return { expected: describe, isType: () => true };
  },
  /** The value passes one of the rules (the first whose type fits decides the bounds). */
  anyOf(...rules: OptionRule[]): OptionRule {
    return {
      expected: rules.map((r) => r.expected).join(", or "),
      isType: (v) => rules.some((r) => r.isType(v)),
      inRange: (v) => rules.some((r) => r.isType(v) && (r.inRange?.(v) ?? true)),
      nullable: rules.some((r) => r.nullable),
    };
  },
  /** `rule`, or `null` (which then means something, documented on the option). */
  nullable(rule: OptionRule): OptionRule {
    return { ...rule, expected: `${rule.expected}, or null`, nullable: true };
  },
  /** `rule`, and the key must be given: `why` says what the value is for. */
  required(rule: OptionRule, why: string): OptionRule {
    return { ...rule, required: why };
  },
  /**
   * A security opt-in: leaving the key out means `leftOut` (the less safe default), so writing the
   * key with `undefined` (an unset environment variable) is refused rather than taken as a default.
   */
  secured(rule: OptionRule, leftOut: string): OptionRule {
    return { ...rule, undefinedRefused: leftOut };
  },
};

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), case-insensitive, capped at `limit + 1`. */
function distance(a: string, b: string, limit: number): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      best = Math.min(best, d);
    }
    if (best > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/** The declared key closest to `key`, when close enough to be a misspelling of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 4)));
  let best: string | undefined;
  // Ties go to the first declared key; an exact case-insensitive match wins at distance 0.
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = distance(key, candidate, limit);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function unknownKeyMessage(spec: OptionsSpec<object>, owner: string, key: string, name: string, known: string[]): string {
  const hint = spec.hints?.[key];
  if (hint) return `${owner}: unknown option "${name}": ${hint}`;
  const near = closestKey(key, known);
  const list = known.length ? `the options are ${known.join(", ")}` : "it takes no options";
  return `${owner}: unknown option "${name}"${near ? `; did you mean "${near}"?` : ""} (${list}). Remove it or fix its name: unknown options are refused so that a misspelled one cannot silently leave a default in place`;
}

/** Why a value of the wrong type or out of bounds is refused, with the rule's hint when it has one for it. */
function refusedValue(owner: string, name: string, rule: OptionRule, value: unknown): string {
  const extra = rule.hint?.(value);
  return `${owner}: "${name}" must be ${rule.expected}, got ${describeValue(value)}${extra ? `; ${extra}` : ""}`;
}

function check(spec: OptionsSpec<object>, given: unknown, path: string, owner: string): Record<string, unknown> {
  if (given === undefined) return {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new TypeError(`${owner}: expected an options object${path ? ` for "${path}"` : ""}, got ${describeValue(given)}`);
  }
  const proto = Object.getPrototypeOf(given);
  if (proto !== Object.prototype && proto !== null) {
    // Only own keys are read: an options class's getters or inherited fields would be dropped unseen.
    throw new TypeError(`${owner}: expected a plain options object${path ? ` for "${path}"` : ""}, got ${describeValue(given)}; copy what you mean into an object literal ({ ...config } copies only own fields)`);
  }
  const rules = spec.rules as Record<string, OptionRule>;
  const known = Object.keys(rules);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    const name = path ? `${path}.${key}` : key;
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (!rule) throw new TypeError(unknownKeyMessage(spec, owner, key, name, known));
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined) {
      if (rule.undefinedRefused || rule.required) {
        throw new TypeError(
          `${owner}: "${name}" was given as undefined (probably an unset environment variable). ` +
            (rule.required ? `It is required: ${rule.required}` : `Give it a value, or leave the key out if you mean to ${rule.undefinedRefused}`),
        );
      }
      continue;
    }
    if (value === null && !rule.nullable) {
      throw new TypeError(`${owner}: "${name}" is null; it must be ${rule.expected} (leave the key out for the default)`);
    }
    if (value !== null) {
      if (!rule.isType(value)) throw new TypeError(refusedValue(owner, name, rule, value));
      if (rule.inRange && !rule.inRange(value)) throw new RangeError(refusedValue(owner, name, rule, value));
      if (rule.nested && !Array.isArray(value)) {
        out[key] = check(rule.nested, value, name, owner);
        continue;
      }
    }
    out[key] = value;
  }
  for (const key of known) {
    const why = rules[key]!.required;
    if (why && !Object.hasOwn(given, key)) {
      throw new TypeError(`${owner}: "${path ? `${path}.${key}` : key}" is required: ${why}`);
    }
  }
  return out;
}

/**
 * Checks `given` against `spec` and returns a copy without `undefined` values (so spreading it over
 * defaults keeps the defaults). `undefined` itself is an empty options object. `owner` names the
 * caller more precisely than the spec can (`@Tool options of HrApi.search`). Throws `TypeError`
 * (unknown key, wrong type, `null`, a refused `undefined`) or `RangeError` (out of bounds), with a
 * message naming the owner, the key, what was wrong and how to fix it.
 *
 * @example
 * const options = checkOptions(HTTP_OPTIONS, given); // { port: 3000 } stays, { port: undefined } is dropped
 */
export function checkOptions<T>(spec: OptionsSpec<T>, given: T | undefined, owner: string = spec.owner): T {
  return check(spec as OptionsSpec<object>, given, "", owner) as T;
}
