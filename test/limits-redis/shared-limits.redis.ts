import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { LanternErrorCode, type QuotaReport } from "lantern-mcp";
import { callInNewSession, freePort, readInNewSession, startRedis, startReplica, stop, stopAll, type CallResult, type Replica } from "./processes.js";

/**
 * Three replicas of examples/rate-limited-api (quota: 30 calls a day per client; `translate`: 10 an
 * hour) and a fourth with onStoreUnavailable "deny" share one real Redis. The tolerance is zero:
 * the counters change atomically in Redis, so a client gets exactly its allowance.
 */
const QUOTA = 30;
const dir = mkdtempSync(join(tmpdir(), "lantern-redis-"));
const aliceKey = randomBytes(24).toString("hex");
const bobKey = randomBytes(24).toString("hex");
let redisPort: number;
let redis: ChildProcess;
let replicas: Replica[] = [];
let denying: Replica;

const env = (policy: "allow" | "deny") => ({
  REDIS_URL: `redis://127.0.0.1:${redisPort}`, ALICE_KEY: aliceKey, BOB_KEY: bobKey, QUOTA: String(QUOTA), ON_STORE_UNAVAILABLE: policy,
});
const startThree = () => Promise.all([0, 1, 2].map(() => startReplica(env("allow"))));

/** `count` calls, one new session each, sent to the replicas in turn. */
async function roundRobin(key: string, tool: string, count: number, over: Replica[] = replicas): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (let i = 0; i < count; i++) results.push(await callInNewSession(over[i % over.length]!.url, key, tool, { text: `call ${i}` }));
  return results;
}

/** Calls until `done(result)` holds (the store came back); gives up after 30 s. */
async function callUntil(replica: Replica, key: string, done: (r: CallResult) => boolean): Promise<CallResult> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const result = await callInNewSession(replica.url, key, "detect", { text: "again" });
    if (done(result)) return result;
    if (Date.now() > deadline) throw new Error(`the replica did not recover: last answer ${JSON.stringify(result)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const refusedBy = (r: CallResult) => (r.ok ? "ok" : `${r.code} ${String(r.data?.limit)}`);

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis(redisPort, dir);
  replicas = await startThree();
  denying = await startReplica(env("deny"));
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

test("one client, round robin over three replicas and a new session per call, gets exactly its allowance", async () => {
  const results = await roundRobin(aliceKey, "detect", QUOTA + 15);
  expect(results.filter((r) => r.ok)).toHaveLength(QUOTA);
  expect(results.slice(0, QUOTA).every((r) => r.ok)).toBe(true);
  const refused = results.slice(QUOTA);
  expect(refused.map(refusedBy)).toEqual(refused.map(() => `${LanternErrorCode.RateLimited} quota:default`));
  const first = refused[0] as Extract<CallResult, { ok: false }>;
  expect(first.message).toContain(`this server allows ${QUOTA} calls per day for each caller; retry in`);
  expect(first.data.retryAfterMs).toBeGreaterThan(0);
});

test("a second client is unaffected", async () => {
  const results = await roundRobin(bobKey, "detect", 6);
  expect(results.every((r) => r.ok)).toBe(true);
  const report = (await readInNewSession(replicas[1]!.url, bobKey, "quota://me")) as QuotaReport;
  expect(report.client_id).toBe("bob");
  expect(report.quota).toMatchObject({ limit: "quota:default", points: QUOTA, remaining: QUOTA - 6 });
});

test("@RateLimit counts are shared by the replicas too", async () => {
  const results = await roundRobin(bobKey, "translate", 12);
  expect(results.map(refusedBy)).toEqual([...Array(10).fill("ok"), ...Array(2).fill(`${LanternErrorCode.RateLimited} tool:translate`)]);
  const report = (await readInNewSession(replicas[2]!.url, bobKey, "quota://me")) as QuotaReport;
  expect(report.tools).toEqual([expect.objectContaining({ limit: "tool:translate", points: 10, remaining: 0 })]);
  expect(report.quota!.remaining).toBe(QUOTA - 18);
});

test("limits survive a restart of every replica", async () => {
  await Promise.all(replicas.map((r) => stop(r.child)));
  replicas = await startThree();
  const alice = await roundRobin(aliceKey, "detect", 3);
  expect(alice.map(refusedBy)).toEqual(Array(3).fill(`${LanternErrorCode.RateLimited} quota:default`));
  const report = (await readInNewSession(replicas[0]!.url, bobKey, "quota://me")) as QuotaReport;
  expect(report.quota!.remaining).toBe(QUOTA - 18);
  expect(report.tools[0]!.remaining).toBe(0);
});

test("Redis killed mid-run: allow lets calls through, deny refuses them, both counted; both recover when it returns", async () => {
  await stop(redis, "SIGKILL");
  // alice has no quota left, yet on an "allow" replica her calls now run (uncounted).
  expect(refusedBy(await callInNewSession(replicas[0]!.url, aliceKey, "detect", { text: "x" }))).toBe("ok");
  expect(refusedBy(await callInNewSession(replicas[1]!.url, aliceKey, "detect", { text: "x" }))).toBe("ok");
  // bob has quota left, yet the "deny" replica refuses him: nothing can be counted.
  const denied = await callInNewSession(denying.url, bobKey, "detect", { text: "x" });
  expect(refusedBy(denied)).toBe(`${LanternErrorCode.RateLimited} store`);
  expect((denied as Extract<CallResult, { ok: false }>).message).toContain("the limit store is unreachable");
  const metrics = await (await fetch(new URL("/metrics", replicas[0]!.url))).text();
  expect(metrics).toContain('translator_rate_limit_store_unavailable_total{action="allowed"} 1');
  const denyingMetrics = await (await fetch(new URL("/metrics", denying.url))).text();
  expect(denyingMetrics).toContain('translator_rate_limit_store_unavailable_total{action="denied"} 1');
  expect(replicas[0]!.stderr.join("")).toContain('the rate-limit store is unreachable');

  redis = await startRedis(redisPort, dir);
  const back = await callUntil(replicas[0]!, aliceKey, (r) => !r.ok);
  expect(refusedBy(back)).toBe(`${LanternErrorCode.RateLimited} quota:default`);
  expect(refusedBy(await callUntil(denying, bobKey, (r) => r.ok))).toBe("ok");
  // The counts outlived Redis (append-only file): bob's one call since is the only change. Read on a
  // replica seen reconnected above (another may still be reconnecting: its report says null).
  const report = (await readInNewSession(replicas[0]!.url, bobKey, "quota://me")) as QuotaReport;
  expect(report.quota!.remaining).toBe(QUOTA - 19);
  expect(replicas[0]!.stderr.join("")).toContain("the rate-limit store is reachable again");
});
