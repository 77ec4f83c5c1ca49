import "reflect-metadata";
import { createHmac } from "node:crypto";
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IsString } from "class-validator";
import { ProtocolError as McpError } from "@modelcontextprotocol/client";
import { Audited, AuditMiddleware, McpServer, Param, Resource, Server, Tool, verifyAuditLog } from "lantern-mcp";
import { auditKeyId, GENESIS_HASH } from "../../../src/observability/audit/audit-entry.js";
import { AuditLog, type AuditRecord } from "../../../src/observability/audit/audit-log.js";
import { canonicalJson } from "../../../src/observability/canonical-json.js";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { readEntries, SECRET, tempDir } from "./helpers.js";

class Echo {
  @IsString() text!: string;
}

class Registration {
  @IsString() name!: string;
  @IsString() ssn!: string;
}

@Server({ name: "audit-test", version: "1.0.0" })
class Clinic {
  @Tool({ description: "echo" }) echo(input: Echo) { return input.text; }
  @Tool({ description: "always fails" }) fail(input: Echo) { throw new Error(`boom ${input.text}`); }
  @Tool({ description: "needs a scope", scopes: ["records:write"] }) write(_input: Echo) { return "written"; }
  @Tool({ description: "a large result" }) big(_input: Echo) { return { blob: "x".repeat(10_000) }; }
  @Tool({ description: "register" }) register(input: Registration) { return { id: "p-9", name: input.name }; }
  @Resource("clinic://rooms/{id}", { mimeType: "application/json" }) room(@Param("id") id: string) { return { id }; }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(options: ConstructorParameters<typeof AuditMiddleware>[0] = {}, cls: Function = Clinic) {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const logPath = join(dir, "audit.jsonl");
  const reports: string[] = [];
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, onReport: (m) => reports.push(m), ...options });
  const server = new McpServer(cls, { onInternalError: () => {} });
  server.use(audit);
  return { dir, logPath, audit, server, reports };
}

async function connect(server: McpServer, options: Parameters<typeof createTestClient>[1] = {}): Promise<TestClient> {
  const client = await createTestClient(server, options);
  cleanups.push(() => client.close());
  return client;
}

const refusal = (promise: Promise<unknown>) => promise.then(() => { throw new Error("expected a JSON-RPC error"); }, (error: unknown) => error as McpError);

