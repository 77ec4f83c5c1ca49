import { CallContext, McpServer, MetricsCollector, MetricsMiddleware, PrometheusMiddleware, type CallChannel, type MiddlewareObject, type SessionInfo } from "lantern-mcp";
import { Registry } from "prom-client";
import { measureAlternating, nsPerCall, type Measurement, type SectionResult } from "../harness.js";
import { EchoServer, lantern } from "../systems.js";

/** A server of `count` argument-less tools named tool_0, tool_1, ... */
function toolServer(count: number): McpServer {
  const server = new McpServer({ name: "bench-many", version: "1.0.0" });
  for (let i = 0; i < count; i++) server.addTool({ name: `tool_${i}`, description: `tool ${i}`, handler: () => "ok" });
  return server;
}

const sessions: SessionInfo[] = Array.from({ length: 50 }, (_, i) => ({
  sessionId: `s${i}`,
  transport: "memory",
  clientInfo: { name: `agent-${i}`, version: "1" },
  protocolVersion: undefined,
  era: "legacy",
}));
const channel = {} as CallChannel;
const signal = new AbortController().signal;

/** A finished call's context, as the dispatcher hands it to middleware. */
function callContext(name: string, session: SessionInfo = sessions[0]!): CallContext {
  const ctx = new CallContext("tool", name, "1", {}, session, channel, signal, undefined, 1);
  ctx.outcome = { status: "ok" };
  return ctx;
}

const RESULT = { content: [{ type: "text", text: "ok" }] };
const next = () => Promise.resolve(RESULT);

async function heapUsed(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run the benchmarks with node --expose-gc (npm run bench does)");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** Heap after 1,000 recorded calls against after 1,000,000 (10 tools, 50 clients, fresh contexts). */
async function heapGrowth(middleware: MiddlewareObject): Promise<{ after1k: number; after1m: number }> {
  const names = Array.from({ length: 10 }, (_, i) => `tool_${i}`);
  const record = async (from: number, to: number) => {
    for (let i = from; i < to; i++) await middleware.handle(callContext(names[i % 10]!, sessions[i % 50]!), next);
  };
  await record(0, 1000);
  const after1k = await heapUsed();
  await record(1000, 1_000_000);
  const after1m = await heapUsed();
  return { after1k, after1m };
}

const row = (name: string, extra: Measurement["extra"]): Measurement => ({ name, p50Us: 0, p99Us: 0, callsPerSec: 0, extra });

/** What MetricsMiddleware and PrometheusMiddleware cost per call, to render, and in memory. */
export async function metricsSection(): Promise<SectionResult[]> {
  // 1. Over the wire: a trivial tool through the in-memory transport, alternating systems.
  const plain = await lantern();
  const metered = await lantern([new MetricsMiddleware()]);
  const prom = await lantern([new PrometheusMiddleware({ registry: new Registry() })]);
  const wire = await measureAlternating([
    { name: "lantern (no middleware)", call: plain.call },
    { name: "lantern + MetricsMiddleware", call: metered.call },
    { name: "lantern + PrometheusMiddleware", call: prom.call },
  ]);
  await Promise.all([plain.close(), metered.close(), prom.close()]);

  // 2. The middleware alone: handle(ctx, next) against calling next() directly, same context.
  const metricsMw = new MetricsMiddleware();
  const promMw = new PrometheusMiddleware({ registry: new Registry() });
  await new McpServer(EchoServer).use(metricsMw).use(promMw).build();
  const ctx = callContext("echo");
  const baseNs = await nsPerCall(() => { ctx.bag.clear(); return next(); });
  const metricsNs = await nsPerCall(() => { ctx.bag.clear(); return metricsMw.handle(ctx, next); });
  const promNs = await nsPerCall(() => { ctx.bag.clear(); return promMw.handle(ctx, next); });
  const base = wire[0]!;
  wire[1]!.extra = { overhead_p50_us: wire[1]!.p50Us - base.p50Us, handle_overhead_us: (metricsNs - baseNs) / 1000 };
  wire[2]!.extra = { overhead_p50_us: wire[2]!.p50Us - base.p50Us, handle_overhead_us: (promNs - baseNs) / 1000 };

  // 3. Rendering with 200 tools, each called once.
  const manyProm = new PrometheusMiddleware({ registry: new Registry() });
  const manyMetrics = new MetricsMiddleware();
  await toolServer(200).use(manyProm).use(manyMetrics).build();
  for (let i = 0; i < 200; i++) {
    await manyProm.handle(callContext(`tool_${i}`), next);
    await manyMetrics.handle(callContext(`tool_${i}`), next);
  }
  const renderTextMs = (await nsPerCall(() => manyProm.getMetricsText("prometheus"), 200)) / 1e6;
  const renderOmMs = (await nsPerCall(() => manyProm.getMetricsText("openmetrics"), 200)) / 1e6;
  const snapshotMs = (await nsPerCall(() => manyMetrics.collector.snapshot(), 200)) / 1e6;
  const textBytes = Buffer.byteLength(await manyProm.getMetricsText());

  // 4. Memory after 1,000 against 1,000,000 recorded calls.
  const metricsHeap = await heapGrowth(new MetricsMiddleware(new MetricsCollector()));
  const promHeap = await heapGrowth(await (async () => {
    const mw = new PrometheusMiddleware({ registry: new Registry() });
    await toolServer(10).use(mw).build();
    return mw;
  })());
  const kb = (n: number) => n / 1024;

  return [
    {
      title: "Metrics: per-call overhead on a trivial tool over the in-memory transport (1 caller)",
      baseline: "lantern (no middleware)",
      rows: wire,
      notes: [
        `handle() alone: MetricsMiddleware +${((metricsNs - baseNs) / 1000).toFixed(2)} µs, PrometheusMiddleware +${((promNs - baseNs) / 1000).toFixed(2)} µs per call (target < 3 µs each)`,
      ],
    },
    {
      title: "Metrics: render time with 200 tools, and heap after 1,000,000 recorded calls",
      rows: [
        row("GET /metrics text, 200 tools", { ms: renderTextMs, bytes: textBytes }),
        row("GET /metrics OpenMetrics, 200 tools", { ms: renderOmMs }),
        row("metrics://server snapshot, 200 tools", { ms: snapshotMs }),
        row("MetricsMiddleware heap 1k → 1M calls", { after_1k_kb: kb(metricsHeap.after1k), after_1m_kb: kb(metricsHeap.after1m), growth_kb: kb(metricsHeap.after1m - metricsHeap.after1k) }),
        row("PrometheusMiddleware heap 1k → 1M calls", { after_1k_kb: kb(promHeap.after1k), after_1m_kb: kb(promHeap.after1m), growth_kb: kb(promHeap.after1m - promHeap.after1k) }),
      ],
      notes: ["targets: render < 5 ms; heap growth < 1 MB (1024 KB); 10 tools and 50 client ids, a fresh CallContext per call"],
    },
  ];
}
