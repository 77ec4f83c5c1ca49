import "reflect-metadata";
import { IsString } from "class-validator";
import { DefinitionError, LanternErrorCode, McpServer, RateLimit, Server, Tool } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { callsUntilRefused, Limited, refusal } from "./limits-fixtures.js";

class Query {
  @IsString() q!: string;
}

const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

async function clientOf(server: McpServer, clientId: string): Promise<TestClient> {
  const client = await createTestClient(server, { identity: { clientId } });
  clients.push(client);
  return client;
}

describe("@RateLimit on a tool, in process memory", () => {
  test("a caller gets exactly its points, then -32005 naming the limit and when to retry", async () => {
    const server = new McpServer(Limited);
    const alice = await clientOf(server, "alice");
    expect(await callsUntilRefused(alice, "echo", { text: "hi" })).toBe(3);
    const error = await refusal(alice.callTool("echo", { text: "hi" }));
    expect(error.code).toBe(LanternErrorCode.RateLimited);
    expect(error.message).toContain('tool "echo" allows 3 calls per hour for each caller; retry in');
    expect(error.data).toMatchObject({ limit: "tool:echo", points: 3, windowMs: 3_600_000 });
    expect(error.data.retryAfterMs).toBeGreaterThan(0);
    expect(error.data.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect((await alice.callTool("free")).isError).toBeFalsy();
    await server.close();
  });

  test("another caller has its own bucket; sessions of one caller share one", async () => {
    const server = new McpServer(Limited);
    const alice = await clientOf(server, "alice");
    await alice.callTool("echo", { text: "1" });
    await alice.callTool("echo", { text: "2" });
    const aliceAgain = await clientOf(server, "alice");
    expect(await callsUntilRefused(aliceAgain, "echo", { text: "3" })).toBe(1);
    const bob = await clientOf(server, "bob");
    expect(await callsUntilRefused(bob, "echo", { text: "b" })).toBe(3);
    await server.close();
  });

  test("cost weighs each call: 4 points of 10 allow two calls", async () => {
    const server = new McpServer(Limited);
    const alice = await clientOf(server, "alice");
    expect(await callsUntilRefused(alice, "report")).toBe(2);
    await server.close();
  });

  test("on a class it limits each tool separately; a method's own @RateLimit replaces it", async () => {
    @RateLimit({ points: 2, per: "1m" })
    @Server({ name: "class-limited", version: "1.0.0" })
    class ClassLimited {
      @Tool({ description: "a" }) a() { return "a"; }
      @Tool({ description: "b" }) b() { return "b"; }
      @RateLimit({ points: 5, per: "1h" })
      @Tool({ description: "c" }) c() { return "c"; }
    }
    const server = new McpServer(ClassLimited);
    const alice = await clientOf(server, "alice");
    expect(await callsUntilRefused(alice, "a")).toBe(2);
    expect(await callsUntilRefused(alice, "b")).toBe(2);
    const error = await refusal(alice.callTool("a"));
    expect(error.data).toMatchObject({ limit: "tool:a", windowMs: 60_000 });
    expect(await callsUntilRefused(alice, "c")).toBe(5);
    await server.close();
  });

  test("per accepts 1s, 1m, 1h, 1d and whole seconds in ms", async () => {
    const windows = { "1s": 1_000, "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000, 90000: 90_000 } as const;
    for (const per of ["1s", "1m", "1h", "1d", 90_000] as const) {
      @Server({ name: "ok", version: "1.0.0" })
      class Ok {
        @RateLimit({ points: 1, per }) @Tool({ description: "x" }) x() { return "x"; }
      }
      const server = new McpServer(Ok);
      const alice = await clientOf(server, "alice");
      // The window is the one asked for: the second call in it is refused, naming it.
      expect((await alice.callTool("x")).isError).toBeFalsy();
      expect((await refusal(alice.callTool("x"))).data).toMatchObject({ limit: "tool:x", points: 1, windowMs: windows[per] });
      await server.close();
    }
  });
});

describe("@RateLimit mistakes fail when the server is built, naming class, method and value", () => {
  const build = (cls: Function) => () => new McpServer(cls);

  test.each([
    ["2m", 'per "2m" is not a window; use "1s", "1m", "1h", "1d" or a number of milliseconds'],
    ["1 minute", 'per "1 minute" is not a window'],
    [1500, "per 1500 is not a window; a number of milliseconds must be a whole number of seconds"],
    [0, "per 0 is not a window"],
  ])("per %p", (per, reason) => {
    @Server({ name: "bad", version: "1.0.0" })
    class BadWindow {
      @RateLimit({ points: 1, per: per as string })
      @Tool({ description: "search" })
      search(input: Query) { return input.q; }
    }
    expect(build(BadWindow)).toThrow(DefinitionError);
    expect(build(BadWindow)).toThrow(`Cannot register tool "search" on BadWindow.search: @RateLimit: ${reason}`);
  });

  test("on the class, the message says so", () => {
    @RateLimit({ points: 1, per: "5m" })
    @Server({ name: "bad", version: "1.0.0" })
    class BadClass {
      @Tool({ description: "x" }) x() { return "x"; }
    }
    expect(build(BadClass)).toThrow('Cannot register tool "x" on BadClass.x: @RateLimit on BadClass: per "5m" is not a window');
  });

  test("points, cost and unknown options", () => {
    const withOptions = (options: object) => {
      @Server({ name: "bad", version: "1.0.0" })
      class Bad {
        @RateLimit(options as never) @Tool({ description: "x" }) x() { return "x"; }
      }
      return build(Bad);
    };
    expect(withOptions({ points: 0, per: "1m" })).toThrow("@RateLimit: points must be a positive whole number, got 0");
    expect(withOptions({ points: 2.5, per: "1m" })).toThrow("points must be a positive whole number, got 2.5");
    expect(withOptions({ points: 3, per: "1m", cost: 4 })).toThrow("@RateLimit: cost must be a whole number from 1 to points (3), got 4");
    expect(withOptions({ points: 3, per: "1m", burst: 4 })).toThrow('@RateLimit has unknown option "burst"; it takes points, per and cost');
  });
});
