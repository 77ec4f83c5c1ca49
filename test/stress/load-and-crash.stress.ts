import "reflect-metadata";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { verifyAuditLog } from "lantern-mcp";
import {
  AUDIT_SECRET,
  auditPathIn,
  connectClient,
  JWT_SECRET,
  readAudit,
  sample,
  sizeFromEnv,
  startServerProcess,
  stopServerProcess,
  textOf,
  tokenFor,
  type AuditLine,
  type ServerProcess,
} from "./stress-support.js";

const CLIENTS = sizeFromEnv("STRESS_CLIENTS", 64);
const CALLS_PER_CLIENT = sizeFromEnv("STRESS_CALLS_PER_CLIENT", 25);
const SECRETS = { LANTERN_AUDIT_SECRET: AUDIT_SECRET, LANTERN_JWT_SECRET: JWT_SECRET };

/** What one client got answers for: the marker query of each find, and how many stock changes. */
interface Answered {
  sessionId: string;
  finds: string[];
  adjusts: number;
}

/**
 * One client's calls, one after another: mostly `find_items` with a query naming the call (so the
 * audit entry of each answered call can be found), every fifth an `adjust_stock` of +1.
 * Stops at the first call that fails when `stopOnFailure`, else rethrows.
 */
async function drive(client: Client, sessionId: string, index: number, calls: number, onAnswer: () => void, stopOnFailure = false): Promise<Answered> {
  const answered: Answered = { sessionId, finds: [], adjusts: 0 };
  for (let i = 0; i < calls; i++) {
    const adjust = i % 5 === 4;
    const query = `probe-${index}-${i}`;
    let result: CallToolResult;
    try {
      result = (await (adjust
        ? client.callTool({ name: "adjust_stock", arguments: { sku: "BLB-100", delta: 1, reason: `restock ${index}-${i}` } })
        : client.callTool({ name: "find_items", arguments: { query } }))) as CallToolResult;
    } catch (error) {
      if (stopOnFailure) break;
      throw error;
    }
    if (result.isError) throw new Error(`call ${index}-${i} failed: ${JSON.stringify(result.content)}`);
    if (adjust) answered.adjusts++;
    else answered.finds.push(query);
    onAnswer();
  }
  return answered;
}

/** Every tool entry of the trail, grouped by session. */
function bySession(entries: AuditLine[]): Map<string, AuditLine[]> {
  const sessions = new Map<string, AuditLine[]>();
  for (const entry of entries) {
    if (entry.kind !== "tool") continue;
    const list = sessions.get(entry.session_id ?? "") ?? [];
    list.push(entry);
    sessions.set(entry.session_id ?? "", list);
  }
  return sessions;
}

