import "reflect-metadata";
import { IsInt, IsString, Max, Min } from "class-validator";
import { DashboardTelemetry, McpServer, Param, Resource, Server, Tool, ToolError } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Lookup {
  @IsString() query!: string;
  @IsInt() @Min(1) @Max(10) limit = 1;
}

@Server({ name: "watched", version: "2.0.0" })
class Watched {
  @Tool({ description: "finds things" })
  find(input: Lookup) { return `found ${input.query}`; }

  @Tool({ description: "always fails", scopes: ["ops:write"] })
  explode() { throw new Error("disk on fire"); }

  @Resource("things://{id}", { mimeType: "text/plain" })
  thing(@Param("id") id: string) {
    if (id === "missing") throw new ToolError("no such thing");
    return `thing ${id}`;
  }
}

const servers: McpServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function watched(options: ConstructorParameters<typeof DashboardTelemetry>[1] = {}) {
  const server = new McpServer(Watched, { onInternalError: () => {} });
  servers.push(server);
  const telemetry = new DashboardTelemetry(server, options);
  const detach = telemetry.attach();
  const connect = async (name: string) => {
    // The identity grants the scope "explode" needs; its client id is the session's name.
    const client = await createTestClient(server, { clientInfo: { name, version: "1.0.0" }, identity: { clientId: name, scopes: ["ops:write"] } });
    clients.push(client);
    return client;
  };
  return { server, telemetry, detach, connect };
}

test("calls made by real clients show up in totals, tools, agents, the request log and errors", async () => {
  const { telemetry, connect } = await watched();
  const alice = await connect("alice");
  const bob = await connect("bob");
  await alice.callTool("find", { query: "keys" });
  await alice.callTool("find", { query: "wallet", limit: 2 });
  await alice.callTool("explode");
  await bob.callTool("find", { query: "x", limit: 99 }).catch(() => undefined); // -32602
  await bob.client.readResource({ uri: "things://7" });
  await bob.client.readResource({ uri: "things://missing" }).catch(() => undefined);

  const s = telemetry.snapshot();
  expect(s.server).toMatchObject({ name: "watched", version: "2.0.0", transport: "memory" });
  expect(s.totals).toEqual({ calls: 6, errors: 3 });
  expect(s.tools).toEqual([
    expect.objectContaining({ name: "find", scopes: [], calls: 3, errors: 1 }),
    expect.objectContaining({ name: "explode", scopes: ["ops:write"], calls: 1, errors: 1 }),
  ]);
  expect(s.tools[0]!.avgMs).toBeGreaterThan(0);
  expect(s.tools[0]!.p95Ms).toBeGreaterThan(0);
  expect(s.connectedSessions).toBe(2);
  expect(s.connectedClients).toBe(2);
  // Most recently active first.
  expect(s.agents.map((a) => [a.clientId, a.sessions, a.connected, a.requests, a.errors, a.toolsUsed])).toEqual([
    ["bob", 1, 1, 3, 2, ["find"]],
    ["alice", 1, 1, 3, 1, ["explode", "find"]],
  ]);
  expect(s.requests.map((r) => [r.clientId, r.kind, r.name, r.status])).toEqual([
    ["alice", "tool", "find", "ok"],
    ["alice", "tool", "find", "ok"],
    ["alice", "tool", "explode", "error"],
    ["bob", "tool", "find", "error"],
    ["bob", "resource", "things://7", "ok"],
    ["bob", "resource", "things://missing", "error"],
  ]);
  expect(s.requests[2]!.error).toBe("tool_error: disk on fire");
  expect(s.requests[3]!.error).toMatch(/^-32602: /);
  // Argument values never reach the log.
  expect(JSON.stringify(s.requests)).not.toContain("wallet");
  // error types are the core's (the same `error.type` tracing records).
  // The refused call and the missing resource are both -32602 (not found is invalid params since MCP 2026-07-28).
  expect(s.errorsByType).toEqual(expect.arrayContaining([{ type: "tool_error", count: 1 }, { type: "-32602", count: 2 }]));
  expect(s.errorsByType.reduce((sum, e) => sum + e.count, 0)).toBe(3);
  expect(s.errorsByTool).toEqual(expect.arrayContaining([{ name: "find", count: 1 }, { name: "explode", count: 1 }, { name: "resources/read", count: 1 }]));
  expect(s.latency.p50).toBeGreaterThan(0);
  const durations = s.requests.map((r) => r.durationMs);
  expect(s.latency.max).toBe(Math.max(...durations));
  expect(s.latency.avg).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / durations.length, 6);
  expect(s.series.calls.reduce((a, b) => a + b, 0)).toBe(6);
  expect(s.callsPerSecond).toBeGreaterThan(0);
});

test("a closed session is no longer connected, its client keeps its history", async () => {
  const { telemetry, connect } = await watched();
  const alice = await connect("alice");
  await alice.callTool("find", { query: "a" });
  expect(telemetry.snapshot().connectedSessions).toBe(1);
  await alice.client.close();
  const s = telemetry.snapshot();
  expect(s.connectedSessions).toBe(0);
  expect(s.agents).toEqual([expect.objectContaining({ clientId: "alice", connected: 0, requests: 1 })]);
});

