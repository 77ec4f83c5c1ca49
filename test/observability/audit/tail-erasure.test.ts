import "reflect-metadata";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { IsString } from "class-validator";
import {
  AuditChainError,
  AuditMiddleware,
  CommandAuditWitness,
  HttpAuditWitness,
  McpServer,
  Server,
  Tool,
  verifyAuditLog,
  type AuditEntry,
  type AuditHead,
  type AuditOptions,
} from "lantern-mcp";
import { auditKeyId, GENESIS_HASH } from "../../../src/observability/audit/audit-entry.js";
import { AuditLog } from "../../../src/observability/audit/audit-log.js";
import { canonicalJson } from "../../../src/observability/canonical-json.js";
import { createTestClient } from "lantern-mcp/testing";
import { run as auditCommand } from "../../../src/cli/commands/audit.js";
import { readEntries, SECRET, tempDir } from "./helpers.js";

class Lookup {
  @IsString() patientId!: string;
}

@Server({ name: "records", version: "1.0.0" })
class Records {
  @Tool({ description: "read a record" }) read(input: Lookup) { return { patientId: input.patientId }; }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return dir;
}

/** Starts a server on `logPath`, makes `calls` calls, and closes it (or leaves it running). */
async function run(logPath: string, calls: number, options: AuditOptions = {}, keepOpen = false) {
  const reports: string[] = [];
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, includeArgs: true, onReport: (m) => reports.push(m), ...options });
  const server = new McpServer(Records, { onInternalError: () => {} }).use(audit);
  const client = await createTestClient(server);
  for (let i = 0; i < calls; i++) await client.callTool("read", { patientId: `p-${i}` });
  const close = async () => {
    await client.close();
    await server.close();
  };
  if (keepOpen) cleanups.push(close);
  else await close();
  return { audit, reports, close };
}

/** Building a server on the log fails the way a real start fails. */
async function startError(logPath: string, options: AuditOptions = {}): Promise<AuditChainError> {
  const audit = new AuditMiddleware({ logPath, hmacSecret: SECRET, onReport: () => {}, ...options });
  const server = new McpServer(Records, { onInternalError: () => {} }).use(audit);
  try {
    await createTestClient(server);
  } catch (error) {
    await server.close().catch(() => undefined);
    return error as AuditChainError;
  }
  await server.close();
  throw new Error("the server started");
}

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean);
const keep = (path: string, n: number) => writeFileSync(path, lines(path).slice(0, n).join("\n") + "\n");
const kinds = (r: { problems: { kind: string }[] }) => r.problems.map((p) => p.kind);

let output: string[] = [];
const log = console.log;
const error = console.error;
beforeEach(() => {
  output = [];
  console.log = (...args: unknown[]) => output.push(args.join(" "));
  console.error = (...args: unknown[]) => output.push(args.join(" "));
  process.env.LANTERN_AUDIT_SECRET = SECRET;
});
afterEach(() => {
  console.log = log;
  console.error = error;
  delete process.env.LANTERN_AUDIT_SECRET;
});

