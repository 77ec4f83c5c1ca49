/** Why a value cannot travel as JSON, and where in it: `at` is a path such as `items[2].tags`. */
export class NotJsonError extends Error {
  constructor(
    readonly what: string,
    readonly at: string,
    readonly hint: string,
  ) {
    super(`${what}${at ? ` at "${at}"` : ""} (${hint})`);
    this.name = "NotJsonError";
  }
}

const MAX_DEPTH = 256;
/** Past this depth the quick scan stops and the full walk (which finds cycles) decides. */
const QUICK_SCAN_DEPTH = 64;

/**
 * The value as it arrives at the client after `JSON.stringify`/`JSON.parse`: a `Date` (or anything
 * with `toJSON`) becomes what `toJSON` returns, `undefined`, functions and symbols are left out of
 * objects (and are `null` in arrays), non-finite numbers are `null`, class instances are their own
 * enumerable properties. Where JSON would lose data without a word, this throws {@link NotJsonError}
 * naming the path: a `Map` or `Set` (JSON writes `{}`), a `BigInt`, a cycle, nesting deeper than 256.
 * A value that is already plain JSON is returned as it is (nothing copied); `undefined`, a function
 * or a symbol give `undefined`.
 *
 * @example
 * toJsonValue({ at: new Date(0) }); // { at: "1970-01-01T00:00:00.000Z" }
 */
export function toJsonValue(value: unknown): unknown {
  if (isPlainJson(value, 0)) return value;
  let converted: unknown;
  try {
    converted = convert(value, "", []);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    throw new NotJsonError(error.what, error.keys.reduceRight<string>(join, ""), error.hint);
  }
  // Nothing at all (a function, a symbol): JSON.stringify gives undefined too.
  return converted === OMITTED ? undefined : converted;
}

/** True when `value` is exactly what JSON would give back: no conversion needed. */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > QUICK_SCAN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

const OMITTED = Symbol("omitted");

const join = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/**
 * A refusal on its way out of the walk. The path is written only when something is refused: on the
 * way out each level adds its key (innermost first), so a value that converts builds no path strings.
 */
class Refusal {
  readonly keys: (string | number)[] = [];
  constructor(
    readonly what: string,
    readonly hint: string,
  ) {}
}

function convert(input: unknown, key: string | number, stack: object[]): unknown {
  let value = input;
  if (typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    try {
      value = (value as { toJSON: (key: string) => unknown }).toJSON(String(key));
    } catch (error) {
      throw new Refusal(`a value whose toJSON() threw (${error instanceof Error ? error.message : String(error)})`, "make toJSON() return plain data");
    }
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf();
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      throw new Refusal("a BigInt", "JSON has no BigInt: convert it with String() or Number()");
    case "undefined":
    case "function":
    case "symbol":
      return OMITTED;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Map || object instanceof WeakMap) {
    throw new Refusal("a Map", "JSON would send it as {}: return Object.fromEntries(map) or [...map]");
  }
  if (object instanceof Set || object instanceof WeakSet) {
    throw new Refusal("a Set", "JSON would send it as {}: return [...set]");
  }
  if (stack.includes(object)) throw new Refusal("a cycle", "a value refers back to itself; return a tree");
  if (stack.length >= MAX_DEPTH) throw new Refusal(`nesting deeper than ${MAX_DEPTH} levels`, "return a flatter value");
  stack.push(object);
  // The key of the child being converted, added to the path of a refusal on its way out.
  let child: string | number = 0;
  try {
    if (Array.isArray(object)) {
      const out: unknown[] = new Array(object.length);
      for (let i = 0; i < object.length; i++) {
        child = i;
        const item = convert(object[i], i, stack);
        out[i] = item === OMITTED ? null : item;
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(object)) {
      child = name;
      const item = convert((object as Record<string, unknown>)[name], name, stack);
      if (item === OMITTED) continue;
      // An own "__proto__" key (JSON.parse makes them) stays data; assigning it would set the prototype.
      if (name === "__proto__") Object.defineProperty(out, name, { value: item, enumerable: true, writable: true, configurable: true });
      else out[name] = item;
    }
    return out;
  } catch (error) {
    if (error instanceof Refusal) error.keys.push(child);
    throw error;
  } finally {
    stack.pop();
  }
}
