/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation, with JSON.stringify's value model: what
 * this returns for a value is exactly what a verifier gets by parsing `JSON.stringify(value)` and
 * canonicalising the result, in any language with an RFC 8785 library.
 *
 * - object keys sorted by their UTF-16 code units (JavaScript's default string order);
 * - no whitespace;
 * - strings escaped as JSON.stringify escapes them (only `"`, `\` and U+0000..U+001F, with the short
 *   forms \b \t \n \f \r and lowercase \u00xx otherwise), which is what RFC 8785 §3.2.2.2 asks;
 * - numbers in ECMAScript's shortest round-trip form (`String(n)`), which is RFC 8785 §3.2.2.3;
 * - `toJSON()` honoured, and `undefined`, functions and symbols dropped from objects (null in
 *   arrays), non-finite numbers written as null: JSON.stringify's rules, so the line on disk and the
 *   bytes that were signed always agree.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, "x"] }); // '{"a":[true,"x"],"b":1}'
 */
export function canonicalJson(value: unknown, keys?: SortedKeys): string {
  const out = value !== null && typeof value === "object" && inCanonicalOrder(value, 0) ? JSON.stringify(value) : ((keys && serializeKnownShape(value, keys)) ?? serialize(value, ""));
  if (out === undefined) throw new TypeError("canonicalJson: the value has no JSON form (undefined, a function or a symbol)");
  return out;
}

/** How deep {@link inCanonicalOrder} looks before leaving a value to the general path. */
const MAX_ORDER_CHECK_DEPTH = 32;

/**
 * True when JSON.stringify already writes `value` canonically: every object's own keys come in
 * sorted order and nothing in it needs the general path's care (a toJSON(), a boxed primitive, a
 * BigInt). JSON.stringify writes keys in Object.keys order and shares every other rule, so its
 * output is then byte for byte the canonical form, from native code.
 */
function inCanonicalOrder(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return typeof value !== "bigint";
  if (depth >= MAX_ORDER_CHECK_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!inCanonicalOrder(value[i], depth + 1)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!inCanonicalOrder(record[keys[i]!], depth + 1)) return false;
  }
  return true;
}

/** A member's canonical form: JSON.stringify's when it already is canonical, else the general path. */
function serializeMember(value: unknown, key: string): string | undefined {
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object" && inCanonicalOrder(value, 0)) return JSON.stringify(value);
  return serialize(value, key);
}

function serialize(input: unknown, key: string): string | undefined {
  let value = input;
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      // String(-0) is "0" and String(n) is ECMAScript's shortest round-trip form: RFC 8785 §3.2.2.3.
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new TypeError("canonicalJson: a BigInt has no JSON form; convert it to a string or number first");
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return serialize(value.valueOf(), key);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += serialize(value[i], String(i)) ?? "null";
    }
    return out + "]";
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const member = serialize(record[k], k);
    if (member === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(k) + ":" + member;
    first = false;
  }
  return out + "}";
}

/** An object's possible keys in canonical order, each with its JSON form: see {@link sortedKeys}. */
export interface SortedKeys {
  readonly names: readonly string[];
  readonly quoted: readonly string[];
}

/**
 * The keys an object usually has, sorted once: {@link canonicalJson} then writes such an object's
 * top level without sorting or quoting its keys per call. An object with a key outside the list
 * is serialised the general way, so the output never depends on the list.
 *
 * @example
 * const ENTRY_KEYS = sortedKeys(["seq", "tool", "status"]);
 * canonicalJson({ tool: "echo", seq: 1, status: "ok" }, ENTRY_KEYS); // '{"seq":1,"status":"ok","tool":"echo"}'
 */
export function sortedKeys(keys: readonly string[]): SortedKeys {
  const names = [...new Set(keys)].sort();
  return { names, quoted: names.map((k) => JSON.stringify(k)) };
}

const { propertyIsEnumerable } = Object.prototype;

function serializeKnownShape(value: unknown, keys: SortedKeys): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
  const record = value as Record<string, unknown>;
  let present = 0;
  let out = "{";
  for (let i = 0; i < keys.names.length; i++) {
    const k = keys.names[i]!;
    // Own and enumerable, as JSON.stringify takes them: a non-enumerable key must not be written.
    if (!propertyIsEnumerable.call(record, k)) continue;
    present += 1;
    const member = serializeMember(record[k], k);
    if (member === undefined) continue;
    out += (out.length === 1 ? "" : ",") + keys.quoted[i] + ":" + member;
  }
  // Keys outside the list (or inherited enumerable ones) would be missing: fall back to the general path.
  let own = 0;
  for (const k in record) if (Object.hasOwn(record, k)) own += 1;
  return own === present ? out + "}" : undefined;
}