describe("the production example under load, and killed mid-load", () => {
  let dir: string;
  let servers: ServerProcess[] = [];
  let clients: Client[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lantern-stress-"));
  });

  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
    for (const server of servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
      await server.exited;
    }
    servers = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string> = SECRETS) => {
    const server = await startServerProcess(dir, env);
    servers.push(server);
    return server;
  };

  const connectAll = async (url: string, count: number) => {
    const connected = await Promise.all(
      Array.from({ length: count }, async (_, i) => connectClient(url, await tokenFor(`agent-${i % 8}`), `load-${i}`)),
    );
    clients.push(...connected.map((c) => c.client));
    return connected;
  };

  it(`${CLIENTS} concurrent clients × ${CALLS_PER_CLIENT} calls: no errors, every call audited once, metrics and logs equal the calls made`, async () => {
    const server = await start();
    const connected = await connectAll(server.url, CLIENTS);
    const results = await Promise.all(connected.map(({ client, sessionId }, i) => drive(client, sessionId, i, CALLS_PER_CLIENT, () => undefined)));

    const finds = results.reduce((n, r) => n + r.finds.length, 0);
    const adjusts = results.reduce((n, r) => n + r.adjusts, 0);
    expect(finds + adjusts).toBe(CLIENTS * CALLS_PER_CLIENT);

    // Every write happened exactly once.
    const [first] = connected;
    const stock = (await first!.client.callTool({ name: "find_items", arguments: { query: "BLB-100" } })) as CallToolResult;
    expect((stock.structuredContent as { items: { quantity: number }[] }).items[0]!.quantity).toBe(1200 + adjusts);

    const snapshot = JSON.parse(textOf(await first!.client.readResource({ uri: "metrics://server" })));
    expect(snapshot.tools.find_items).toMatchObject({ calls: finds + 1, errors: 0 });
    expect(snapshot.tools.adjust_stock).toMatchObject({ calls: adjusts, errors: 0 });
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    expect(sample(metrics, 'inventory_tool_calls_total{tool="find_items",status="ok"}')).toBe(finds + 1);
    expect(sample(metrics, 'inventory_tool_calls_total{tool="adjust_stock",status="ok"}')).toBe(adjusts);
    expect(sample(metrics, 'inventory_tool_calls_total{tool="find_items",status="error"}')).toBe(0);
    expect(sample(metrics, 'inventory_tool_duration_seconds_count{tool="find_items"}')).toBe(finds + 1);
    const health = (await (await fetch(`${server.base}/healthz`)).json()) as { inFlight: number; sessions: number };
    expect(health).toEqual({ status: "ok", replica: expect.any(String), inFlight: 0, sessions: CLIENTS, connections: CLIENTS });

    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await stopServerProcess(server);
    expect((await server.exited).code).toBe(0);

    // The audit trail: one entry per call, found by session and by the call's own query.
    const entries = readAudit(auditPathIn(dir));
    const sessions = bySession(entries);
    for (const result of results) {
      const own = sessions.get(result.sessionId) ?? [];
      const expectedFinds = result.finds.length + (result === results[0] ? 1 : 0);
      expect(own.filter((e) => e.tool === "find_items")).toHaveLength(expectedFinds);
      expect(own.filter((e) => e.tool === "adjust_stock")).toHaveLength(result.adjusts);
      expect(new Set(own.map((e) => e.request_id)).size).toBe(own.length);
      const queries = new Set(own.map((e) => e.args?.query));
      for (const query of result.finds) expect(queries.has(query)).toBe(true);
      expect(own.every((e) => e.status === "ok")).toBe(true);
    }
    expect([...sessions.values()].reduce((n, list) => n + list.length, 0)).toBe(finds + adjusts + 1);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // The server still runs: its head may lag the last entries (live).
    const verification = await verifyAuditLog(auditPathIn(dir), { secret: AUDIT_SECRET, live: true });
    expect(verification.problems).toEqual([]);
    expect(verification).toMatchObject({ ok: true, entries: entries.length, lastSeq: entries.length });

    // One structured log line per tool call, all ok.
    expect(Object.fromEntries(server.logged)).toEqual({ ok: finds + adjusts + 1 });
  });

  it("SIGKILL mid-load, then a restart on the same data: the trail verifies, holds every answered call, and its chain continues", async () => {
    const perClient = CALLS_PER_CLIENT * 2;
    const killAfter = Math.floor((CLIENTS * perClient) / 2);
    const server = await start();
    const connected = await connectAll(server.url, CLIENTS);
    let answeredSoFar = 0;
    const onAnswer = () => {
      if (++answeredSoFar === killAfter) server.child.kill("SIGKILL");
    };
    const driving = Promise.all(connected.map(({ client, sessionId }, i) => drive(client, sessionId, i, perClient, onAnswer, true)));
    expect((await server.exited).signal).toBe("SIGKILL");
    await server.drained;
    // A call whose stream broke would wait for the SDK's request timeout; closing the clients ends it now.
    await Promise.allSettled(clients.map((c) => c.close()));
    clients = [];
    const results = await driving;
    const answered = results.reduce((n, r) => n + r.finds.length + r.adjusts, 0);
    expect(answered).toBeGreaterThanOrEqual(killAfter);
    expect(answered).toBeLessThan(CLIENTS * perClient);

    // What the kill left: a chain that verifies, holding every call that got an answer.
    const auditPath = auditPathIn(dir);
    const before = readAudit(auditPath);
    const afterKill = await verifyAuditLog(auditPath, { secret: AUDIT_SECRET });
    // The head is updated off the calls' path: a kill may leave it behind the log, which is said and nothing else.
    expect(afterKill.problems.filter((p) => p.kind !== "torn-last-line" && p.kind !== "stale-head")).toEqual([]);
    const sessions = bySession(before);
    for (const result of results) {
      const own = sessions.get(result.sessionId) ?? [];
      const queries = new Set(own.map((e) => e.args?.query));
      for (const query of result.finds) expect(queries.has(query)).toBe(true);
      expect(own.filter((e) => e.tool === "adjust_stock").length).toBeGreaterThanOrEqual(result.adjusts);
    }
    const lastBefore = before[before.length - 1]!;
    expect(lastBefore.seq).toBe(before.length);

    // A write cut short by the crash: half an entry without its newline.
    appendFileSync(auditPath, `{"args":{"query":"torn"},"client_id":"agent-0","duration_s":0.0001,"kind":"tool","prev_hash":"${lastBefore.hmac}","req`);

    const restarted = await start();
    const { client } = await connectClient(restarted.url, await tokenFor("after-restart"), "after-restart");
    clients.push(client);
    for (let i = 0; i < 3; i++) {
      const result = (await client.callTool({ name: "find_items", arguments: { query: `after-restart-${i}` } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
    }
    await client.close();
    clients = [];
    await stopServerProcess(restarted);
    expect((await restarted.exited).code).toBe(0);

    // The restart set the torn line aside and said so.
    const torn = readdirSync(join(dir, "audit")).filter((f) => f.includes(".torn-"));
    expect(torn).toHaveLength(1);
    expect(readFileSync(join(dir, "audit", torn[0]!), "utf8")).toContain('"query":"torn"');
    expect(restarted.notices.join("\n")).toMatch(/torn/i);

    // The chain continues: seq goes on from the last entry before the kill and links to it.
    const after = readAudit(auditPath);
    expect(after.slice(0, before.length)).toEqual(before);
    const resumed = after.slice(before.length);
    expect(resumed.map((e) => [e.seq, e.args?.query])).toEqual([0, 1, 2].map((i) => [before.length + 1 + i, `after-restart-${i}`]));
    expect(resumed[0]!.prev_hash).toBe(lastBefore.hmac);
    const verification = await verifyAuditLog(auditPath, { secret: AUDIT_SECRET });
    expect(verification.problems).toEqual([]);
    expect(verification).toMatchObject({ ok: true, entries: before.length + 3, lastSeq: before.length + 3 });
  });

  it("npm start on a fresh data folder: generates development secrets, writes a working token to a 0600 file (never to stderr), and keeps both across restarts", async () => {
    const first = await start({});
    const tokenFile = join(dir, "dev-token.txt");
    const token = readFileSync(tokenFile, "utf8").trim();
    expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(first.notices.join("\n")).toContain("generated development secrets");
    expect(first.notices.join("\n")).toContain(tokenFile);
    expect(first.notices.join("\n")).not.toContain(token);
    const { client } = await connectClient(first.url, token!, "operator");
    clients.push(client);
    const found = (await client.callTool({ name: "find_items", arguments: { query: "lamp" } })) as CallToolResult;
    expect((found.structuredContent as { items: unknown[] }).items).toHaveLength(2);
    const adjusted = (await client.callTool({ name: "adjust_stock", arguments: { sku: "LMP-001", delta: -2, reason: "sold" } })) as CallToolResult;
    expect(adjusted.structuredContent).toMatchObject({ quantity: 40 });
    await client.close();
    clients = [];
    await stopServerProcess(first);
    expect((await first.exited).code).toBe(0);

    const second = await start({});
    expect(second.notices.join("\n")).not.toContain("generated development secrets");
    const secondToken = readFileSync(tokenFile, "utf8").trim();
    expect(second.notices.join("\n")).not.toContain(secondToken);
    const reconnected = await connectClient(second.url, secondToken, "operator");
    clients.push(reconnected.client);
    await reconnected.client.callTool({ name: "find_items", arguments: { query: "bulb" } });
    await reconnected.client.close();
    clients = [];
    await stopServerProcess(second);

    const secrets = JSON.parse(readFileSync(join(dir, "dev-secrets.json"), "utf8")) as { audit: string };
    const verification = await verifyAuditLog(auditPathIn(dir), { secret: secrets.audit });
    expect(verification.problems).toEqual([]);
    expect(verification.entries).toBe(3);
    expect(readAudit(auditPathIn(dir)).map((e) => [e.tool, e.client_id])).toEqual([
      ["find_items", "dev-agent"],
      ["adjust_stock", "dev-agent"],
      ["find_items", "dev-agent"],
    ]);
  });
});
