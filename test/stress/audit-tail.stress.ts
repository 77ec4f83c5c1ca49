import "reflect-metadata";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, McpError } from "@modelcontextprotocol/sdk/types.js";
import {
  AUDIT_SECRET,
  auditPathIn,
  connectClient,
  JWT_SECRET,
  readAudit,
  startServerProcess,
  stopServerProcess,
  tokenFor,
  type ServerProcess,
} from "./stress-support.js";

/**
 * What someone with write access to the data folder can do to the audit trail of the built
 * production example while it is down, and what the verifier, a restart and a witness outside the
 * folder make of it. Also: refused calls with huge arguments do not fill the disk, and temporary
 * head files left by a kill -9 are cleared at the next start.
 */
const SECRETS = { LANTERN_AUDIT_SECRET: AUDIT_SECRET, LANTERN_JWT_SECRET: JWT_SECRET };
const CLI = resolve("dist/cli/main.js");

let dir: string;
let heads: string;
let witness: HttpServer;
let witnessUrl: string;
const received: { seq: number; closed?: boolean }[] = [];
let waiters: { test: () => boolean; resolve: () => void }[] = [];
const servers: ServerProcess[] = [];
let clients: Client[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lantern-audit-tail-"));
  heads = join(dir, "witness", "heads.jsonl");
  // The witness lives outside the data folder: a directory of its own, appended to, never rewritten.
  const witnessDir = join(dir, "witness");
  mkdirSync(witnessDir);
  witness = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      appendFileSync(heads, body.trim() + "\n");
      received.push(JSON.parse(body) as { seq: number; closed?: boolean });
      res.writeHead(204).end();
      const pending = waiters;
      waiters = [];
      for (const w of pending) (w.test() ? w.resolve : () => waiters.push(w))();
    });
  });
  witness.listen(0, "127.0.0.1");
  await once(witness, "listening");
  witnessUrl = `http://127.0.0.1:${(witness.address() as AddressInfo).port}/heads`;
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const server of servers) await stopServerProcess(server);
  await new Promise((r) => witness.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const dataDir = () => join(dir, "data");
const witnessed = (test: () => boolean) => (test() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve })));

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess(dataDir(), { ...SECRETS, LANTERN_AUDIT_WITNESS_URL: witnessUrl, LANTERN_AUDIT_WITNESS_INTERVAL_MS: "200", ...env });
  servers.push(server);
  return server;
}

async function callSome(server: ServerProcess, n: number, tag: string): Promise<void> {
  const { client } = await connectClient(server.url, await tokenFor("auditor"), "auditor");
  clients.push(client);
  for (let i = 0; i < n; i++) {
    const result = (await client.callTool({ name: "find_items", arguments: { query: `${tag}-${i}` } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
  }
  await client.close();
  clients = clients.filter((c) => c !== client);
}

/** `lantern audit verify` from the build, as an operator runs it. */
function verify(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, "audit", "verify", ...args], { env: { ...process.env, NODE_OPTIONS: "", LANTERN_AUDIT_SECRET: AUDIT_SECRET }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolvePromise({ code, out }));
  });
}