test("a session that closes while the store is detached is not connected after it re-attaches", async () => {
  const { telemetry, detach, connect } = await watched();
  const alice = await connect("alice");
  expect(telemetry.snapshot().connectedSessions).toBe(1);
  detach();
  await alice.client.close();
  const again = telemetry.attach();
  expect(telemetry.snapshot().connectedSessions).toBe(0);
  again();
});

test("every buffer is bounded: the request log keeps the newest, the client table forgets the least recently active", async () => {
  const { telemetry, connect } = await watched({ requestLogSize: 3, maxAgents: 2 });
  const a = await connect("a");
  const b = await connect("b");
  for (let i = 0; i < 5; i++) await a.callTool("find", { query: `q${i}`, limit: i + 1 });
  await b.callTool("find", { query: "b" });
  const c = await connect("c");
  await c.callTool("find", { query: "c" });
  const s = telemetry.snapshot();
  expect(s.requests.map((r) => r.clientId)).toEqual(["a", "b", "c"]);
  expect(s.agents.map((r) => r.clientId)).toEqual(["c", "b"]);
  expect(s.totals.calls).toBe(7);
  for (let i = 0; i < 3000; i++) telemetry.recordRawLog("console.log", "info", `line ${i}`);
  const lines = telemetry.snapshot({ rawLogs: 5000 }).rawLogs;
  expect(lines).toHaveLength(200);
  expect(lines[0]!.text).toBe("line 2800");
  expect(lines.at(-1)!.text).toBe("line 2999");
});

test("per-second history follows the clock and forgets seconds older than the window", async () => {
  let now = new Date(2025, 0, 15, 12, 0, 0).getTime();
  const { telemetry, connect } = await watched({ now: () => now, historySeconds: 60 });
  const a = await connect("a");
  await a.callTool("find", { query: "1" });
  await a.callTool("explode");
  now += 2_000;
  await a.callTool("find", { query: "2" });
  let s = telemetry.snapshot();
  expect(s.series.calls).toHaveLength(60);
  expect(s.series.calls.slice(-3)).toEqual([2, 0, 1]);
  expect(s.series.errors.slice(-3)).toEqual([1, 0, 0]);
  expect(s.series.latencyMaxMs.at(-1)).toBeGreaterThan(0);
  expect(s.callsPerSecond).toBeCloseTo(3 / 2, 5);
  now += 61_000;
  s = telemetry.snapshot();
  expect(s.series.calls.reduce((x, y) => x + y, 0)).toBe(0);
  expect(s.callsPerSecond).toBe(0);
  expect(s.totals.calls).toBe(3);
});

test("a detached store stops observing: calls after the last consumer left are not counted", async () => {
  const { telemetry, detach, connect } = await watched();
  const a = await connect("a");
  await a.callTool("find", { query: "seen" });
  const second = telemetry.attach();
  detach();
  await a.callTool("find", { query: "still seen" });
  second();
  await a.callTool("find", { query: "unseen" });
  expect(telemetry.snapshot().totals.calls).toBe(2);
});

test("DashboardTelemetry.for gives one store per server", () => {
  const server = new McpServer(Watched);
  expect(DashboardTelemetry.for(server)).toBe(DashboardTelemetry.for(server));
  expect(DashboardTelemetry.for(new McpServer(Watched))).not.toBe(DashboardTelemetry.for(server));
});

test("DashboardTelemetry.for sizes the store when it creates it, and refuses options it could no longer apply", () => {
  const server = new McpServer(Watched);
  const telemetry = DashboardTelemetry.for(server, { rawLogSize: 2 });
  for (const text of ["a", "b", "c"]) telemetry.recordRawLog("stderr", "info", text);
  expect(telemetry.snapshot().rawLogs.map((l) => l.text)).toEqual(["b", "c"]);
  expect(() => DashboardTelemetry.for(server, { rawLogSize: 500 })).toThrow('DashboardTelemetry.for: the telemetry store of server "watched" already exists, so these options cannot apply');
  expect(DashboardTelemetry.for(server)).toBe(telemetry);
});

test("a snapshot's limits are checked: an unknown or negative one is refused by name", () => {
  const telemetry = new DashboardTelemetry(new McpServer(Watched));
  expect(() => telemetry.snapshot({ histogram: true } as never)).toThrow('DashboardTelemetry.snapshot limits: unknown option "histogram"; did you mean "histograms"?');
  expect(() => telemetry.snapshot({ requests: -1 })).toThrow('DashboardTelemetry.snapshot limits: "requests" must be a whole number of at least 0, got the number -1');
  expect(telemetry.snapshot({ histograms: true }).latency.histogram).toEqual({ count: 0, sum: 0, min: 0, max: 0, buckets: [] });
});
