import "reflect-metadata";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { callOutcome, McpServer, Prompt, Resource, Server, text, Tool, ToolError, toolResult, UnsendableResultError, type CallOutcome, type MiddlewareFn } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

const AT = new Date("2026-03-04T05:06:07.000Z");

class Money {
  constructor(private readonly cents: number) {}
  toJSON() { return `${(this.cents / 100).toFixed(2)} EUR`; }
}

class Employee {
  constructor(readonly name: string, readonly hiredAt: Date) {}
}

const circular = (): object => {
  const node: Record<string, unknown> = { name: "loop" };
  node.self = node;
  return node;
};

@Server({ name: "results", version: "1.0.0" })
class Results {
  @Tool({ description: "A Date" }) date() { return AT; }
  @Tool({ description: "A Date inside an object" }) dated() { return { at: AT, items: [AT], skipped: undefined }; }
  @Tool({ description: "A class instance holding a Date" }) employee() { return new Employee("Ada", AT); }
  @Tool({ description: "toJSON returning a string" }) money() { return new Money(1250); }
  @Tool({ description: "A Map" }) map() { return new Map([["a", 1]]); }
  @Tool({ description: "A Set inside an object" }) tags() { return { id: 7, tags: new Set(["x"]) }; }
  @Tool({ description: "A BigInt deep inside" }) big() { return { rows: [{ n: 10n }] }; }
  @Tool({ description: "A cycle" }) cycle() { return circular(); }
  @Tool({ description: "A function" }) fn() { return () => 1; }
  @Tool({ description: "A malformed block" }) badBlock() { return toolResult({ content: [{ type: "text", text: 5 as unknown as string }] }); }
  @Tool({ description: "A content helper" }) helper() { return [text("fine")]; }
  @Tool({ description: "A result with a Map in structuredContent" }) badStructured() {
    return toolResult({ content: [text("see structured")], structuredContent: { when: AT, lookup: new Map() } });
  }

  @Tool({ description: "A ToolError with a detail holding a Date" }) refusedWithDate() { throw new ToolError("Not today", { until: AT }); }
  @Tool({ description: "A ToolError with a detail holding a Set" }) refusedWithSet() { throw new ToolError("Not these", { ids: new Set([1]) }); }

  @Resource("results://date") resourceDate() { return { at: AT }; }
  @Resource("results://map") resourceMap() { return { index: new Map() }; }
  @Resource("results://nothing") resourceNothing() { return undefined; }
  @Resource("results://bad-contents") resourceBadContents() { return { contents: [{ uri: "results://bad-contents", text: 5 }] }; }

  @Prompt({ description: "A fine prompt" }) fine() { return "Hello"; }
  @Prompt({ description: "A message with a made-up role" }) badRole() { return [{ role: "robot", content: { type: "text", text: "hi" } }]; }
  @Prompt({ description: "A number" }) number() { return 42; }
}