describe("the audit tail cannot be erased without the secret", () => {
  it("cut tail + deleted head: verify exits 1, the restart refuses naming the file, the witness still knows; recovery is recorded", async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm run test:stress does)`);
    const auditPath = auditPathIn(dataDir());
    const first = await start();
    await callSome(first, 6, "before");
    await stopServerProcess(first);
    expect((await first.exited).code).toBe(0);
    await witnessed(() => received.some((h) => h.closed === true && h.seq === 6));
    expect((await verify(auditPath, "--witness", heads)).code).toBe(0);

    // While the server is down: cut the last three entries, delete the head, leave a temporary head file as a kill -9 would.
    const lines = readFileSync(auditPath, "utf8").split("\n").filter(Boolean);
    writeFileSync(auditPath, lines.slice(0, 3).join("\n") + "\n");
    rmSync(`${auditPath}.head.json`);
    const stale = `${auditPath}.head.json.tmp-999999`;
    writeFileSync(stale, "{");

    const plain = await verify(auditPath);
    expect(plain.code).toBe(1);
    expect(plain.out).toMatch(/missing-head/);
    expect((await verify(auditPath, "--no-head")).code).toBe(0);
    const withWitness = await verify(auditPath, "--no-head", "--witness", heads);
    expect(withWitness.code).toBe(1);
    expect(withWitness.out).toMatch(/truncated-tail .*holds a head at seq 6/);

    // The restart refuses, naming the problem and the file; nothing is appended.
    const refused = await start().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refused?.message).toMatch(/exited \(code 1/);
    expect(refused?.message).toMatch(/refusing to start: Cannot resume the audit log .*audit\.jsonl \(missing-head\)/);
    expect(refused?.message).toMatch(/recover: "accept-tail"/);
    expect(readFileSync(auditPath, "utf8").split("\n").filter(Boolean)).toHaveLength(3);

    // The explicit recovery: starts, clears the stale temporary head, records a signed chain-recovery entry.
    const recovered = await start({ LANTERN_AUDIT_RECOVER: "accept-tail" });
    expect(existsSync(stale)).toBe(false);
    await callSome(recovered, 2, "after");
    await stopServerProcess(recovered);
    expect((await recovered.exited).code).toBe(0);
    expect(readAudit(auditPath).map((e) => [e.seq, e.kind])).toEqual([[1, "tool"], [2, "tool"], [3, "tool"], [4, "chain-recovery"], [5, "tool"], [6, "tool"]]);
    const after = await verify(auditPath);
    expect(after.code).toBe(0);
    expect(after.out).toMatch(/note: seq 4 .*chain recovery.*missing-head/);
    // The witness saw seq 4…6 as other entries: the rewrite is still found.
    const against = await verify(auditPath, "--witness", heads);
    expect(against.code).toBe(1);
    expect(against.out).toMatch(/modified .*witness file/);
  });

  it("100 refused calls with 900 KB arguments each add under 2.5 MB to the audit, each entry keeping the size and digest", async () => {
    const auditPath = auditPathIn(dataDir());
    const server = await start();
    const before = statSync(auditPath).size;
    const { client } = await connectClient(server.url, await tokenFor("flooder"), "flooder");
    clients.push(client);
    const query = "q".repeat(900 * 1024);
    for (let i = 0; i < 100; i++) {
      const error = await client.callTool({ name: "find_items", arguments: { query } }).then(
        () => undefined,
        (e: unknown) => e as McpError,
      );
      expect(error?.code).toBe(-32602);
    }
    await client.close();
    clients = [];
    await stopServerProcess(server);
    const grown = statSync(auditPath).size - before;
    expect(grown).toBeLessThan(2.5 * 1024 * 1024);
    const refused = readAudit(auditPath).filter((e) => e.client_id === "flooder");
    expect(refused).toHaveLength(100);
    expect(refused[0]!.args).toMatchObject({ $truncated: true, limit: 16384, bytes: JSON.stringify({ query }).length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await verify(auditPath)).code).toBe(0);
  });

  it("a temporary head file left by kill -9 mid-run is gone after the next start, and the chain resumes without recovery", async () => {
    const auditPath = auditPathIn(dataDir());
    const server = await start();
    await callSome(server, 3, "kill");
    server.child.kill("SIGKILL");
    expect((await server.exited).signal).toBe("SIGKILL");
    await server.drained;
    const leftover = `${auditPath}.head.json.tmp-${server.child.pid}`;
    writeFileSync(leftover, "{");
    const again = await start();
    expect(existsSync(leftover)).toBe(false);
    expect(again.notices.join("\n")).toMatch(new RegExp(`removed audit\\.jsonl\\.head\\.json\\.tmp-${server.child.pid}`));
    await stopServerProcess(again);
    expect((await verify(auditPath)).code).toBe(0);
  });
});