describe("a cut tail is never intact", () => {
  test("tail cut and head deleted: the verifier says missing-head and exits 1; only --no-head passes", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 6);
    keep(logPath, 4);
    rmSync(`${logPath}.head.json`);
    const result = await verifyAuditLog(logPath, { secret: SECRET });
    expect(kinds(result)).toEqual(["missing-head"]);
    expect(result.problems[0]!.message).toContain(`${logPath}.head.json`);
    expect(await auditCommand(["verify", logPath])).toBe(1);
    expect(output.join("\n")).toMatch(/missing-head/);
    expect(await auditCommand(["verify", logPath, "--no-head"])).toBe(0);
  });

  test("an older head put back after cutting the log past it: stale-head, exit 1", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 3);
    const saved = readFileSync(`${logPath}.head.json`, "utf8");
    await run(logPath, 4);
    keep(logPath, 5);
    writeFileSync(`${logPath}.head.json`, saved);
    const result = await verifyAuditLog(logPath, { secret: SECRET });
    expect(result.problems.map((p) => [p.kind, p.seq])).toEqual([["stale-head", 3]]);
    expect(await auditCommand(["verify", logPath])).toBe(1);
    // A head written by a clean close cannot lag a running writer: --live does not excuse it.
    expect(await auditCommand(["verify", logPath, "--live"])).toBe(1);
  });

  test("a restart refuses a log whose head is missing, naming the problem and the file", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 5);
    keep(logPath, 3);
    rmSync(`${logPath}.head.json`);
    const refused = await startError(logPath);
    expect(refused).toBeInstanceOf(AuditChainError);
    expect(refused.kind).toBe("missing-head");
    expect(refused.message).toContain(logPath);
    expect(refused.message).toMatch(/recover: "accept-tail"/);
    // Nothing was written by the refused start.
    expect(lines(logPath)).toHaveLength(3);
    expect(existsSync(`${logPath}.head.json`)).toBe(false);
  });

  (process.platform === "linux" ? test : test.skip)("a refused start keeps no file handle open, though nothing closes the log", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 2);
    rmSync(`${logPath}.head.json`);
    const log = new AuditLog({ path: logPath, key: { id: auditKeyId(SECRET), secret: SECRET }, durability: "flush", headPath: `${logPath}.head.json`, report: () => undefined });
    await expect(log.open()).rejects.toMatchObject({ kind: "missing-head" });
    const openOnLog = readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === logPath;
      } catch {
        return false;
      }
    });
    expect(openOnLog).toEqual([]);
  });

  test("a restart refuses a log that ends before its head (truncated-tail) and a head of a clean close the log runs past (stale-head)", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 5);
    keep(logPath, 3);
    expect((await startError(logPath)).kind).toBe("truncated-tail");

    const other = join(folder(), "audit.jsonl");
    await run(other, 2);
    const saved = readFileSync(`${other}.head.json`, "utf8");
    expect(JSON.parse(saved)).toMatchObject({ seq: 2, closed: true });
    await run(other, 3);
    keep(other, 4);
    writeFileSync(`${other}.head.json`, saved);
    expect((await startError(other)).kind).toBe("stale-head");
  });

  test("recover: accept-tail resumes and writes a signed chain-recovery entry that the verifier reports", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 5);
    keep(logPath, 3);
    rmSync(`${logPath}.head.json`);
    const { reports } = await run(logPath, 2, { recover: "accept-tail" });
    expect(reports.join("\n")).toMatch(/accept-tail.*missing/);
    const entries = readEntries(logPath);
    expect(entries.map((e) => [e.seq, e.kind])).toEqual([[1, "tool"], [2, "tool"], [3, "tool"], [4, "chain-recovery"], [5, "tool"], [6, "tool"]]);
    expect(entries[3]!.recovery).toMatchObject({ problem: "missing-head", log_seq: 3 });
    expect(entries[3]!.prev_hash).toBe(entries[2]!.hmac);

    const result = await verifyAuditLog(logPath, { secret: SECRET });
    expect(result.problems).toEqual([]);
    expect(result.recoveries).toEqual([expect.objectContaining({ seq: 4, problem: "missing-head" })]);
    expect(result.notes.join("\n")).toMatch(/seq 4 .* records a chain recovery/);
    expect(await auditCommand(["verify", logPath])).toBe(0);
    expect(output.join("\n")).toMatch(/note: seq 4 .*chain recovery/);

    // A forged recovery entry (no key) is just a modification.
    const forged = lines(logPath);
    forged[3] = forged[3]!.replace('"log_seq":3', '"log_seq":2');
    writeFileSync(logPath, forged.join("\n") + "\n");
    expect(kinds(await verifyAuditLog(logPath, { secret: SECRET }))).toEqual(["modified"]);

    // The option stays refused for anything but its one value.
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, recover: "yes" as never })).toThrow(/"recover" must be one of "accept-tail", got the string "yes"/);
  });

  test("a head left behind by a crash (not a clean close) resumes when the entries after it verify, and refuses when they do not", async () => {
    const logPath = join(folder(), "audit.jsonl");
    const first = await run(logPath, 2, {}, true);
    await first.audit.flush();
    const running = readFileSync(`${logPath}.head.json`, "utf8");
    expect(JSON.parse(running).closed).toBeUndefined();
    for (let i = 0; i < 3; i++) await first.audit.log.append({ timestamp: new Date().toISOString(), kind: "tool", tool: "read", client_id: "c", request_id: String(i), status: "ok", duration_s: 0 });
    await first.close();
    writeFileSync(`${logPath}.head.json`, running);
    const copy = join(folder(), "audit.jsonl");
    copyFileSync(logPath, copy);
    copyFileSync(`${logPath}.head.json`, `${copy}.head.json`);

    // The verifier: a stale head, unless told the log is live (the writer's normal lag).
    expect(kinds(await verifyAuditLog(logPath, { secret: SECRET }))).toEqual(["stale-head"]);
    const live = await verifyAuditLog(logPath, { secret: SECRET, live: true });
    expect(live.problems).toEqual([]);
    expect(live.notes.join("\n")).toMatch(/3 entries before the log's end/);

    const resumed = await run(logPath, 1);
    expect(resumed.reports.join("\n")).toMatch(/3 entries behind the log .* verify/);
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);

    const changed = lines(copy);
    changed[3] = changed[3]!.replace('"request_id":"1"', '"request_id":"9"');
    writeFileSync(copy, changed.join("\n") + "\n");
    const refused = await startError(copy);
    expect(refused.kind).toBe("stale-head");
    expect(refused.message).toMatch(/does not verify/);
  });
});