describe("AuditMiddleware: one signed, chained entry per call", () => {
  test("records who, what, when and how each call ended, refusals included, in an HMAC-SHA256 chain", async () => {
    const { logPath, audit, server } = setup({ includeArgs: true });
    const client = await connect(server, {
      identity: { clientId: "nurse-app", subject: "nurse-7", issuer: "https://idp.example", scopes: ["records:read"] },
    });
    expect((await client.callTool("echo", { text: "hi" })).isError).toBeFalsy();
    expect((await client.callTool("fail", { text: "x" })).isError).toBe(true);
    expect((await refusal(client.callTool("write", { text: "y" }))).code).toBe(-32003);
    expect((await refusal(client.callTool("echo", { text: 42 }))).code).toBe(-32602);
    await client.client.readResource({ uri: "clinic://rooms/12" });

    const entries = readEntries(logPath);
    expect(entries.map((e) => [e.seq, e.kind, e.tool, e.status])).toEqual([
      [1, "tool", "echo", "ok"],
      [2, "tool", "fail", "error"],
      [3, "tool", "write", "refused"],
      [4, "tool", "echo", "error"],
      [5, "resource", "clinic://rooms/12", "ok"],
    ]);
    const [ok, failed, refused, invalid] = entries;
    expect(ok).toMatchObject({
      client_id: "nurse-app",
      args: { text: "hi" },
      identity: { subject: "nurse-7", issuer: "https://idp.example", scopes: ["records:read"], method: "test" },
      key_id: auditKeyId(SECRET),
      prev_hash: GENESIS_HASH,
    });
    expect(typeof ok!.request_id).toBe("string");
    expect(new Date(ok!.timestamp).toISOString()).toBe(ok!.timestamp);
    expect(ok!.duration_s).toBeGreaterThanOrEqual(0);
    expect(ok!.error).toBeUndefined();
    expect(failed!.error).toEqual({ type: "tool_error", message: "Error: boom x" });
    expect(refused!.error).toMatchObject({ type: "-32003" });
    expect(refused!.error!.message).toMatch(/records:write/);
    expect(invalid!.error).toMatchObject({ type: "-32602" });

    // The documented algorithm, recomputed independently: HMAC over RFC 8785 JSON without `hmac`.
    let prev = GENESIS_HASH;
    for (const entry of entries) {
      const { hmac, ...body } = entry;
      expect(entry.prev_hash).toBe(prev);
      expect(createHmac("sha256", SECRET).update(canonicalJson(body)).digest("hex")).toBe(hmac);
      prev = hmac;
    }
    const verified = await audit.verifyChainReport();
    expect(verified.problems).toEqual([]);
    expect(verified).toMatchObject({ ok: true, entries: 5, lastSeq: 5, lastHmac: prev });
    // The head file beside the log records the tail.
    expect(JSON.parse(readFileSync(`${logPath}.head.json`, "utf8"))).toMatchObject({ seq: 5, hmac: prev });
  });

  test("redacts named argument fields before signing and cuts large results with a marker", async () => {
    const { logPath, server } = setup({ includeArgs: true, includeResult: true, redact: ["ssn"], resultLimitBytes: 256 });
    const client = await connect(server);
    await client.callTool("register", { name: "Ada", ssn: "123-45-6789" });
    await client.callTool("big", { text: "z" });
    const [registered, big] = readEntries(logPath);
    expect(registered!.args).toEqual({ name: "Ada", ssn: "[REDACTED]" });
    expect(readFileSync(logPath, "utf8")).not.toContain("123-45-6789");
    expect(registered!.result).toMatchObject({ structuredContent: { id: "p-9", name: "Ada" } });
    expect(big!.result).toMatchObject({ $truncated: true, limit: 256 });
    expect((big!.result as { bytes: number }).bytes).toBeGreaterThan(10_000);
    expect((big!.result as { preview: string }).preview).toHaveLength(256);
  });

  test("@Audited on class and method merges options, and a call covered by both is audited once", async () => {
    @Server({ name: "decorated", version: "1.0.0" })
    @Audited({ includeArgs: true })
    class Decorated {
      @Tool({ description: "with args" }) first(input: Echo) { return input.text; }
      @Tool({ description: "without args" }) @Audited({ includeArgs: false, includeResult: true }) second(input: Echo) { return input.text; }
    }
    const { logPath, server } = setup({}, Decorated);
    const client = await connect(server);
    await client.callTool("first", { text: "a" });
    await client.callTool("second", { text: "b" });
    const entries = readEntries(logPath);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ tool: "first", args: { text: "a" } });
    expect(entries[0]!.result).toBeUndefined();
    expect(entries[1]!.args).toBeUndefined();
    expect(entries[1]!.result).toMatchObject({ content: [{ type: "text", text: "b" }] });
  });

  test("@Audited alone writes audit.jsonl signed with LANTERN_AUDIT_SECRET; without it building fails naming the variable", async () => {
    @Server({ name: "decorator-only", version: "1.0.0" })
    class DecoratorOnly {
      @Tool({ description: "audited" }) @Audited() audited(input: Echo) { return input.text; }
      @Tool({ description: "not audited" }) plain(input: Echo) { return input.text; }
    }
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const cwd = process.cwd();
    const saved = process.env.LANTERN_AUDIT_SECRET;
    cleanups.push(() => {
      process.chdir(cwd);
      if (saved === undefined) delete process.env.LANTERN_AUDIT_SECRET;
      else process.env.LANTERN_AUDIT_SECRET = saved;
    });
    process.chdir(dir);
    delete process.env.LANTERN_AUDIT_SECRET;
    await expect(createTestClient(DecoratorOnly)).rejects.toThrow(/LANTERN_AUDIT_SECRET/);
    expect(() => new AuditMiddleware()).toThrow(/LANTERN_AUDIT_SECRET/);
    expect(() => new AuditMiddleware({ hmacSecret: "short" })).toThrow(/at least 16/);

    process.env.LANTERN_AUDIT_SECRET = SECRET;
    const client = await createTestClient(DecoratorOnly);
    cleanups.push(() => client.close());
    await client.callTool("audited", { text: "a" });
    await client.callTool("plain", { text: "b" });
    await client.close();
    const entries = readEntries(join(dir, "audit.jsonl"));
    expect(entries.map((e) => e.tool)).toEqual(["audited"]);
    expect((await verifyAuditLog(join(dir, "audit.jsonl"), { secret: SECRET })).ok).toBe(true);
  });

  test("a decorator cannot redirect the trail: sink options belong to the instance", () => {
    // Refused where the class is declared, naming class, method and key.
    expect(() => {
      class Redirect {
        @Tool({ description: "x" }) @Audited({ logPath: "elsewhere.jsonl" } as never) x(input: Echo) { return input.text; }
      }
      return Redirect;
    }).toThrow(/@Audited options of Redirect\.x: unknown option "logPath": logPath belongs to the AuditMiddleware instance/);
  });

  test("1,000 concurrent calls give 1,000 entries, seq 1…1000 in file order, chain intact", async () => {
    const { logPath, audit, server } = setup({ durability: "fsync" });
    const client = await connect(server);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.callTool("echo", { text: `call-${i}` })));
    expect(results.every((r) => !r.isError)).toBe(true);
    const entries = readEntries(logPath);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.request_id)).size).toBe(1000);
    // Group commit: concurrent entries share writes (and their syncs).
    expect(audit.log.stats.entries).toBe(1000);
    expect(audit.log.stats.writes).toBeLessThan(250);
    const verified = await audit.verifyChainReport({ window: 64 });
    expect(verified.problems).toEqual([]);
    expect(verified.entries).toBe(1000);
  });

  test.each(["flush", "none"] as const)("durability %s keeps order and chain; close() writes what is queued", async (durability) => {
    const { logPath, audit, server } = setup({ durability });
    const client = await connect(server);
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.callTool("echo", { text: `${i}` })));
    await server.close();
    expect(readEntries(logPath).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await audit.verifyChain()).toBe(true);
  });

  test("flush mode: a lone caller's write does not wait a turn of the event loop; calls ending in one turn share a write again", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const log = new AuditLog({ path: join(dir, "audit.jsonl"), key: { id: "k1", secret: SECRET }, durability: "flush", headPath: false, report: () => undefined });
    cleanups.push(() => log.close());
    await log.open();
    let n = 0;
    const record = (): AuditRecord => ({ timestamp: new Date().toISOString(), kind: "tool", tool: "echo", client_id: "c", request_id: `${++n}`, status: "ok", duration_s: 0 });
    // Callers ending in separate callbacks of one turn: `count` appends, awaited together.
    const oneTurn = (count: number) => Promise.all(Array.from({ length: count }, () => new Promise<void>((done) => setImmediate(done)).then(() => log.append(record()))));

    await log.append(record()); // from idle: waits a turn, and its write carries it alone
    const order: string[] = [];
    setImmediate(() => order.push("next turn"));
    await log.append(record());
    order.push("written");
    expect(order).toEqual(["written"]);
    await new Promise((done) => setImmediate(done));

    // Eight callers end in one turn: at first each writes at once, then they wait for each other.
    let writes = log.stats.writes;
    await oneTurn(8);
    expect(log.stats.writes - writes).toBe(8);
    await new Promise((done) => setImmediate(done));
    writes = log.stats.writes;
    await oneTurn(8);
    expect(log.stats.writes - writes).toBe(1);
    await log.close();
    expect(readEntries(join(dir, "audit.jsonl")).map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  test("verifyChain() is false once an entry was changed, and the report names it", async () => {
    const { logPath, audit, server } = setup({ durability: "flush" });
    const client = await connect(server);
    for (let i = 0; i < 3; i++) await client.callTool("echo", { text: `${i}` });
    await server.close();
    expect(await audit.verifyChain()).toBe(true);
    const lines = readFileSync(logPath, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"status":"ok"', '"status":"error"');
    writeFileSync(logPath, lines.join("\n"));
    expect(await audit.verifyChain()).toBe(false);
    const report = await audit.verifyChainReport();
    expect(report.problems.map((p) => [p.kind, p.line, p.seq])).toEqual([["modified", 2, 2]]);
  });
});

describe("AuditMiddleware: restarts, crashes, failures and rotation", () => {
  test("a restarted server continues the chain; a torn last line is reported and set aside, not glued", async () => {
    const first = setup();
    const c1 = await connect(first.server);
    for (let i = 0; i < 3; i++) await c1.callTool("echo", { text: `${i}` });
    await c1.close();
    await first.server.close();
    const before = readEntries(first.logPath);
    const torn = '{"seq":4,"timestamp":"2025-01-01T00:00:00.000Z","tool":"ec';
    appendFileSync(first.logPath, torn);

    const reports: string[] = [];
    const audit = new AuditMiddleware({ logPath: first.logPath, hmacSecret: SECRET, onReport: (m) => reports.push(m) });
    const server = new McpServer(Clinic).use(audit);
    const c2 = await connect(server);
    await c2.callTool("echo", { text: "after restart" });
    await server.close();

    const after = readEntries(first.logPath);
    expect(after).toHaveLength(4);
    expect(after[3]).toMatchObject({ seq: 4, prev_hash: before[2]!.hmac });
    expect(reports.join("\n")).toMatch(/torn line/);
    const aside = readdirSync(first.dir).filter((name) => name.includes(".torn-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(first.dir, aside[0]!), "utf8")).toBe(torn);
    expect((await audit.verifyChainReport()).problems).toEqual([]);
  });

  test("a failed write fails the call with a clear error, is reported, and does not advance the chain", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const reports: string[] = [];
    // /dev/full accepts open() and fails every write with ENOSPC: a real full disk.
    const audit = new AuditMiddleware({ logPath: "/dev/full", headPath: join(dir, "head.json"), hmacSecret: SECRET, onReport: (m) => reports.push(m) });
    const server = new McpServer(Clinic).use(audit);
    const client = await connect(server);
    const error = await refusal(client.callTool("echo", { text: "never unaudited" }));
    expect(error.code).toBe(-32603);
    expect(error.message).toMatch(/could not be recorded in the audit log \(ENOSPC\)/);
    expect(reports.join("\n")).toMatch(/could not write 1 entry to \/dev\/full.*ENOSPC.*chain did not advance/);
    expect(audit.log.lastSeq).toBe(0);
    const again = await refusal(client.callTool("echo", { text: "still not" }));
    expect(again.code).toBe(-32603);
    expect(audit.log.lastSeq).toBe(0);
  });

  test("rotation by size continues the chain across files, and the verifier takes the set", async () => {
    const { dir, logPath, audit, server } = setup({ rotate: { maxBytes: 2000 }, includeArgs: true });
    const client = await connect(server);
    for (let i = 0; i < 30; i++) await client.callTool("echo", { text: `rotating ${i}` });
    const files = await audit.log.files();
    expect(files.length).toBeGreaterThan(2);
    expect(files.at(-1)).toBe(logPath);
    for (const file of files.slice(0, -1)) expect(statSync(file).size).toBeLessThanOrEqual(2000);
    const firstFile = readEntries(files[0]!);
    const secondFile = readEntries(files[1]!);
    expect(secondFile[0]!.prev_hash).toBe(firstFile.at(-1)!.hmac);
    expect(secondFile[0]!.seq).toBe(firstFile.at(-1)!.seq + 1);
    // Shuffled on the command line, e.g. from a glob: ordered by seq, head file recognised (and current).
    await audit.flush();
    const shuffled = [...files].reverse().concat(join(dir, "audit.jsonl.head.json"));
    const verified = await verifyAuditLog(shuffled, { secret: SECRET });
    expect(verified.problems).toEqual([]);
    expect(verified).toMatchObject({ ok: true, entries: 30, firstSeq: 1, lastSeq: 30 });
    expect(verified.heads).toHaveLength(1);
  });
});
