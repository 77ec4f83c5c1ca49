import "reflect-metadata";
import { IsInt, IsString, Min } from "class-validator";
import {
  Inject, McpServer, Metered, MetricsCollector, MetricsMiddleware, Param, Prompt, Resource, Server, Tool, ToolError,
  type MetricsSnapshot,
} from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Amount { @IsInt() @Min(0) n!: number; }
class Topic { @IsString() topic!: string; }

@Server({ name: "metered", version: "1.0.0" })
class Shop {
  @Tool({ description: "ok" }) add(input: Amount) { return { n: input.n + 1 }; }
  @Tool({ description: "throws" }) explode(_input: Amount): never { throw new Error("boom"); }
  @Tool({ description: "isError via ToolError" }) refuse(_input: Amount): never { throw new ToolError("no"); }
  @Tool({ description: "reads the collector" }) stats(@Inject(MetricsCollector) metrics: MetricsCollector) {
    return { addCalls: metrics.snapshot().tools.add?.calls ?? 0 };
  }
  @Resource("shop://items/{id}", { mimeType: "application/json" }) item(@Param("id") id: string) { return { id }; }
  @Prompt({ description: "p" }) pitch(args: Topic) { return `Sell ${args.topic}`; }
}

const quiet = { onInternalError: () => {} };
const open: TestClient[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((c) => c.close())); });

async function connect(server: McpServer, clientName = "agent-a"): Promise<TestClient> {
  const client = await createTestClient(server, { clientInfo: { name: clientName, version: "1" } });
  open.push(client);
  return client;
}

async function readSnapshot(client: TestClient): Promise<MetricsSnapshot> {
  const read = await client.client.readResource({ uri: "metrics://server" });
  expect(read.contents[0]).toMatchObject({ uri: "metrics://server", mimeType: "application/json" });
  return JSON.parse((read.contents[0] as { text: string }).text) as MetricsSnapshot;
}

describe("MetricsMiddleware over the wire", () => {
  test("counts calls and errors per tool, serves metrics://server, injects the collector", async () => {
    const metrics = new MetricsCollector();
    const server = new McpServer(Shop, quiet).use(new MetricsMiddleware(metrics));
    metrics.registerResource(server);
    const client = await connect(server);

    for (let i = 0; i < 3; i++) await client.callTool("add", { n: i });
    expect((await client.callTool("explode", { n: 1 })).isError).toBe(true);
    expect((await client.callTool("refuse", { n: 1 })).isError).toBe(true);
    await expect(client.callTool("add", { n: -1 })).rejects.toThrow(/n must not be less than 0/);
    expect((await client.callTool("stats")).structuredContent).toEqual({ addCalls: 4 });

    const resources = await client.client.listResources();
    expect(resources.resources.find((r) => r.uri === "metrics://server")).toMatchObject({ mimeType: "application/json" });
    const snapshot = await readSnapshot(client);
    expect(snapshot.tools.add).toMatchObject({ calls: 4, errors: 1 });
    expect(snapshot.tools.explode).toMatchObject({ calls: 1, errors: 1 });
    expect(snapshot.tools.refuse).toMatchObject({ calls: 1, errors: 1 });
    expect(snapshot.tools.stats).toMatchObject({ calls: 1, errors: 0 });
    expect(snapshot.tools.add!.avg_latency_ms).toBeGreaterThan(0);
    expect(snapshot.tools.add!.p99_latency_ms).toBeGreaterThanOrEqual(snapshot.tools.add!.p50_latency_ms);
    // Resource reads and prompt gets are never mixed into tools.
    expect(Object.keys(snapshot.tools).sort()).toEqual(["add", "explode", "refuse", "stats"]);
    // Per client every kind counts: 7 tool calls and the metrics://server read.
    expect(metrics.clients()["agent-a"]).toMatchObject({ calls: 8, errors: 3 });
  });

  test("resource reads and prompt gets have their own sections", async () => {
    const metrics = new MetricsCollector();
    const server = new McpServer(Shop, quiet).use(new MetricsMiddleware(metrics));
    const client = await connect(server);
    await client.client.readResource({ uri: "shop://items/1" });
    await client.client.readResource({ uri: "shop://items/2" });
    await client.client.getPrompt({ name: "pitch", arguments: { topic: "lamps" } });
    const snapshot = metrics.snapshot();
    expect(snapshot.resources["shop://items/{id}"]).toMatchObject({ calls: 2, errors: 0 });
    expect(snapshot.prompts.pitch).toMatchObject({ calls: 1, errors: 0 });
    expect(snapshot.tools.add).toMatchObject({ calls: 0 });
  });

  test("one server with two clients: one collector, per-client figures", async () => {
    const metrics = new MetricsCollector();
    const server = new McpServer(Shop, quiet).use(new MetricsMiddleware(metrics));
    const a = await connect(server, "agent-a");
    const b = await connect(server, "agent-b");
    await a.callTool("add", { n: 1 });
    await b.callTool("add", { n: 1 });
    await b.callTool("explode", { n: 1 });
    expect(metrics.snapshot().tools.add!.calls).toBe(2);
    expect(metrics.clients()).toMatchObject({ "agent-a": { calls: 1, errors: 0 }, "agent-b": { calls: 2, errors: 1 } });
  });
});

@Server({ name: "decorated", version: "1.0.0" })
@Metered()
class Decorated {
  @Tool({ description: "counted" }) @Metered() work(input: Amount) { return input.n; }
  @Tool({ description: "left out" }) @Metered({ enabled: false }) ping() { return "pong"; }
  @Tool({ description: "reads the collector" }) stats(@Inject(MetricsCollector) metrics: MetricsCollector) {
    return { workCalls: metrics.snapshot().tools.work?.calls ?? 0 };
  }
}

describe("@Metered", () => {
  test("with a server-wide MetricsMiddleware a call is counted once; enabled:false leaves it out", async () => {
    const metrics = new MetricsCollector();
    const server = new McpServer(Decorated).use(new MetricsMiddleware(metrics));
    const client = await connect(server);
    await client.callTool("work", { n: 1 });
    await client.callTool("work", { n: 2 });
    await client.callTool("ping");
    expect(metrics.snapshot().tools.work).toMatchObject({ calls: 2 });
    expect(metrics.snapshot().tools.ping).toMatchObject({ calls: 0 });
  });

  test("the same middleware instance twice in a chain still counts a call once", async () => {
    const mw = new MetricsMiddleware();
    const server = new McpServer(Shop, quiet).use(mw).use(mw);
    const client = await connect(server);
    await client.callTool("add", { n: 1 });
    expect(mw.collector.snapshot().tools.add!.calls).toBe(1);
  });

  test("without a server-wide middleware a shared collector records, and tools can inject it", async () => {
    const client = await connect(new McpServer(Decorated));
    await client.callTool("work", { n: 1 });
    await client.callTool("ping");
    expect((await client.callTool("stats")).structuredContent).toEqual({ workCalls: 1 });
  });

  test("the first tool of a class may inject the collector its own @Metered provides", async () => {
    @Server({ name: "first", version: "1.0.0" })
    class First {
      @Tool({ description: "reads the collector" }) @Metered()
      stats(@Inject(MetricsCollector) metrics: MetricsCollector) { return { calls: metrics.snapshot().tools.stats?.calls ?? 0 }; }
    }
    const client = await connect(new McpServer(First));
    await client.callTool("stats");
    expect((await client.callTool("stats")).structuredContent).toEqual({ calls: 1 });
  });
});
