import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import winston from "winston";
import { verifyAuditLog, type McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { jsonLineSink } from "../support/json-lines.js";

const AUDIT_SECRET = "production-example-audit-secret-0123456789";
const JWT_SECRET = "production-example-jwt-secret-0123456789abcdef";

const tokenFor = (clientId: string, scopes: string[]) =>
  createToken({ secret: JWT_SECRET, clientId, subject: `${clientId}-user`, issuer: "lantern-dev", audience: "inventory-api", scopes });

const textOf = (result: ReadResourceResult): string => (result.contents[0] as { text: string }).text;

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "production-example-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

describe("examples/production-api (full stack over HTTP)", () => {
  let dir: string;
  let server: McpServer;
  let url: string;
  let base: string;
  let logLines: Record<string, unknown>[];
  const clients: Client[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "lantern-production-"));
    logLines = [];
    const sink = jsonLineSink(logLines);
    ({ server } = createProductionServer({
      auditPath: join(dir, "audit", "audit.jsonl"),
      auditSecret: AUDIT_SECRET,
      jwtSecret: JWT_SECRET,
      durability: "flush",
      logTransports: [new winston.transports.Stream({ stream: sink })],
    }));
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    url = running.url!;
    base = `http://127.0.0.1:${running.port}`;
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves valid calls, refuses a missing scope, counts both and audits every call in a verifiable chain", async () => {
    const writer = await connect(url, await tokenFor("warehouse-bot", ["inventory:read", "inventory:write"]));
    const reader = await connect(url, await tokenFor("report-bot", ["inventory:read"]));
    clients.push(writer, reader);

    const { tools } = await writer.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["adjust_stock", "discontinue_item", "find_items", "reconcile"]);

    const found = (await reader.callTool({ name: "find_items", arguments: { query: "lamp", limit: 1 } })) as CallToolResult;
    expect(found.structuredContent).toEqual({ items: [{ sku: "LMP-001", name: "Desk lamp", quantity: 42, warehouse: "berlin" }] });

    const adjusted = (await writer.callTool({ name: "adjust_stock", arguments: { sku: "LMP-002", delta: 3, reason: "delivery 7731" } })) as CallToolResult;
    expect(adjusted.structuredContent).toEqual({ sku: "LMP-002", name: "Floor lamp", quantity: 10, warehouse: "berlin" });

    const tooMany = (await writer.callTool({ name: "adjust_stock", arguments: { sku: "LMP-002", delta: -11, reason: "breakage" } })) as CallToolResult;
    expect(tooMany).toMatchObject({ isError: true, content: [{ type: "text", text: "only 10 of LMP-002 in stock" }] });

    // Over HTTP a missing scope is HTTP 403 insufficient_scope (OAuth step-up), -32003 in its body.
    const refusal = (await reader.callTool({ name: "adjust_stock", arguments: { sku: "LMP-001", delta: 1, reason: "sneaky" } }).catch((e: unknown) => e)) as { code?: number; message: string };
    expect(refusal.code).toBe(403);
    expect(refusal.message).toContain('"code":-32003');
    expect(refusal.message).toContain('requires scope \\"inventory:write\\"');

    const item = await reader.readResource({ uri: "inventory://items/BLB-100" });
    expect(JSON.parse(textOf(item))).toMatchObject({ sku: "BLB-100", quantity: 1200 });
    const prompt = await reader.getPrompt({ name: "restock", arguments: { sku: "LMP-002" } });
    expect(JSON.stringify(prompt.messages)).toContain("Floor lamp (now 10 in stock)");

    // metrics://server counts every tool call, the refusal and the tool error as errors.
    const snapshot = JSON.parse(textOf(await reader.readResource({ uri: "metrics://server" })));
    expect(snapshot.tools.find_items).toMatchObject({ calls: 1, errors: 0 });
    expect(snapshot.tools.adjust_stock).toMatchObject({ calls: 3, errors: 2 });
    expect(snapshot.tools.reconcile).toMatchObject({ calls: 0, errors: 0 });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('inventory_tool_calls_total{tool="find_items",status="ok"} 1');
    expect(metrics).toContain('inventory_tool_calls_total{tool="adjust_stock",status="ok"} 1');
    expect(metrics).toContain('inventory_tool_calls_total{tool="adjust_stock",status="error"} 2');
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; inFlight: number; sessions: number };
    expect(health).toMatchObject({ status: "ok", inFlight: 0, sessions: 2 });

    const auditPath = join(dir, "audit", "audit.jsonl");
    const entries = readFileSync(auditPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
    const calls = entries.filter((e) => e.kind === "tool").map((e) => [e.tool, e.client_id, e.status]);
    expect(calls).toEqual([
      ["find_items", "report-bot", "ok"],
      ["adjust_stock", "warehouse-bot", "ok"],
      ["adjust_stock", "warehouse-bot", "error"],
      ["adjust_stock", "report-bot", "refused"],
    ]);
    // The reason is redacted before signing; the identity comes from the token.
    const adjustEntry = entries.find((e) => e.tool === "adjust_stock")!;
    expect(adjustEntry.args).toEqual({ sku: "LMP-002", delta: 3, reason: "[REDACTED]" });
    expect(adjustEntry.identity).toMatchObject({ subject: "warehouse-bot-user", issuer: "lantern-dev", method: "jwt" });
    expect(entries.find((e) => e.status === "refused")!.error).toMatchObject({ type: "-32003" });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // The server still runs: its head may lag the last entries, which `live` accepts as a note.
    const verification = await verifyAuditLog(auditPath, { secret: AUDIT_SECRET, live: true });
    expect(verification.problems).toEqual([]);
    expect(verification.ok).toBe(true);
    expect(verification.entries).toBe(entries.length);

    // One structured log line per tool call, with the caller and the redaction applied.
    const toolLines = logLines.filter((l) => l.event === "tool_call");
    expect(toolLines.map((l) => [l.tool, l.client_id, l.status])).toEqual(calls);
    expect(JSON.stringify(logLines)).not.toContain("delivery 7731");
  });

  it("answers params the SDK's schema refuses with -32602, and audits a refused call however deep its arguments nest", async () => {
    const token = await tokenFor("careless-bot", ["inventory:read"]);
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    const client = new Client({ name: "careless", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    const post = async (message: object | string) => {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${token}`,
          "mcp-session-id": transport.sessionId!,
          "mcp-protocol-version": "2025-06-18",
        },
        body: typeof message === "string" ? message : JSON.stringify(message),
      });
      const data = (await response.text()).split("\n").find((l) => l.startsWith("data: "))!;
      return JSON.parse(data.slice(6)) as { error?: { code: number; message: string; data?: unknown } };
    };

    const noName = await post({ jsonrpc: "2.0", id: "a", method: "tools/call", params: { arguments: {} } });
    expect(noName.error).toMatchObject({ code: -32602, message: expect.stringMatching(/^Invalid params for tools\/call: params\.name: /) });
    expect(noName.error!.data).toEqual([{ property: "params.name", constraints: { invalid_type: expect.any(String) } }]);
    const badLevel = await post({ jsonrpc: "2.0", id: "b", method: "logging/setLevel", params: { level: "loud" } });
    expect(badLevel.error).toMatchObject({ code: -32602, message: expect.stringMatching(/^Invalid params for logging\/setLevel: params\.level: /) });

    // 100,000 nested arrays: refused by the validator, and the refusal still makes it into the trail.
    const deep = await post(`{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"find_items","arguments":{"query":${"[".repeat(100_000)}1${"]".repeat(100_000)}}}}`);
    expect(deep.error).toMatchObject({ code: -32602, message: expect.stringMatching(/^Arguments nest deeper than 64 levels/) });
    const auditPath = join(dir, "audit", "audit.jsonl");
    const entry = readFileSync(auditPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>).find((e) => e.request_id === "c")!;
    expect(entry).toMatchObject({ tool: "find_items", status: "error", error: { type: "-32602" } });
    expect(JSON.stringify(entry.args)).toContain('"[TOO DEEP]"');
    expect((await verifyAuditLog(auditPath, { secret: AUDIT_SECRET, live: true })).ok).toBe(true);
  });

  it("answers 401 with a challenge, before any session, to a call without a valid token", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "anon", version: "1" } } }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const wrongAudience = await createToken({ secret: JWT_SECRET, clientId: "x", issuer: "lantern-dev", audience: "another-api" });
    await expect(connect(url, wrongAudience)).rejects.toThrow();
    const health = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
    expect(health.sessions).toBe(0);
  });
});
