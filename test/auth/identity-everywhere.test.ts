import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import winston from "winston";
import {
  AuditMiddleware,
  AuthMiddleware,
  JWTAuth,
  LanternErrorCode,
  MetricsCollector,
  MetricsMiddleware,
  OTelMiddleware,
  StructuredLoggingMiddleware,
  type McpServer,
} from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { httpClient, listening, SECRET } from "./auth-fixtures.js";
import { jsonLineSink } from "../support/json-lines.js";

/**
 * The seed's combined stack, AuthMiddleware added last: the client id the token names must still be
 * what metrics, the span, the log line and the audit entry record, for calls that run and for calls
 * refused for a missing scope.
 */
const dir = mkdtempSync(join(tmpdir(), "lantern-auth-"));
const auditPath = join(dir, "audit.jsonl");
const lines: Record<string, unknown>[] = [];
const sink = jsonLineSink(lines);
const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const metrics = new MetricsCollector();

let server: McpServer;
let client: Client;

beforeAll(async () => {
  ({ server } = await listening([
    new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: sink })] }),
    new AuditMiddleware({ logPath: auditPath, hmacSecret: "audit-secret-for-the-auth-tests", headPath: false }),
    new OTelMiddleware({ tracerProvider }),
    new MetricsMiddleware(metrics),
    new AuthMiddleware(new JWTAuth({ secret: SECRET })),
  ]).then(async (s) => {
    client = await httpClient(s.url, await createToken({ secret: SECRET, audience: s.url, subject: "user-42", clientId: "agent-smith", scopes: ["notes:read"] }));
    return s;
  }));
  await client.callTool({ name: "who_am_i", arguments: {} });
  const refused = await client.callTool({ name: "write_note", arguments: { text: "x" } }).then(() => undefined, (e: { code?: number }) => e);
  // Over HTTP a missing scope is a 403 (step-up); the refusal still runs through the chain.
  expect(refused?.code).toBe(403);
  await client.close();
  await server.close();
});

afterAll(async () => {
  await tracerProvider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test("the metrics snapshot counts the client's calls, the refusal as an error", () => {
  expect(metrics.clients()["agent-smith"]).toMatchObject({ calls: 2, errors: 1 });
  expect(metrics.snapshot().tools.write_note).toMatchObject({ calls: 1, errors: 1 });
});

test("each call's span carries mcp.client.id", () => {
  const spans = exporter.getFinishedSpans().filter((s) => s.attributes["mcp.tool.name"] !== undefined);
  expect(spans.map((s) => [s.attributes["mcp.tool.name"], s.attributes["mcp.client.id"], s.attributes["mcp.tool.status"], s.attributes["error.type"]])).toEqual([
    ["who_am_i", "agent-smith", "ok", undefined],
    ["write_note", "agent-smith", "error", String(LanternErrorCode.Forbidden)],
  ]);
});

test("each call's log line carries client_id", () => {
  const calls = lines.filter((l) => l.tool !== undefined);
  expect(calls.map((l) => [l.tool, l.client_id, l.status])).toEqual([
    ["who_am_i", "agent-smith", "ok"],
    ["write_note", "agent-smith", "refused"],
  ]);
});

test("each call's audit entry carries client_id and the identity", () => {
  const entries = readFileSync(auditPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(entries.map((e) => [e.tool, e.client_id, e.status])).toEqual([
    ["who_am_i", "agent-smith", "ok"],
    ["write_note", "agent-smith", "refused"],
  ]);
  expect(entries[0]!.identity).toMatchObject({ subject: "user-42", scopes: ["notes:read"], method: "jwt" });
});
