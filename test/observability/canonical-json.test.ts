import { canonicalJson, sortedKeys } from "../../src/observability/canonical-json.js";

describe("canonicalJson (RFC 8785)", () => {
  test("reproduces the RFC 8785 §3.2.2 example byte for byte", () => {
    const input = String.raw`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  test("sorts keys by UTF-16 code units, nested too (RFC 8785 §3.2.3 sample)", () => {
    const input = { "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis" };
    // JSON.parse would put the integer-like key first again; compare the serialised order instead.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","דּ":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalJson({ b: { d: 1, c: [{ z: 1, a: 2 }] }, a: null })).toBe('{"a":null,"b":{"c":[{"a":2,"z":1}],"d":1}}');
  });

  test("follows JSON.stringify's value model so the signed bytes match the line on disk", () => {
    const value = { when: new Date(0), skip: undefined, list: [undefined, () => 1, -0, Number.NaN], n: 1e21, small: 1e-7 };
    expect(canonicalJson(value)).toBe('{"list":[null,null,0,null],"n":1e+21,"small":1e-7,"when":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
    expect(() => canonicalJson({ big: 1n })).toThrow(/BigInt/);
  });

  test("a known key list gives the same bytes as the general path, whatever the object holds", () => {
    const keys = sortedKeys(["tool", "seq", "args", "when", "gone"]);
    const cases: unknown[] = [
      { tool: "echo", seq: 1, args: { b: 1, a: 2 } },
      { seq: 2, tool: "echo", extra: true },
      { when: new Date(0), gone: undefined, seq: 3 },
      Object.assign(Object.create({ inherited: 1 }), { tool: "x" }),
      { toJSON: () => ({ z: 1, a: 2 }) },
      [1, 2],
      "text",
    ];
    for (const value of cases) expect(canonicalJson(value, keys)).toBe(canonicalJson(value));
  });

  test("agrees with an independent canonicaliser on sorted, unsorted and special values alike", () => {
    // The oracle: JSON.stringify's value model (through a parse), then keys sorted by code units.
    const oracle = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(oracle).join(",")}]`;
      if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${oracle(record[k])}`).join(",")}}`;
      }
      return JSON.stringify(value);
    };
    // The known-key path (what the audit writer and the log sink use) must agree as well.
    const known = sortedKeys(["a", "b", "c", "v"]);
    const expectAgreement = (value: unknown) => {
      const expected = oracle(JSON.parse(JSON.stringify(value)));
      expect(canonicalJson(value)).toBe(expected);
      expect(canonicalJson(value, known)).toBe(expected);
    };
    const fixed: unknown[] = [
      { a: 1, b: { c: "x", d: [1, { e: null, f: true }] } },
      { a: { "1": 1, "10": 2, "2": 3 } },
      { a: { b: new Date(0) }, c: [new Number(1), new String("s"), new Boolean(false)] },
      { a: { b: { toJSON: () => ({ z: 1, a: [{ y: 2, b: 3 }] }) } } },
      { a: [undefined, () => 1, Symbol("s")], b: undefined, c: -0, d: Number.POSITIVE_INFINITY, e: 1e21 },
      { a: new Map([["k", 1]]), b: new Uint8Array([3, 1, 2]), c: Buffer.from("hi"), [Symbol("hidden")]: 1 },
      { a: "\u2028\ud800\u0007\"\\", "\u00e9": 1, "e\u0301": 2, Z: 3 },
      Object.defineProperty({ a: 1, c: 3 }, "b", { enumerable: false, value: 2 }),
      // A hidden known key and an unknown visible one: as many keys, not the same ones.
      Object.defineProperty({ x: 3, a: 1 }, "b", { enumerable: false, value: 2 }),
      { get a() { return { y: 1, x: 2 }; }, b: 1 },
      // Deeper than the sorted-order check looks, with an unsorted object at the bottom.
      { a: Array.from({ length: 40 }).reduce<unknown>((inner) => ({ x: inner }), { z: 1, a: 2 }) },
    ];
    for (const value of fixed) expectAgreement(value);
    // Random nested values from a seeded generator: sorted and unsorted objects, arrays, scalars.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const keyPool = ["a", "b", "z", "A", "_", "0", "1", "10", "é", "aa", "ab"];
    const generate = (depth: number): unknown => {
      switch (depth > 3 ? random(4) : random(7)) {
        case 0: return random(1000) - 500 + random(100) / 7;
        case 1: return ["x", "", "\n\"q\"", "ü\u0000"][random(4)];
        case 2: return [null, true, false, undefined][random(4)];
        case 3: return -0;
        case 4: return Array.from({ length: random(4) }, () => generate(depth + 1));
        default: {
          const keys = Array.from({ length: random(5) }, () => keyPool[random(keyPool.length)]!);
          if (random(2) === 0) keys.sort();
          const out: Record<string, unknown> = {};
          for (const k of keys) out[k] = generate(depth + 1);
          return out;
        }
      }
    };
    for (let i = 0; i < 2000; i++) expectAgreement({ v: generate(0) });
  });
});
