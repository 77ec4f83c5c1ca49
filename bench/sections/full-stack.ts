import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { Registry } from "prom-client";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { envInteger, measureAlternating, type Measurement, type MeasureOptions, type SectionResult } from "../harness.js";
import { bareSdkHttp, connectCallers, lanternHttp, type HttpCallers, type HttpSystem } from "../http-systems.js";
import { loadPeerSystems } from "../peer-systems.js";
import { bareMcpServer, bareV2McpServer, EchoInput, EchoServer, lantern, type BenchClient } from "../systems.js";

const AUDIT_SECRET = "bench-audit-secret-0123456789abcdef";
const JWT_SECRET = "bench-jwt-secret-that-is-comfortably-longer-than-32-bytes";
const ARGS = { name: "echo", arguments: { text: "hello" } };

/**
 * Sizes, from the environment (a warm-up or an RSS run of 0 skips it); HTTP runs a quarter of the
 * calls, rounded up (a round's call count is a whole number).
 */
const MEMORY = { warmup: envInteger("BENCH_WARMUP", 2000, 0), iterations: envInteger("BENCH_ITERATIONS", 4000), rounds: envInteger("BENCH_ROUNDS", 5) };
const SIZES = {
  memory: MEMORY,
  http: { warmup: Math.ceil(MEMORY.warmup / 4), iterations: Math.ceil(MEMORY.iterations / 4), rounds: MEMORY.rounds },
  concurrentClients: envInteger("BENCH_CLIENTS", 32),
  rssCalls: envInteger("BENCH_RSS_CALLS", 1_000_000, 0),
  rssEvery: envInteger("BENCH_RSS_EVERY", 50_000),
  rssConcurrency: envInteger("BENCH_RSS_CONCURRENCY", 16),
};

const SDK = "sdk McpServer";
/** In memory only: the SDK Lantern serves with, so the full stack's own cost shows apart from the v2 SDK's. */
const SDK_V2 = "sdk v2 McpServer (Lantern's base)";
const PLAIN = "lantern (no middleware)";
const FULL = "lantern full stack";
const FASTMCP = "fastmcp";
const NEST = "@rekog/mcp-nest";

/**
 * The production stack of `examples/production-api` (structured logging to a file, signed audit in
 * "flush" mode, OpenTelemetry, Prometheus, built-in metrics, JWT auth) serving the same echo tool
 * as every other system, next to the example's own tools.
 */
function fullStackServer(dir: string, label: string): McpServer {
  const { server } = createProductionServer({
    auditPath: join(dir, `audit-${label}.jsonl`),
    auditSecret: AUDIT_SECRET,
    jwtSecret: JWT_SECRET,
    durability: "flush",
    registry: new Registry(),
    // Bounded on disk: a million calls write a few hundred MB of log lines otherwise.
    logFile: { path: join(dir, `log-${label}.jsonl`), maxBytes: 32 * 1024 * 1024, maxFiles: 2 },
  });
  server.addTool({ name: "echo", description: "Echo the text back", input: EchoInput, handler: (input: EchoInput) => input.text });
  return server;
}

const benchToken = () =>
  createToken({ secret: JWT_SECRET, clientId: "bench-agent", subject: "bench", issuer: "lantern-dev", audience: "inventory-api", scopes: ["inventory:read"], expiresIn: 24 * 3600 });

/**
 * One in-memory client of the full stack. The in-memory transport carries no headers, so the token
 * is verified once by the server's own authenticator and the identity given to the session, as
 * stdio does with its token.
 */
async function fullStackInMemory(server: McpServer, token: string): Promise<BenchClient> {
  await server.build();
  const identity = await server.authenticator!.authenticate(token);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport, { transport: "memory", identity });
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientTransport);
  return { call: () => client.callTool(ARGS), close: () => client.close() };
}

/** A call that fails loudly: a benchmark of error answers would measure the wrong thing. */
const checked = (name: string, call: () => Promise<unknown>) => async () => {
  const result = (await call()) as { isError?: boolean; content?: { text?: string }[] };
  if (result.isError || result.content?.[0]?.text !== "hello") throw new Error(`${name} answered ${JSON.stringify(result)} instead of the echo`);
};

