import { NotJsonError, toJsonValue } from "../../src/core/json-value.js";

class Point {
  constructor(readonly x: number, readonly y: number) {}
  get length() { return Math.hypot(this.x, this.y); }
}

describe("toJsonValue: what JSON.stringify then JSON.parse would give, or a refusal naming the path", () => {
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  const corpus: [string, unknown][] = [
    ["a Date", new Date(0)],
    ["Dates in objects and arrays", { at: new Date(1), list: [new Date(2)] }],
    ["a class instance (own properties only)", new Point(3, 4)],
    ["toJSON returning a number, a string, an object", [{ toJSON: () => 5 }, { toJSON: () => "s" }, { toJSON: () => ({ a: new Date(3) }) }]],
    ["toJSON given its key", { when: { toJSON: (key: string) => `key:${key}` } }],
    ["undefined, functions and symbols in objects", { a: undefined, b: () => 1, c: Symbol("x"), d: 1 }],
    ["undefined, functions and symbols in arrays", [undefined, () => 1, Symbol("x")]],
    ["a sparse array", sparse],
    ["non-finite numbers", { a: NaN, b: Infinity, c: [-Infinity] }],
    ["boxed primitives", [new Number(1), new String("s"), new Boolean(false)]],
    ["bytes (Buffer.toJSON)", { data: Buffer.from([1, 2]) }],
    ["a typed array", { data: new Uint8Array([1, 2]) }],
    ["null-prototype objects", Object.assign(Object.create(null), { a: 1 })],
    ["plain JSON", { a: [1, "b", true, null, { c: {} }] }],
  ];

  it.each(corpus)("%s", (_what, value) => {
    expect(toJsonValue(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it("returns plain JSON as it is, without copying", () => {
    const value = { a: [1, { b: "c" }] };
    expect(toJsonValue(value)).toBe(value);
  });

  it("keeps an own __proto__ key as data", () => {
    const value = { nested: JSON.parse(`{"__proto__": {"polluted": true}}`) as object, at: new Date(0) };
    const json = toJsonValue(value) as { nested: object };
    expect(Object.getPrototypeOf(json.nested)).toBe(Object.prototype);
    expect(Object.keys(json.nested)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("gives undefined when JSON would send nothing", () => {
    expect(toJsonValue(undefined)).toBeUndefined();
    expect(toJsonValue(() => 1)).toBeUndefined();
  });

  const refused = (): [string, unknown, string, string, RegExp][] => {
    const cycle: Record<string, unknown> = { list: [] };
    (cycle.list as unknown[]).push({ back: cycle });
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    return [
      ["a Map", { a: { b: new Map() } }, "a Map", "a.b", /Object\.fromEntries/],
      ["a Set in an array", [1, new Set([1])], "a Set", "[1]", /\[\.\.\.set\]/],
      ["a BigInt", { n: [1n] }, "a BigInt", "n[0]", /String\(\) or Number\(\)/],
      ["a cycle", cycle, "a cycle", "list[0].back", /refers back to itself/],
      ["a throwing toJSON", { x: { toJSON: () => { throw new Error("boom"); } } }, "toJSON() threw (boom)", "x", /make toJSON\(\) return plain data/],
      ["nesting deeper than 256 levels", deep, "nesting deeper than 256 levels", "[0]".repeat(256), /flatter/],
    ];
  };
  it.each(refused())("refuses %s, naming where it was", (_case, value, what, at, hint) => {
    let error: unknown;
    try {
      toJsonValue(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotJsonError);
    expect((error as NotJsonError).what).toContain(what);
    expect((error as NotJsonError).at).toBe(at);
    expect((error as NotJsonError).message).toMatch(hint);
  });
});
