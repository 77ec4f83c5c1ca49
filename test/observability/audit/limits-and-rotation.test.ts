import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IsString, MaxLength } from "class-validator";
import type { ProtocolError as McpError } from "@modelcontextprotocol/client";
import { Audited, AuditMiddleware, McpServer, Server, Tool, verifyAuditLog, type AuditHead, type AuditOptions, type AuditWitness } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";
import { run as auditCommand } from "../../../src/cli/commands/audit.js";
import { readEntries, SECRET, tempDir } from "./helpers.js";

class Note {
  @IsString() @MaxLength(100) text!: string;
}

class Blob {
  @IsString() data!: string;
}

@Server({ name: "notes", version: "1.0.0" })
class Notes {
  @Tool({ description: "store a short note" }) store(input: Note) { return { stored: input.text.length }; }
  @Tool({ description: "store a blob" }) blob(input: Blob) { return { stored: input.data.length }; }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(options: AuditOptions, cls: Function = Notes) {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const logPath = join(dir, "audit.jsonl");
  const reports: string[] = [];
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, includeArgs: true, onReport: (m) => reports.push(m), ...options });
  const server = new McpServer(cls, { onInternalError: () => {} }).use(audit);
  const client = await createTestClient(server);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close();
    await server.close();
  };
  cleanups.push(close);
  return { dir, logPath, audit, client, reports, close };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => { throw new Error("expected a JSON-RPC error"); }, (error: unknown) => error as McpError);

describe("argsLimitBytes: arguments of any call, refused ones included, cannot fill the disk", () => {
  test("a refused call with 1 MiB of arguments is recorded in under 20 KB, with the size and sha256 of what was sent", async () => {
    const { logPath, client, close } = await open({});
    const text = "x".repeat(1024 * 1024);
    expect((await refusal(client.callTool("store", { text }))).code).toBe(-32602);
    await close();
    expect(statSync(logPath).size).toBeLessThan(20_000);
    const [entry] = readEntries(logPath);
    const json = JSON.stringify({ text });
    expect(entry).toMatchObject({ status: "error", args: { $truncated: true, bytes: Buffer.byteLength(json), limit: 16384, sha256: createHash("sha256").update(json).digest("hex") } });
    expect((entry!.args as { preview: string }).preview).toBe(json.slice(0, 4096));
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);
  });

  test("the digest is of the redacted arguments; small arguments stay as they are; the limit is per class or method", async () => {
    @Server({ name: "limited", version: "1.0.0" })
    @Audited({ argsLimitBytes: 200, redact: ["data"] })
    class Limited {
      @Tool({ description: "store a blob" }) blob(input: Blob) { return { stored: input.data.length }; }
      @Tool({ description: "store a note" }) @Audited({ argsLimitBytes: 64 }) store(input: Note) { return { stored: input.text.length }; }
    }
    const { logPath, client } = await open({}, Limited);
    await client.callTool("blob", { data: "secret".repeat(100) });
    await client.callTool("store", { text: "short" });
    await client.callTool("store", { text: "y".repeat(90) });
    const [blob, short, long] = readEntries(logPath);
    expect(blob!.args).toEqual({ data: "[REDACTED]" });
    expect(short!.args).toEqual({ text: "short" });
    const json = JSON.stringify({ text: "y".repeat(90) });
    expect(long!.args).toMatchObject({ $truncated: true, limit: 64, bytes: json.length, sha256: createHash("sha256").update(json).digest("hex") });
    expect(() => new AuditMiddleware({ hmacSecret: SECRET, argsLimitBytes: -1 })).toThrow(/"argsLimitBytes" must be a whole number of bytes of at least 64, got the number -1/);
  });
});

