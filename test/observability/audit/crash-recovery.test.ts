import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { verifyAuditLog } from "lantern-mcp";
import { readEntries, SECRET, tempDir } from "./helpers.js";

/**
 * SIGKILL of the compiled medical-records-api (dist-examples, from `npm run build`) in the middle of
 * a stream of calls over Streamable HTTP: every call the client saw answered is in the log, the file
 * verifies up to its last whole entry, and a restarted server continues the chain.
 */
const MAIN = resolve("dist-examples/examples/medical-records-api/main.js");

const children = new Set<ChildProcess>();
let remove: () => void = () => {};
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  remove();
});

function start(logPath: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: "0", AUDIT_LOG: logPath, LANTERN_AUDIT_SECRET: SECRET, AUDIT_DURABILITY: "fsync" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  return new Promise((resolvePromise, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`the example did not start within 20 s; stderr:\n${stderr}`)), 20_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (\S+);/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1]! });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited (${code}) before listening; stderr:\n${stderr}`));
    });
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r()));

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "crash-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

test("SIGKILL mid-stream: answered calls are all in the log, it verifies, and a restart continues the chain", async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (this test spawns the compiled example)`);
  const temp = tempDir();
  remove = temp.remove;
  const logPath = join(temp.dir, "medical.jsonl");

  const first = await start(logPath);
  const client = await connect(first.url);
  const answered: string[] = [];
  let issued = 0;
  let killed = false;
  const worker = async () => {
    // Bounded: stops at the kill (calls then fail) or after 2,000 calls at most.
    while (!killed && issued < 2000) {
      const reason = `kill-test-${issued++}`;
      try {
        // A call cut off by the kill may wait on the SDK's stream reconnection: bound it.
        const result = await client.callTool({ name: "get_patient_record", arguments: { patientId: "p-002", reason } }, undefined, { timeout: 3000 });
        if (!result.isError) answered.push(reason);
        if (answered.length === 80 && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      } catch {
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await exited(first.child);
  await client.close().catch(() => {});
  expect(first.child.signalCode).toBe("SIGKILL");
  expect(answered.length).toBeGreaterThanOrEqual(80);

  // The head is updated off the calls' path, so a kill may leave it a few entries behind: said so, nothing else.
  const afterCrash = await verifyAuditLog(logPath, { secret: SECRET });
  expect(afterCrash.problems.filter((p) => p.kind !== "torn-last-line" && p.kind !== "stale-head")).toEqual([]);
  const logged = new Set(readEntries(logPath).map((e) => (e.args as { reason?: string } | undefined)?.reason));
  expect(answered.filter((reason) => !logged.has(reason))).toEqual([]);
  const lastSeq = afterCrash.lastSeq!;
  expect(lastSeq).toBeGreaterThanOrEqual(answered.length);

  const second = await start(logPath);
  const again = await connect(second.url);
  await again.callTool({ name: "get_patient_record", arguments: { patientId: "p-001", reason: "after-restart" } });
  await again.close();
  second.child.kill("SIGTERM");
  await exited(second.child);

  const final = await verifyAuditLog(logPath, { secret: SECRET });
  expect(final.problems).toEqual([]);
  const entries = readEntries(logPath);
  expect(entries.at(-1)).toMatchObject({ seq: lastSeq + 1, args: { reason: "after-restart" } });
  expect(entries.at(-1)!.prev_hash).toBe(afterCrash.lastHmac);
});