/** Runs each system's first call through `checked`, then measures the bare call. */
async function measure(mode: string, systems: { name: string; call: () => Promise<unknown> }[], options: MeasureOptions): Promise<Measurement[]> {
  for (const s of systems) await checked(`${mode} ${s.name}`, s.call)();
  const rows = await measureAlternating(systems, options);
  const base = rows.find((r) => r.name === SDK)!;
  return rows.map((r) => ({
    ...r,
    name: `${mode} · ${r.name}`,
    extra: { "p50 × sdk": r.p50Us / base.p50Us, "p99 × sdk": r.p99Us / base.p99Us, "calls/s × sdk": r.callsPerSec / base.callsPerSec },
  }));
}

/**
 * Samples the process's RSS every `every` calls while `clients` callers drive `call` `total` times,
 * and the heap in use just after a full collection (what a leak grows; RSS also moves with the
 * allocator and the rest of the bench process). Needs --expose-gc for the heap figures.
 */
async function rssAcross(call: () => Promise<unknown>, total: number, every: number, clients: number): Promise<{ calls: number; rssMb: number; heapMb: number }[]> {
  const samples: { calls: number; rssMb: number; heapMb: number }[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (calls: number) => {
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    gc?.();
    samples.push({ calls, rssMb, heapMb: gc ? process.memoryUsage().heapUsed / 2 ** 20 : Number.NaN });
  };
  let done = 0;
  let nextSample = every;
  const worker = async () => {
    while (done < total) {
      done++;
      await call();
      if (done >= nextSample) {
        nextSample += every;
        sample(done);
      }
    }
  };
  gc?.();
  sample(0);
  await Promise.all(Array.from({ length: clients }, worker));
  return samples;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

/**
 * Lantern against the bare SDK and its peers, the same trivial echo tool everywhere:
 * in-memory (1 caller) and Streamable HTTP on 127.0.0.1 with 1 and 32 concurrent clients, each row's
 * ratio to the bare SDK of the same mode; then the full stack's RSS across a million calls.
 */
export async function fullStackSection(): Promise<SectionResult> {
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-full-stack-"));
  const notes: string[] = [];
  const rows: Measurement[] = [];
  const open: { close: () => Promise<void> }[] = [];
  const keep = <T extends { close: () => Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  try {
    const { fastMcpInMemory, startFastMcpHttp, startMcpNestHttp } = await loadPeerSystems();
    const token = await benchToken();
    const load = loadavg().map((l) => l.toFixed(2)).join(" ");

    // In-memory: @rekog/mcp-nest has no in-memory transport (stdio, SSE, Streamable HTTP only).
    const memFullServer = keep(fullStackServer(dir, "memory"));
    const memory = [
      { name: SDK, ...keep(await bareMcpServer()) },
      { name: SDK_V2, ...keep(await bareV2McpServer()) },
      { name: PLAIN, ...keep(await lantern()) },
      { name: FULL, ...keep(await fullStackInMemory(memFullServer, token)) },
      { name: FASTMCP, ...keep(await fastMcpInMemory()) },
    ];
    rows.push(...(await measure("memory 1", memory, { ...SIZES.memory, concurrency: 1 })));

    // Streamable HTTP: one server per system, 1 client then N clients (one session each).
    const servers: { name: string; system: HttpSystem; headers?: Record<string, string> }[] = [
      { name: SDK, system: keep(await bareSdkHttp()) },
      { name: PLAIN, system: keep(await lanternHttp(new McpServer(EchoServer))) },
      { name: FULL, system: keep(await lanternHttp(fullStackServer(dir, "http"))), headers: { Authorization: `Bearer ${token}` } },
      { name: FASTMCP, system: keep(await startFastMcpHttp()) },
      { name: NEST, system: keep(await startMcpNestHttp()) },
    ];
    for (const clients of [1, SIZES.concurrentClients]) {
      const callers: (HttpCallers & { name: string })[] = [];
      for (const s of servers) callers.push({ name: s.name, ...keep(await connectCallers(s.system.url, clients, s.headers)) });
      rows.push(...(await measure(`http ${clients}`, callers, { ...SIZES.http, concurrency: clients })));
      await Promise.all(callers.map((c) => c.close()));
    }

    const target = (mode: string, limit: number) => {
      const full = rows.find((r) => r.name === `${mode} · ${FULL}`)!;
      const sdk = rows.find((r) => r.name === `${mode} · ${SDK}`)!;
      const peers = rows.filter((r) => r.name.startsWith(`${mode} · `) && (r.name.endsWith(FASTMCP) || r.name.endsWith(NEST)));
      const ratio = full.p50Us / sdk.p50Us;
      const beats = peers.every((p) => full.p50Us < p.p50Us);
      const v2 = rows.find((r) => r.name === `${mode} · ${SDK_V2}`);
      const onBase = v2 ? `; ${fmt(full.p50Us / v2.p50Us, 3)}× the v2 McpServer Lantern runs on` : "";
      return `${mode}: full stack p50 ${fmt(ratio, 3)}× sdk (target ≤ ${limit}×: ${ratio <= limit ? "met" : "MISSED"})${onBase}; faster than ${peers.map((p) => p.name.split(" · ")[1]).join(" and ")}: ${beats ? "yes" : "NO"}`;
    };
    notes.push(
      `load average at start: ${load}; node ${process.version}; sizes: memory ${SIZES.memory.iterations} calls × ${SIZES.memory.rounds} rounds, http ${SIZES.http.iterations} × ${SIZES.http.rounds}`,
      target("memory 1", 2),
      target("http 1", 1.2),
      target(`http ${SIZES.concurrentClients}`, 1.1),
      "@rekog/mcp-nest has no in-memory transport: measured over HTTP only.",
      "full stack = examples/production-api/stack.ts: JSON lines to a file (`file` option: batched writes), audit flush mode (HMAC chain), OTel (no SDK registered: no-op, as `npm start` without OTEL_EXPORTER_OTLP_ENDPOINT), Prometheus, MetricsCollector, JWT HS256 verified on every HTTP request, 30 s default tool timeout.",
    );

    for (const thing of open.splice(0)) await thing.close();

    if (SIZES.rssCalls > 0) {
      const rssServer = keep(fullStackServer(dir, "rss"));
      const client = keep(await fullStackInMemory(rssServer, token));
      await checked("rss", client.call)();
      const samples = await rssAcross(client.call, SIZES.rssCalls, SIZES.rssEvery, SIZES.rssConcurrency);
      // Warm-up: the first fifth of the run (JIT, pools, log and audit buffers reaching their steady size).
      const warm = samples.filter((s) => s.calls >= SIZES.rssCalls / 5);
      const afterWarmup = warm[0]!;
      const peak = Math.max(...warm.map((s) => s.rssMb));
      const last = samples[samples.length - 1]!;
      notes.push(
        `RSS of the full-stack server across ${SIZES.rssCalls.toLocaleString("en")} in-memory calls (${SIZES.rssConcurrency} in flight), MB every ${SIZES.rssEvery.toLocaleString("en")} calls: ` +
          samples.map((s) => fmt(s.rssMb, 1)).join(" "),
        `RSS after warm-up (${afterWarmup.calls.toLocaleString("en")} calls) ${fmt(afterWarmup.rssMb, 1)} MB, peak after warm-up ${fmt(peak, 1)} MB, at the end ${fmt(last.rssMb, 1)} MB: growth ${fmt(peak - afterWarmup.rssMb, 1)} MB peak, ${fmt(last.rssMb - afterWarmup.rssMb, 1)} MB end`,
        `heap in use after a full collection, MB at the same points: ${samples.map((s) => fmt(s.heapMb, 1)).join(" ")}; after warm-up to the end: ${fmt(last.heapMb - afterWarmup.heapMb, 1)} MB`,
      );
    }
    notes.push(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    return { title: "Full stack against the bare SDK and peers: trivial echo tool", rows, notes };
  } finally {
    await Promise.allSettled(open.map((thing) => thing.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