/** A witness endpoint on 127.0.0.1 that appends each head it receives to a JSONL file. */
async function witnessEndpoint(file: string, failFirst = 0) {
  const received: AuditHead[] = [];
  const waiters: { test: (h: AuditHead) => boolean; resolve: () => void }[] = [];
  let failures = failFirst;
  const server: HttpServer = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end();
        return;
      }
      appendFileSync(file, body.trim() + "\n");
      const head = JSON.parse(body) as AuditHead;
      received.push(head);
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) (w.test(head) ? w.resolve : () => waiters.push(w))();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((r) => server.close(r)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/heads`;
  const until = (test: (h: AuditHead) => boolean) =>
    received.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { url, received, until };
}

describe("witness: the signed head also goes outside the folder", () => {
  test("heads reach an HTTP witness at the interval and at close; verify --witness finds a tail cut even with the head deleted", async () => {
    const dir = folder();
    const logPath = join(dir, "audit.jsonl");
    const heads = join(folder(), "witnessed.jsonl");
    const endpoint = await witnessEndpoint(heads);
    const witnesses = [new HttpAuditWitness({ url: endpoint.url })];
    const { audit, close } = await run(logPath, 3, { witnesses, witnessIntervalMs: 100 }, true);
    await endpoint.until((h) => h.seq === 3);
    await close();
    await endpoint.until((h) => h.closed === true);
    expect(audit.log.stats.witnessed).toBeGreaterThanOrEqual(2);
    expect(audit.log.stats.witnessFailures).toBe(0);
    expect(endpoint.received.at(-1)).toMatchObject({ format: "lantern-audit-head/2", log: "audit.jsonl", seq: 3, closed: true });
    expect(await auditCommand(["verify", logPath, "--witness", heads])).toBe(0);

    // Cut the last two entries and delete the head while the server is down.
    keep(logPath, 1);
    rmSync(`${logPath}.head.json`);
    const result = await verifyAuditLog(logPath, { secret: SECRET, head: false, witness: heads });
    expect(result.problems.map((p) => [p.kind, p.seq])).toEqual([["truncated-tail", 2]]);
    expect(result.problems[0]!.message).toMatch(/witness file .* holds a head at seq 3/);
    expect(await auditCommand(["verify", logPath, "--no-head", "--witness", heads])).toBe(1);

    // Recovered and written on: the witnessed seq 3 is now another entry.
    await run(logPath, 2, { recover: "accept-tail" });
    const rewritten = await verifyAuditLog(logPath, { secret: SECRET, witness: heads });
    const firstRewritten = Math.min(...endpoint.received.map((h) => h.seq).filter((seq) => seq >= 2));
    expect(rewritten.problems.map((p) => [p.kind, p.seq])).toEqual([["modified", firstRewritten]]);
    expect(await auditCommand(["verify", logPath, "--witness", heads])).toBe(1);
  });

  test("a failing witness never fails a call: failures are counted, reported as JSON, and retried at the next interval", async () => {
    const logPath = join(folder(), "audit.jsonl");
    const heads = join(folder(), "witnessed.jsonl");
    const endpoint = await witnessEndpoint(heads, 2);
    const { audit, reports } = await run(logPath, 4, { witnesses: [new HttpAuditWitness({ url: endpoint.url })], witnessIntervalMs: 100 }, true);
    await endpoint.until((h) => h.seq === 4);
    expect(audit.log.stats.witnessFailures).toBe(2);
    const failures = reports.filter((r) => r.startsWith("{")).map((r) => JSON.parse(r) as Record<string, unknown>);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ event: "audit_witness_failed", witness: endpoint.url, seq: 4, failures: 1 });
    expect(String(failures[0]!.error)).toMatch(/503/);
    expect(readEntries(logPath)).toHaveLength(4);
  });

  test("a witness that cannot be reached at all: calls still answer, and the failure is reported on close", async () => {
    const logPath = join(folder(), "audit.jsonl");
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { audit, reports } = await run(logPath, 3, { witnesses: [new HttpAuditWitness({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 2000 })], witnessIntervalMs: 60_000 });
    expect(readEntries(logPath)).toHaveLength(3);
    expect(audit.log.stats.witnessFailures).toBe(1);
    expect(JSON.parse(reports.find((r) => r.startsWith("{"))!)).toMatchObject({ event: "audit_witness_failed", seq: 3, retry: "none: the log is closing" });
  });

  test("a command witness gets the head as one JSON line on stdin", async () => {
    const logPath = join(folder(), "audit.jsonl");
    const heads = join(folder(), "witnessed.jsonl");
    const script = `require("fs").appendFileSync(${JSON.stringify(heads)}, require("fs").readFileSync(0))`;
    await run(logPath, 2, { witnesses: [new CommandAuditWitness({ command: process.execPath, args: ["-e", script] })] });
    const kept = lines(heads).map((l) => JSON.parse(l) as AuditHead);
    expect(kept.at(-1)).toMatchObject({ seq: 2, closed: true, log: "audit.jsonl" });
    expect((await verifyAuditLog(logPath, { secret: SECRET, witness: heads })).problems).toEqual([]);
    expect(() => new HttpAuditWitness({ url: "http://127.0.0.1/heads", headers: { authorization: undefined as never } })).toThrow(/"headers.authorization" must be a string, got undefined/);
    const failing = new CommandAuditWitness({ command: process.execPath, args: ["-e", "process.exit(3)"] });
    await expect(failing.send(kept[0]!)).rejects.toThrow(/exited with code 3/);
  });
});

/** The key of epoch `e`, derived from the secret as docs/audit.md says. */
function epochKey(e: number): Buffer {
  let key = Buffer.from(SECRET, "utf8");
  for (let i = 0; i < e; i++) key = createHmac("sha256", key).update("lantern-audit-next-epoch").digest();
  return key;
}
const sign = (key: Buffer, body: object) => createHmac("sha256", key).update(canonicalJson(body)).digest("hex");

describe("forward security: the signing key evolves per epoch", () => {
  test("entries carry their epoch; a new epoch every N entries and at every start; the verifier derives them from the secret", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 7, { keyEvolution: { entries: 3 } });
    await run(logPath, 2, { keyEvolution: { entries: 3 } });
    const entries = readEntries(logPath);
    expect(entries.map((e) => e.epoch)).toEqual([0, 0, 0, 1, 1, 1, 2, 3, 3]);
    for (const e of entries) {
      const { hmac, ...body } = e;
      expect(sign(epochKey(e.epoch!), body)).toBe(hmac);
    }
    const head = JSON.parse(readFileSync(`${logPath}.head.json`, "utf8")) as AuditHead;
    const { signature, ...headBody } = head;
    expect(sign(epochKey(head.epoch!), headBody)).toBe(signature);
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);
  });

  test("moving to the next epoch overwrites the bytes of the previous key", async () => {
    const logPath = join(folder(), "audit.jsonl");
    const { audit } = await run(logPath, 0, { keyEvolution: { entries: 2 } }, true);
    await audit.log.open();
    // The writer's own key buffer (private): what a memory dump of the writer would find.
    const held = (audit.log as unknown as { epochKey: Buffer }).epochKey;
    expect(held.equals(epochKey(0))).toBe(true);
    const client = await createTestClient(new McpServer(Records).use(audit));
    for (let i = 0; i < 3; i++) await client.callTool("read", { patientId: `p-${i}` });
    await client.close();
    expect(audit.log.currentEpoch).toBe(1);
    expect(held.equals(Buffer.alloc(held.length))).toBe(true);
    expect((audit.log as unknown as { epochKey: Buffer }).epochKey.equals(epochKey(1))).toBe(true);
  });

  test("a key taken from the running server cannot forge an entry of an earlier epoch", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 6, { keyEvolution: { entries: 2 } });
    const entries = readEntries(logPath);
    const stolen = epochKey(entries.at(-1)!.epoch!);
    const all = lines(logPath);
    // Rewrite seq 2 (epoch 0) with the stolen key, claiming epoch 0 or its own epoch.
    for (const claim of [0, entries.at(-1)!.epoch!]) {
      const { hmac: _h, ...body } = { ...entries[1]!, args: { patientId: "p-forged" }, epoch: claim };
      const forged = { ...body, hmac: sign(stolen, body) };
      const copy = join(folder(), "audit.jsonl");
      writeFileSync(copy, [all[0], JSON.stringify(forged), ...all.slice(2)].join("\n") + "\n");
      copyFileSync(`${logPath}.head.json`, `${copy}.head.json`);
      const result = await verifyAuditLog(copy, { secret: SECRET });
      expect(result.ok).toBe(false);
      // Claiming its old epoch, the HMAC fails at seq 2; claiming the stolen epoch, the chain breaks right after it.
      expect(result.problems[0]!.seq === 2 || result.problems[0]!.message.includes("hmac of seq 2")).toBe(true);
    }
  });

  test("a log written before key evolution (no epoch, head format 1) still verifies, and a server continues it", async () => {
    const logPath = join(folder(), "audit.jsonl");
    let prev = GENESIS_HASH;
    const old: string[] = [];
    for (let seq = 1; seq <= 3; seq++) {
      const body = { seq, timestamp: "2025-06-01T12:00:00.000Z", kind: "tool", tool: "read", client_id: "c", request_id: String(seq), status: "ok", duration_s: 0.001, key_id: auditKeyId(SECRET), prev_hash: prev };
      const hmac = sign(Buffer.from(SECRET), body);
      old.push(JSON.stringify({ ...body, hmac }));
      prev = hmac;
    }
    writeFileSync(logPath, old.join("\n") + "\n");
    const headBody = { format: "lantern-audit-head/1", seq: 3, hmac: prev, key_id: auditKeyId(SECRET), updated_at: "2025-06-01T12:00:01.000Z" };
    writeFileSync(`${logPath}.head.json`, JSON.stringify({ ...headBody, signature: sign(Buffer.from(SECRET), headBody) }));
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);

    await run(logPath, 2);
    const entries = readEntries(logPath);
    expect(entries.map((e: AuditEntry) => [e.seq, e.epoch])).toEqual([[1, undefined], [2, undefined], [3, undefined], [4, 1], [5, 1]]);
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);
  });

  test("keyEvolution: false keeps signing with the secret itself", async () => {
    const logPath = join(folder(), "audit.jsonl");
    await run(logPath, 2, { keyEvolution: false });
    await run(logPath, 1, { keyEvolution: false });
    expect(readEntries(logPath).map((e) => e.epoch)).toEqual([undefined, undefined, undefined]);
    expect((await verifyAuditLog(logPath, { secret: SECRET })).problems).toEqual([]);
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, keyEvolution: { entries: 0 } })).toThrow(/"keyEvolution.entries" must be a whole number of entries of at least 1, got 0/);
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, keyEvolution: { intervalMs: 30 * 24 * 3600_000 } })).toThrow(/"keyEvolution.intervalMs" must be a whole number of ms from 1000 to 2147483647/);
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, keyEvolution: { entires: 5 } as never })).toThrow(/unknown option "entires"; did you mean "entries"/);
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, witnessIntervalMs: 0 })).toThrow(/"witnessIntervalMs" must be a whole number of ms from 100/);
    expect(() => new AuditMiddleware({ logPath, hmacSecret: SECRET, witnesses: [{ name: "x" } as never] })).toThrow(/witnesses\[0\] has no send\(head\) method/);
  });
});

describe("docs/audit.md: the standalone Python check", () => {
  const script = (() => {
    const doc = readFileSync("docs/audit.md", "utf8");
    const match = /<!-- verify-audit-py -->\s*```python\n([\s\S]*?)```/.exec(doc);
    if (!match) throw new Error("docs/audit.md has no ```python block after <!-- verify-audit-py -->");
    return match[1]!;
  })();

  const python = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn("python3", args, { env: { ...process.env, LANTERN_AUDIT_SECRET: SECRET }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, out }));
    });

  test("verifies a log Jest wrote (epochs, a recovery entry, the head) and finds a change", async () => {
    const dir = folder();
    const file = join(dir, "verify_audit.py");
    writeFileSync(file, script);
    const logPath = join(dir, "audit.jsonl");
    await run(logPath, 5, { keyEvolution: { entries: 2 }, argsLimitBytes: 64 });
    rmSync(`${logPath}.head.json`);
    await run(logPath, 1, { recover: "accept-tail" });
    await run(logPath, 3, { keyEvolution: { entries: 2 } });
    const good = await python([file, logPath]);
    expect(good.out).toMatch(/^OK: 10 entries \(seq 1…10\)/m);
    expect(good.out).toMatch(/note: seq 6 records a chain recovery \(missing-head\)/);
    expect(good.code).toBe(0);

    const changed = lines(logPath);
    changed[2] = changed[2]!.replace('"p-2"', '"p-7"');
    writeFileSync(logPath, changed.join("\n") + "\n");
    const bad = await python([file, logPath]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/line 3: .*does not verify/);
  });
});
