import "reflect-metadata";
import { McpServer } from "lantern-mcp";

const server = (cacheHints: unknown) => new McpServer({ name: "cached", version: "1.0.0" }, { cacheHints: cacheHints as never });

describe("cacheHints", () => {
  it("takes a hint per cacheable operation", () => {
    expect(() => server({ "tools/list": { ttlMs: 60_000, cacheScope: "public" }, "resources/read": { ttlMs: 0 } })).not.toThrow();
  });

  it("refuses a misspelled operation or field, and values the protocol does not allow, naming them", () => {
    expect(() => server({ "tool/list": { ttlMs: 1000 } })).toThrow(/unknown option "cacheHints\.tool\/list"; did you mean "tools\/list"\?/);
    expect(() => server({ "tools/list": { ttl: 1000 } })).toThrow(/unknown option "cacheHints\.tools\/list\.ttl" \(the options are ttlMs, cacheScope\)/);
    expect(() => server({ "tools/list": { ttlMs: -1 } })).toThrow(/"cacheHints\.tools\/list\.ttlMs" must be a whole number of at least 0/);
    expect(() => server({ "tools/list": { cacheScope: "shared" } })).toThrow(/"cacheHints\.tools\/list\.cacheScope" must be one of "public", "private"/);
  });
});
