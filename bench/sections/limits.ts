import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { McpServer, QuotaMiddleware, RateLimit, RedisStore, Server, Tool, type Middleware } from "lantern-mcp";
import { connectCallers, lanternHttp } from "../http-systems.js";
import { envInteger, measureAlternating, type Measurement, type SectionResult } from "../harness.js";
import { EchoInput, EchoServer, lantern } from "../systems.js";

/** Rounds of the in-memory rows (`BENCH_ROUNDS`, default 7); the Redis rows take two fewer (at least 3). */
const ROUNDS = envInteger("BENCH_ROUNDS", 7);

/** Never reached in a run: the limiter counts every call, none is refused. */
const PLENTY = 1_000_000_000;

@Server({ name: "bench", version: "1.0.0" })
class RateLimitedEchoServer {
  @RateLimit({ points: PLENTY, per: "1d" })
  @Tool({ description: "Echo the text back" })
  echo(input: EchoInput) {
    return input.text;
  }
}

const quota = (store?: RedisStore) => new QuotaMiddleware({ ...(store ? { store } : {}), limit: { points: PLENTY, per: "1d" }, concurrency: 1024, resourceUri: false });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own on 127.0.0.1 (no persistence), or undefined when none is installed. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (!spawnSync("sh", ["-c", "command -v redis-server"]).stdout.toString().trim()) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-redis-"));
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on("line", (line) => { if (/Ready to accept connections/.test(line)) resolve(); });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lantern over Streamable HTTP on 127.0.0.1 with 32 connected clients, calls spread over them. */
async function overHttp(serverClass: Function, middleware: Middleware[]) {
  const server = new McpServer(serverClass);
  for (const mw of middleware) server.use(mw);
  const system = await lanternHttp(server);
  const callers = await connectCallers(system.url, 32);
  return { call: callers.call, close: async () => { await callers.close(); await system.close(); } };
}

/**
 * What limits cost: a trivial tool with `@RateLimit` or `QuotaMiddleware` counting in process memory
 * against none (in memory, one caller, p50 latency), and with the counts in a real Redis (32 clients
 * over Streamable HTTP, throughput).
 */
export async function limitsSection(): Promise<SectionResult[]> {
  const memorySystems = [
    { name: "no limiter", ...(await lantern([])) },
    { name: "@RateLimit, memory", ...(await lantern([], RateLimitedEchoServer)) },
    { name: "QuotaMiddleware (quota + concurrency), memory", ...(await lantern([quota()])) },
  ];
  let memoryRows: Measurement[];
  try {
    memoryRows = await measureAlternating(memorySystems, { warmup: 3000, iterations: 10000, rounds: ROUNDS });
  } finally {
    await Promise.all(memorySystems.map((s) => s.close()));
  }
  const base = memoryRows[0]!;
  for (const row of memoryRows) row.extra = { ratio: row.p50Us / base.p50Us, addedUs: row.p50Us - base.p50Us };
  const sections: SectionResult[] = [{
    title: "Limits in process memory: trivial tool, in-memory transport, 1 caller",
    baseline: "no limiter",
    rows: memoryRows,
    notes: ["goal: ratio ≤ 1.05× the no-limiter p50; addedUs = µs the limiter adds per call (p50 minus the baseline's)"],
  }];

  const redis = await startRedis();
  if (!redis) {
    sections.push({ title: "Limits in Redis: skipped", rows: [], notes: ["redis-server is not installed (apt-get install redis-server); the Redis rows were not measured"] });
    return sections;
  }
  // Each system counts under keys of its own.
  let stores = 0;
  const store = () => new RedisStore({ url: redis.url, keyPrefix: `bench:${stores++}` });
  const httpSystems = [];
  try {
    httpSystems.push({ name: "http, no limiter", ...(await overHttp(EchoServer, [])) });
    httpSystems.push({ name: "http, QuotaMiddleware, Redis", ...(await overHttp(EchoServer, [quota(store())])) });
    httpSystems.push({ name: "http, QuotaMiddleware + @RateLimit, Redis", ...(await overHttp(RateLimitedEchoServer, [quota(store())])) });
    const rows = await measureAlternating(httpSystems, { warmup: 500, iterations: 3000, rounds: Math.max(3, ROUNDS - 2), concurrency: 32 });
    const httpBase = rows[0]!;
    for (const row of rows) row.extra = { throughput: row.callsPerSec / httpBase.callsPerSec, addedUs: row.p50Us - httpBase.p50Us };
    sections.push({
      title: "Limits in Redis: trivial tool over Streamable HTTP, 32 concurrent clients",
      baseline: "http, no limiter",
      rows,
      notes: [
        "goal: throughput ≥ 0.8× the no-limiter calls/s; each limit is one atomic script in a local redis-server per call",
        "the 32 clients are anonymous, so every call counts against the same key (the busiest case for one Redis key)",
      ],
    });
  } finally {
    await Promise.all(httpSystems.map((s) => s.close()));
    await redis.stop();
  }
  return sections;
}