describe("retention of rotated files", () => {
  test("rotate.keep removes the oldest rotated files, records it in a signed entry, and the rest still verifies", async () => {
    const { audit, logPath, client, reports, close } = await open({ rotate: { maxBytes: 1500, keep: 2 } });
    for (let i = 0; i < 40; i++) await client.callTool("blob", { data: `entry ${i}` });
    await audit.flush();
    await close();
    const files = await audit.log.files();
    expect(files.length).toBe(3);
    expect(reports.join("\n")).toMatch(/retention removed audit\.jsonl\.1/);
    const retention = files.flatMap(readEntries).filter((e) => e.kind === "retention");
    expect(retention.length).toBeGreaterThanOrEqual(1);
    const result = await verifyAuditLog(files, { secret: SECRET });
    expect(result.problems).toEqual([]);
    expect(result.notes.join("\n")).toMatch(/removed by retention/);
    expect(result.firstSeq).toBeGreaterThan(1);
    expect(readEntries(files[0]!)[0]!.seq).toBe(result.firstSeq);
    // The last removal recorded is exactly what the oldest kept file continues from.
    const through = retention.at(-1)!.retention!;
    expect(result.firstSeq).toBe(through.through_seq + 1);
    expect(readEntries(files[0]!)[0]!.prev_hash).toBe(through.through_hmac);
    expect(existsSync(logPath)).toBe(true);
  });

  test("a file the witness has not covered yet is never removed", async () => {
    const refusing: AuditWitness = { name: "down", send: () => Promise.reject(new Error("unreachable")) };
    const { audit, client, close } = await open({ rotate: { maxBytes: 1500, keep: 1 }, witnesses: [refusing], witnessIntervalMs: 60_000 });
    for (let i = 0; i < 30; i++) await client.callTool("blob", { data: `entry ${i}` });
    await audit.flush();
    await close();
    const files = await audit.log.files();
    expect(files.length).toBeGreaterThan(3);
    expect(files[0]!.endsWith(".1")).toBe(true);
    expect((await verifyAuditLog(files, { secret: SECRET })).problems).toEqual([]);
  });

  test("a file kept for a witness is removed once the witness holds a head that covers it", async () => {
    let up = false;
    const sent: AuditHead[] = [];
    const flaky: AuditWitness = { name: "flaky", send: (head) => (up ? Promise.resolve(void sent.push(head)) : Promise.reject(new Error("unreachable"))) };
    const { audit, client, reports, close } = await open({ rotate: { maxBytes: 1500, keep: 1 }, witnesses: [flaky], witnessIntervalMs: 60_000 });
    for (let i = 0; i < 30; i++) await client.callTool("blob", { data: `entry ${i}` });
    await audit.flush();
    expect((await audit.log.files()).length).toBeGreaterThan(3);
    up = true;
    await audit.log.witnessNow();
    await close();
    const files = await audit.log.files();
    expect(files.length).toBe(2);
    expect(reports.join("\n")).toMatch(/retention removed audit\.jsonl\.1,/);
    expect((await verifyAuditLog(files, { secret: SECRET })).problems).toEqual([]);
    // After close the key is erased: nothing more is signed or sent.
    expect(sent.at(-1)).toMatchObject({ closed: true });
    const count = sent.length;
    await audit.log.witnessNow();
    expect(sent).toHaveLength(count);
  });

  test("rotated files deleted without a retention entry are still a deletion", async () => {
    const { audit, client, close } = await open({ rotate: { maxBytes: 1500 } });
    for (let i = 0; i < 30; i++) await client.callTool("blob", { data: `entry ${i}` });
    await close();
    const files = await audit.log.files();
    const result = await verifyAuditLog(files.slice(1), { secret: SECRET });
    expect(result.problems.map((p) => p.kind)).toEqual(["deleted"]);
  });
});

test("a rotated log whose files start with lines over 64 KB verifies in any argument order (the order comes from whole first lines)", async () => {
  const { audit, dir, client, close } = await open({ rotate: { maxBytes: 150_000 }, argsLimitBytes: 1024 * 1024 });
  for (let i = 0; i < 6; i++) await client.callTool("blob", { data: `${i}`.repeat(100_000) });
  await close();
  const files = await audit.log.files();
  expect(files.length).toBeGreaterThan(3);
  const shuffled = [...files].reverse();
  expect((await verifyAuditLog(shuffled, { secret: SECRET })).problems).toEqual([]);
  const logged: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => logged.push(args.join(" "));
  process.env.LANTERN_AUDIT_SECRET = SECRET;
  try {
    expect(await auditCommand(["verify", ...shuffled, join(dir, "audit.jsonl.head.json")])).toBe(0);
  } finally {
    console.log = log;
    delete process.env.LANTERN_AUDIT_SECRET;
  }
  expect(logged.join("\n")).toMatch(/^OK: 6 entries/m);
});

test("a close while the log is still opening waits for it: the last head is a clean close's", async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const logPath = join(dir, "audit.jsonl");
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, onReport: () => {} });
  const opening = audit.log.open();
  await audit.log.close();
  await opening;
  expect(JSON.parse(readFileSync(`${logPath}.head.json`, "utf8"))).toMatchObject({ seq: 0, closed: true });
  await expect(audit.log.append({ timestamp: new Date().toISOString(), kind: "tool", tool: "x", client_id: "c", request_id: "1", status: "ok", duration_s: 0 })).rejects.toThrow(/closed/);
});

test("a stale <head>.tmp-<pid> left by a killed process is removed at start", async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const logPath = join(dir, "audit.jsonl");
  // The pid of a process that has exited: what a kill -9 mid head update leaves behind.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
  const stale = `${logPath}.head.json.tmp-${dead}`;
  writeFileSync(stale, '{"format":"lantern-audit-head/2"');
  const reports: string[] = [];
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, onReport: (m) => reports.push(m) });
  await audit.log.open();
  await audit.log.close();
  expect(existsSync(stale)).toBe(false);
  expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  expect(reports.join("\n")).toMatch(new RegExp(`removed audit\\.jsonl\\.head\\.json\\.tmp-${dead}`));
});
