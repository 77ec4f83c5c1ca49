import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { IsInt, Min } from "class-validator";
import { McpServer, PrometheusMiddleware, Server, Tool, ToolError, type RunningServer } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { register as globalRegistry, Registry } from "prom-client";

class Amount { @IsInt() @Min(0) n!: number; }

let release: () => void = () => {};

@Server({ name: "prom", version: "1.0.0" })
class Shop {
  @Tool({ description: "ok" }) add(input: Amount) { return input.n + 1; }
  @Tool({ description: "throws" }) explode(_input: Amount): never { throw new ToolError("no"); }
  @Tool({ description: "waits until released" }) async hold() { await new Promise<void>((resolve) => { release = resolve; }); return "done"; }
}

const quiet = { onInternalError: () => {} };
const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** The value of one sample line of an exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const toolLabels = (text: string): Set<string> => new Set([...text.matchAll(/tool="([^"]*)"/g)].map((m) => m[1]!));

const open: (TestClient | { close(): Promise<void> })[] = [];
afterEach(async () => { await Promise.all(open.splice(0).map((c) => c.close())); });

async function inMemory(prometheus: PrometheusMiddleware): Promise<TestClient> {
  const client = await createTestClient(new McpServer(Shop, quiet).use(prometheus));
  open.push(client);
  return client;
}

describe("PrometheusMiddleware", () => {
  test("counts calls by tool and status, times them, and shows the seed's HELP lines", async () => {
    const prometheus = new PrometheusMiddleware({ namespace: "shop", registry: new Registry() });
    const client = await inMemory(prometheus);
    for (let i = 0; i < 3; i++) await client.callTool("add", { n: i });
    await client.callTool("explode", { n: 1 });
    await expect(client.callTool("add", { n: -5 })).rejects.toThrow();
    const text = await prometheus.getMetricsText();
    expect(text).toContain("# HELP shop_tool_calls_total Total MCP tool calls\n# TYPE shop_tool_calls_total counter");
    expect(text).toContain("# TYPE shop_tool_duration_seconds histogram");
    expect(text).toContain("# TYPE shop_tool_in_flight gauge");
    expect(sample(text, "shop_tool_calls_total", { tool: "add", status: "ok" })).toBe(3);
    expect(sample(text, "shop_tool_calls_total", { tool: "add", status: "error" })).toBe(1);
    expect(sample(text, "shop_tool_calls_total", { tool: "explode", status: "error" })).toBe(1);
    expect(sample(text, "shop_tool_calls_total", { tool: "hold", status: "ok" })).toBe(0);
    expect(sample(text, "shop_tool_duration_seconds_count", { tool: "add" })).toBe(4);
    expect(sample(text, "shop_tool_duration_seconds_bucket", { tool: "add", le: "+Inf" })).toBe(4);
    expect(sample(text, "shop_tool_duration_seconds_sum", { tool: "add" })).toBeGreaterThan(0);
    expect(sample(text, "shop_tool_in_flight", { tool: "add" })).toBe(0);
    expect(text).not.toContain("process_cpu");
  });

  test("only registered tool names become label values; no ids in labels", async () => {
    const prometheus = new PrometheusMiddleware({ registry: new Registry() });
    const client = await inMemory(prometheus);
    await client.callTool("add", { n: 1 });
    await expect(client.callTool("no_such_tool_" + "x".repeat(20))).rejects.toThrow(/Unknown tool/);
    const text = await prometheus.getMetricsText();
    expect([...toolLabels(text)].sort()).toEqual(["add", "explode", "hold"]);
    expect(text).not.toContain("no_such_tool");
    const labelNames = new Set([...text.matchAll(/[{,](\w+)="/g)].map((m) => m[1]));
    expect([...labelNames].sort()).toEqual(["le", "protocol_version", "reason", "replica", "status", "tool"]);
    // The replica is the label of one info series only, never of the call series.
    expect([...text.matchAll(/^(\w+)\{[^}]*replica="/gm)].map((m) => m[1])).toEqual(["mcp_replica_info"]);
    // The unknown name is counted as a refusal by its (bounded) reason, never by the name asked for.
    expect(sample(text, "mcp_refused_requests_total", { reason: "unknown_tool" })).toBe(1);
    // The protocol version of each call, from the short list the SDK accepts: a bounded label.
    expect(sample(text, "mcp_tool_calls_by_protocol_total", { tool: "add", protocol_version: "2025-11-25" })).toBe(1);
  });

  test("a tool added after the server started gets its own label", async () => {
    const prometheus = new PrometheusMiddleware({ registry: new Registry() });
    const client = await inMemory(prometheus);
    client.server.addTool({ name: "late", description: "added later", handler: () => "hi" });
    await client.callTool("late");
    client.server.addTool({ name: "later2", description: "added right after", handler: () => "hi" });
    await client.callTool("later2");
    const text = await prometheus.getMetricsText();
    expect(sample(text, "mcp_tool_calls_total", { tool: "late", status: "ok" })).toBe(1);
    expect(sample(text, "mcp_tool_calls_total", { tool: "later2", status: "ok" })).toBe(1);
  });

  test("in-flight rises while a call runs and returns to 0", async () => {
    const prometheus = new PrometheusMiddleware({ registry: new Registry() });
    const client = await inMemory(prometheus);
    const pending = client.callTool("hold");
    // Wait (bounded) until the tool is running: its in-flight gauge reads 1.
    let during: number | undefined;
    for (let i = 0; i < 200 && during !== 1; i++) {
      await new Promise((r) => setImmediate(r));
      during = sample(await prometheus.getMetricsText(), "mcp_tool_in_flight", { tool: "hold" });
    }
    expect(during).toBe(1);
    release();
    await pending;
    expect(sample(await prometheus.getMetricsText(), "mcp_tool_in_flight", { tool: "hold" })).toBe(0);
  });

  test("a custom registry keeps the global registry clean", async () => {
    const prometheus = new PrometheusMiddleware({ namespace: "isolated", registry: new Registry() });
    const client = await inMemory(prometheus);
    await client.callTool("add", { n: 1 });
    expect(await globalRegistry.metrics()).not.toContain("isolated_");
  });

  test("two middlewares on one registry share the metrics; a clashing metric fails at construction", async () => {
    const registry = new Registry();
    const a = new PrometheusMiddleware({ registry });
    const b = new PrometheusMiddleware({ registry });
    const one = await inMemory(a);
    const two = await inMemory(b);
    await one.callTool("add", { n: 1 });
    await two.callTool("add", { n: 1 });
    expect(sample(await a.getMetricsText(), "mcp_tool_calls_total", { tool: "add", status: "ok" })).toBe(2);
    expect(() => new PrometheusMiddleware({ registry, buckets: [1, 2] })).toThrow(/already has a metric "mcp_tool_duration_seconds".*own registry/);
    expect(() => new PrometheusMiddleware({ namespace: "9bad" })).toThrow(/not a valid Prometheus metric prefix/);
  });

  test("the same middleware twice in a chain counts a call once", async () => {
    const prometheus = new PrometheusMiddleware({ registry: new Registry() });
    const client = await createTestClient(new McpServer(Shop, quiet).use(prometheus).use(prometheus));
    open.push(client);
    await client.callTool("add", { n: 1 });
    expect(sample(await prometheus.getMetricsText(), "mcp_tool_calls_total", { tool: "add", status: "ok" })).toBe(1);
  });

  test("default process metrics are opt-in and prefixed", async () => {
    const registry = new Registry();
    new PrometheusMiddleware({ namespace: "withproc", registry, defaultMetrics: true });
    new PrometheusMiddleware({ namespace: "withproc", registry, defaultMetrics: true }); // shared, no duplicate error
    expect(await registry.metrics()).toContain("withproc_process_cpu_user_seconds_total");
  });

  test("metrics://prometheus serves the same text", async () => {
    const prometheus = new PrometheusMiddleware({ registry: new Registry() });
    const client = await inMemory(prometheus);
    await client.callTool("add", { n: 1 });
    const read = await client.client.readResource({ uri: "metrics://prometheus" });
    const text = (read.contents[0] as { text: string }).text;
    expect(sample(text, "mcp_tool_calls_total", { tool: "add", status: "ok" })).toBe(1);
  });
});

describe("GET /metrics over HTTP", () => {
  let running: RunningServer;
  let base: string;

  async function start(options: ConstructorParameters<typeof PrometheusMiddleware>[0]): Promise<void> {
    const server = new McpServer(Shop, quiet).use(new PrometheusMiddleware({ registry: new Registry(), ...options }));
    running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    open.push(server);
    base = `http://127.0.0.1:${running.port}`;
    const client = new Client({ name: "scraper-test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url!)));
    open.push(client);
    await client.callTool({ name: "add", arguments: { n: 1 } });
    await client.callTool({ name: "explode", arguments: { n: 1 } });
  }

  test("classic text by default, OpenMetrics when the scraper asks for it", async () => {
    await start({ namespace: "web" });
    const plain = await fetch(`${base}/metrics`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await plain.text();
    expect(sample(text, "web_tool_calls_total", { tool: "add", status: "ok" })).toBe(1);
    expect(sample(text, "web_tool_calls_total", { tool: "explode", status: "error" })).toBe(1);

    const om = await fetch(`${base}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(om.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const omText = await om.text();
    expect(omText).toContain("# TYPE web_tool_calls counter");
    expect(sample(omText, "web_tool_calls_total", { tool: "add", status: "ok" })).toBe(1);
    expect(omText.endsWith("# EOF\n")).toBe(true);
    // Rendering OpenMetrics leaves the classic format intact (prom-client would rename the counter).
    expect(await (await fetch(`${base}/metrics`)).text()).toContain("web_tool_calls_total{");
  });

  test("behind a bearer token: 401 without or with a wrong token, 200 with it", async () => {
    await start({ bearerToken: "s3cret-token" });
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await none.text()).not.toContain("s3cret");
    expect((await fetch(`${base}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: "Bearer s3cret-token" } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("mcp_tool_calls_total");
  });
});
