import "reflect-metadata";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIT_SECRET, JWT_SECRET, sizeFromEnv, startServerProcess, stopServerProcess, tokenFor, type ServerProcess } from "./stress-support.js";

/**
 * A refused request costs nothing that outlives it: initialize requests the transport refuses
 * (406 for an Accept without text/event-stream, 415 for a wrong content type, 400 for a batch of
 * initializes) leave no protocol object behind, measured on the built production example's RSS.
 */
const REFUSED = sizeFromEnv("STRESS_REFUSED_INITIALIZES", 3000);
const RSS_BOUND_MB = 25;

let dir: string;
let server: ServerProcess | undefined;

afterEach(async () => {
  await stopServerProcess(server);
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(/(\d+)/.exec(line)![1]) / 1024;
};

const initialize = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "refused", version: "1" } },
});

test(`${REFUSED} refused initializes grow the server by less than ${RSS_BOUND_MB} MB and leave no connection behind`, async () => {
  dir = mkdtempSync(join(tmpdir(), "lantern-refused-"));
  server = await startServerProcess(dir, { LANTERN_AUDIT_SECRET: AUDIT_SECRET, LANTERN_JWT_SECRET: JWT_SECRET });
  const token = await tokenFor("refused-client");
  const kinds = [
    { status: 406, headers: { "content-type": "application/json", accept: "application/json" }, body: (i: number) => JSON.stringify(initialize(i)) },
    { status: 415, headers: { "content-type": "text/plain", accept: "application/json, text/event-stream" }, body: (i: number) => JSON.stringify(initialize(i)) },
    { status: 400, headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: (i: number) => JSON.stringify([initialize(i), initialize(i + 1)]) },
  ];
  const send = async (count: number) => {
    const statuses = new Map<number, number>();
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, async (_, j) => {
        const kind = kinds[(start + j) % kinds.length]!;
        const response = await fetch(server!.url, { method: "POST", headers: { ...kind.headers, authorization: `Bearer ${token}` }, body: kind.body(start + j) });
        await response.arrayBuffer();
        expect(response.status).toBe(kind.status);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      });
      await Promise.all(batch);
    }
    return statuses;
  };
  // The heap grows to its working size over the first few thousand requests, then levels off; a
  // leak (a protocol object per refused request, ~32 KB each) would keep growing it by ~100 MB here.
  await send(2 * REFUSED);
  const before = rssMb(server.child.pid!);
  const statuses = await send(REFUSED);
  const after = rssMb(server.child.pid!);
  expect([...statuses.keys()].sort()).toEqual([400, 406, 415]);
  expect(after - before).toBeLessThan(RSS_BOUND_MB);
  const health = (await (await fetch(`${server.base}/healthz`)).json()) as { sessions: number; connections: number };
  expect(health).toMatchObject({ sessions: 0, connections: 0 });
});
