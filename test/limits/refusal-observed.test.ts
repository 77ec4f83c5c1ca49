import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import winston from "winston";
import {
  AuditMiddleware,
  DashboardTelemetry,
  LanternErrorCode,
  McpServer,
  MetricsCollector,
  MetricsMiddleware,
  OTelMiddleware,
  PrometheusMiddleware,
  QuotaMiddleware,
  StructuredLoggingMiddleware,
  type MetricsSnapshot,
} from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { Registry } from "prom-client";
import { jsonLineSink } from "../support/json-lines.js";
import { Limited, refusal } from "./limits-fixtures.js";

/**
 * A call refused by a limit runs through the chain like any refusal: counted in Prometheus and in
 * metrics://server, traced with the reason, logged and audited, all with status `rate_limited`.
 * One refusal by `@RateLimit` (echo, 3 an hour) and one by the role quota (2 a day).
 */
const dir = mkdtempSync(join(tmpdir(), "lantern-limits-"));
const auditPath = join(dir, "audit.jsonl");
const lines: Record<string, unknown>[] = [];
const sink = jsonLineSink(lines);
const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const metrics = new MetricsCollector();
const prometheus = new PrometheusMiddleware({ namespace: "lim", registry: new Registry() });
let server: McpServer;
let client: TestClient;
let telemetry: DashboardTelemetry;
let quota: QuotaMiddleware;
const refusals: { code: number; message: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  server = new McpServer(Limited);
  server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: sink })] }));
  server.use(new AuditMiddleware({ logPath: auditPath, hmacSecret: "audit-secret-for-the-limit-tests", headPath: false }));
  server.use(new OTelMiddleware({ tracerProvider }));
  server.use(prometheus);
  server.use(new MetricsMiddleware(metrics));
  quota = new QuotaMiddleware({ roles: { free: { points: 5, per: "1d" } } });
  server.use(quota);
  metrics.registerResource(server);
  telemetry = new DashboardTelemetry(server);
  telemetry.attach();
  client = await createTestClient(server, { identity: { clientId: "agent-7", roles: ["free"] } });
  for (let i = 0; i < 3; i++) await client.callTool("echo", { text: String(i) });
  refusals.push(await refusal(client.callTool("echo", { text: "4th" })));
  await client.callTool("free");
  refusals.push(await refusal(client.callTool("free")));
  await client.close();
  await server.close();
});

afterAll(async () => {
  await tracerProvider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const statuses = [
  ["echo", "ok"], ["echo", "ok"], ["echo", "ok"], ["echo", "rate_limited"], ["free", "ok"], ["free", "rate_limited"],
];

test("the client saw -32005 twice: the tool's limit, then the quota", () => {
  expect(refusals.map((r) => [r.code, r.data.limit])).toEqual([
    [LanternErrorCode.RateLimited, "tool:echo"],
    [LanternErrorCode.RateLimited, "quota:role:free"],
  ]);
});

test('Prometheus counts them under status="rate_limited"', async () => {
  const text = await prometheus.getMetricsText();
  expect(text).toContain('lim_tool_calls_total{tool="echo",status="ok"} 3');
  expect(text).toContain('lim_tool_calls_total{tool="echo",status="rate_limited"} 1');
  expect(text).toContain('lim_tool_calls_total{tool="free",status="rate_limited"} 1');
  expect(text).toContain('lim_tool_calls_total{tool="free",status="error"} 0');
});

test("metrics://server counts them as errors and as rate_limited", async () => {
  const snapshot = metrics.snapshot() as MetricsSnapshot;
  expect(snapshot.tools.echo).toMatchObject({ calls: 4, errors: 1, rate_limited: 1 });
  expect(snapshot.tools.free).toMatchObject({ calls: 2, errors: 1, rate_limited: 1 });
  expect(snapshot.tools.report).toMatchObject({ calls: 0, rate_limited: 0 });
});

test("each refusal's span carries the status and the reason", () => {
  const spans = exporter.getFinishedSpans().filter((s) => s.attributes["mcp.tool.name"] !== undefined);
  expect(spans.map((s) => [s.attributes["mcp.tool.name"], s.attributes["lantern.call.status"]])).toEqual(statuses);
  const refused = spans.filter((s) => s.attributes["lantern.call.status"] === "rate_limited");
  expect(refused.map((s) => [s.attributes["error.type"], s.status.message])).toEqual([
    [String(LanternErrorCode.RateLimited), refusals[0]!.message.replace(/^MCP error -32005: /, "")],
    [String(LanternErrorCode.RateLimited), refusals[1]!.message.replace(/^MCP error -32005: /, "")],
  ]);
  expect(refused[0]!.status.message).toContain('tool "echo" allows 3 calls per hour');
});

test("each call has a log line with its status", () => {
  expect(lines.filter((l) => l.tool !== undefined).map((l) => [l.tool, l.status])).toEqual(statuses);
  expect(String(lines.find((l) => l.status === "rate_limited")!.error)).toContain("Rate limited");
});

test("each call has an audit entry with its status and the refusal", () => {
  const entries = readFileSync(auditPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(entries.map((e) => [e.tool, e.status])).toEqual(statuses);
  const refused = entries.filter((e) => e.status === "rate_limited");
  expect(refused.map((e) => [e.client_id, (e.error as { type: string }).type])).toEqual([["agent-7", "-32005"], ["agent-7", "-32005"]]);
  expect((refused[1]!.error as { message: string }).message).toContain('Quota exceeded: role "free"');
});

test("the dashboard's Agents data counts each client's refusals; the quota's usage gives its standing against each limit", () => {
  expect(telemetry.snapshot().agents.find((a) => a.clientId === "agent-7")).toMatchObject({ requests: 6, errors: 2, rateLimited: 2 });
  const usage = quota.usage()["id:agent-7"]!;
  expect(usage.map((u) => [u.limit, u.points, u.remaining, u.refused])).toEqual([
    ["quota:role:free", 5, 0, 1],
    ["tool:echo", 3, 0, 1],
  ]);
  expect(Date.parse(usage[0]!.resetsAt)).toBeGreaterThan(Date.now());
});

test("the dashboard's Agents row carries the client's use of each limit, tightest first", () => {
  const row = telemetry.snapshot().agents.find((a) => a.clientId === "agent-7")!;
  // Both allowances are spent: the one that refills first (echo's hour) is the tighter.
  expect(row.limits!.map((l) => [l.limit, l.used, l.points, l.windowMs, l.refused])).toEqual([
    ["tool:echo", 3, 3, 3_600_000, 1],
    ["quota:role:free", 5, 5, 86_400_000, 1],
  ]);
  expect(row.limits![0]!.resetsAt).toBeGreaterThan(Date.now());
  expect(row.limits![0]!.resetsAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  expect(row.limits![1]!.resetsAt).toBeGreaterThan(row.limits![0]!.resetsAt);
});