describe("the result boundary: what the client gets is what every middleware saw", () => {
  let client: TestClient;
  let seen: Map<string, CallOutcome>;
  let logged: unknown[];

  beforeEach(async () => {
    seen = new Map();
    logged = [];
    const observe: MiddlewareFn = async (ctx, next) => {
      try {
        const result = await next();
        seen.set(ctx.name, callOutcome(ctx));
        return result;
      } catch (error) {
        seen.set(ctx.name, callOutcome(ctx, error, true));
        throw error;
      }
    };
    const server = new McpServer(Results, { onInternalError: (_ctx, error) => logged.push(error) });
    server.use(observe);
    client = await createTestClient(server);
  });
  afterEach(async () => {
    await client.close();
    await client.server.close();
  });

  /** A resource or prompt whose result cannot be sent: -32603 naming it and why, recorded and logged as an error. */
  function expectUnsendable(error: unknown, kind: "resource" | "prompt", name: string, message: RegExp): void {
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InternalError);
    expect((error as McpError).message).toContain(`The ${kind} "${name}" returned a result that cannot be sent: `);
    expect((error as McpError).message).toMatch(message);
    const outcome = seen.get(name)!;
    expect(outcome.status).toBe("error");
    expect(outcome.error).toBeInstanceOf(UnsendableResultError);
    expect(logged).toEqual([outcome.error]);
  }

  it("sends a Date as its ISO string, as text", async () => {
    expect(await client.callTool("date")).toEqual({ content: [{ type: "text", text: AT.toISOString() }] });
    expect(seen.get("date")?.status).toBe("ok");
  });

  it("sends Dates inside structured content as JSON.stringify would, and the same JSON as text", async () => {
    const result = await client.callTool("dated");
    const expected = { at: AT.toISOString(), items: [AT.toISOString()] };
    expect(result.structuredContent).toEqual(expected);
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(expected);
    expect(seen.get("dated")?.status).toBe("ok");

    const employee = await client.callTool("employee");
    expect(employee.structuredContent).toEqual({ name: "Ada", hiredAt: AT.toISOString() });
  });

  it("sends what toJSON returns, even when it is not an object", async () => {
    expect(await client.callTool("money")).toEqual({ content: [{ type: "text", text: "12.50 EUR" }] });
    expect(seen.get("money")?.status).toBe("ok");
  });

  it.each([
    ["map", /a Map.*Object\.fromEntries/],
    ["tags", /a Set at "tags".*\[\.\.\.set\]/],
    ["big", /a BigInt at "rows\[0\]\.n"/],
    ["cycle", /a cycle at "self"/],
    ["fn", /a function, which JSON cannot carry/],
    ["bad_block", /not a valid tools\/call result \(content\.0: /],
    ["bad_structured", /a Map at "structuredContent\.lookup"/],
  ])("refuses %s: an isError result naming what and where, recorded as an error", async (tool, message) => {
    const result = await client.callTool(tool);
    expect(result.isError).toBe(true);
    const said = (result.content[0] as { text: string }).text;
    expect(said).toMatch(new RegExp(`^The tool "${tool}" returned a result that cannot be sent: `));
    expect(said).toMatch(message);
    const outcome = seen.get(tool)!;
    expect(outcome.status).toBe("error");
    expect(outcome.error).toBeInstanceOf(UnsendableResultError);
    expect((outcome.error as Error).message).toBe(said);
    // The server log hears of it as well, once.
    expect(logged.filter((error) => error === outcome.error)).toHaveLength(1);
  });

  it("passes content helpers through unchanged", async () => {
    expect(await client.callTool("helper")).toEqual({ content: [{ type: "text", text: "fine" }] });
    expect(seen.get("helper")?.status).toBe("ok");
  });

  it("sends a ToolError's detail as JSON, and leaves out (and logs) a detail JSON cannot carry", async () => {
    expect(await client.callTool("refused_with_date")).toEqual({
      content: [{ type: "text", text: "Not today" }],
      structuredContent: { error: { until: AT.toISOString() } },
      isError: true,
    });
    expect(await client.callTool("refused_with_set")).toEqual({ content: [{ type: "text", text: "Not these" }], isError: true });
    expect(seen.get("refused_with_set")?.status).toBe("error");
    expect(logged).toHaveLength(1);
    expect((logged[0] as Error).message).toMatch(/^The tool "refused_with_set" returned a result that cannot be sent: a Set at "structuredContent\.error\.ids"/);
  });

  it("reads a resource with Dates as JSON text", async () => {
    const { contents } = await client.client.readResource({ uri: "results://date" });
    expect(contents).toEqual([{ uri: "results://date", mimeType: "application/json", text: JSON.stringify({ at: AT.toISOString() }) }]);
    expect(seen.get("results://date")?.status).toBe("ok");
  });

  it.each([
    ["results://map", /a Map at "index"/],
    ["results://nothing", /undefined \(return a string, bytes, a JSON value or \{ contents \}\)/],
    ["results://bad-contents", /not a valid resources\/read result \(contents\.0/],
  ])("answers %s, which cannot be sent, with a clear -32603 recorded as an error", async (uri, message) => {
    expectUnsendable(await client.client.readResource({ uri }).catch((e: unknown) => e), "resource", uri, message);
  });

  it.each([
    ["bad_role", /not a valid prompts\/get result \(messages\.0\.role: /],
    ["number", /a prompt returns a string, a message \{ role, content \}/],
  ])("answers the prompt %s, which cannot be sent, with a clear -32603 recorded as an error", async (name, message) => {
    expectUnsendable(await client.client.getPrompt({ name }).catch((e: unknown) => e), "prompt", name, message);
    expect((await client.client.getPrompt({ name: "fine" })).messages).toHaveLength(1);
    expect(seen.get("fine")?.status).toBe("ok");
  });
});
