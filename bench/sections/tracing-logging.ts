import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import winston from "winston";
import { CallContext, OTelMiddleware, StructuredLoggingMiddleware, type CallChannel, type MiddlewareObject, type SessionInfo } from "lantern-mcp";
import { measureAlternating, nsPerCall, yielding, type Measurement, type SectionResult } from "../harness.js";
import { lantern } from "../systems.js";

/** A reader that never exports: the SDK still aggregates every recording. */
class HoldingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected override onShutdown(): Promise<void> { return Promise.resolve(); }
}

const session: SessionInfo = { sessionId: "s1", transport: "http", clientInfo: { name: "agent", version: "1" }, protocolVersion: "2025-06-18", era: "legacy" };
const channel = {} as CallChannel;
const signal = new AbortController().signal;
const RESULT = { content: [{ type: "text", text: "ok" }] };
const next = () => Promise.resolve(RESULT);

function callContext(): CallContext {
  const ctx = new CallContext("tool", "echo", "1", { text: "hello" }, session, channel, signal, undefined, 1);
  ctx.outcome = { status: "ok" };
  return ctx;
}

/** The in-memory exporter keeps every span: empty it now and then so memory stays flat. */
function resetting(exporter: InMemorySpanExporter, call: () => Promise<unknown>): () => Promise<unknown> {
  let n = 0;
  return async () => {
    const result = await call();
    if (++n % 1000 === 0) exporter.reset();
    return result;
  };
}

/**
 * Event-loop time per call of a logging middleware's `handle()`, including the serialisation
 * winston defers until its streams drain, and excluding the time the loop sat idle while the disk
 * wrote (that is the point of an asynchronous file transport): event-loop utilisation's active time.
 */
async function loggingNsPerCall(middleware: MiddlewareObject, logger: winston.Logger, calls: number): Promise<number> {
  // A timer, not setImmediate: the loop must go idle while the disk writes, or waiting counts as work.
  const drain = async () => {
    for (let i = 0; i < 10_000 && logger.writableLength > 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  for (let i = 0; i < 1000; i++) await middleware.handle(callContext(), next);
  await drain();
  const before = performance.eventLoopUtilization();
  for (let i = 0; i < calls; i++) {
    await middleware.handle(callContext(), next);
    if (i % 500 === 499) await drain();
  }
  await drain();
  return (performance.eventLoopUtilization(before).active * 1e6) / calls;
}

/** What OTelMiddleware (no SDK, SDK) and StructuredLoggingMiddleware (to a file) cost per call. */
export async function tracingLoggingSection(): Promise<SectionResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-log-"));
  try {
    // 1. Per-call cost of handle() alone, against a middleware that only calls next().
    const passThrough: MiddlewareObject = { handle: (_ctx, n) => n() };
    const noSdk = new OTelMiddleware();
    const baseNs = await nsPerCall(() => passThrough.handle(callContext(), next));
    const noSdkNs = await nsPerCall(() => noSdk.handle(callContext(), next));

    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const meterProvider = new MeterProvider({ readers: [new HoldingReader()] });
    const withSdk = new OTelMiddleware({ tracerProvider, meterProvider });
    const sdkNs = await nsPerCall(resetting(exporter, () => withSdk.handle(callContext(), next)), 50_000);

    const microFile = join(dir, "micro.log");
    const microLogger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.File({ filename: microFile })] });
    const logging = new StructuredLoggingMiddleware({ logger: microLogger });
    const loggingNs = await loggingNsPerCall(logging, microLogger, 20_000);

    const handleRows: Measurement[] = [
      { name: "handle(): pass-through", p50Us: 0, p99Us: 0, callsPerSec: 0, extra: { ns_per_call: baseNs } },
      { name: "handle(): OTelMiddleware, no SDK", p50Us: 0, p99Us: 0, callsPerSec: 0, extra: { ns_per_call: noSdkNs, added_ns: noSdkNs - baseNs } },
      { name: "handle(): OTelMiddleware, SDK + in-memory exporter", p50Us: 0, p99Us: 0, callsPerSec: 0, extra: { ns_per_call: sdkNs, added_ns: sdkNs - baseNs } },
      { name: "handle(): StructuredLogging → file", p50Us: 0, p99Us: 0, callsPerSec: 0, extra: { ns_per_call: loggingNs, added_ns: loggingNs - baseNs } },
    ];

    // 2. Over the wire: a trivial tool through the in-memory transport, systems alternating.
    trace.disable(); // the no-SDK row must see no global tracer provider
    const plain = await lantern();
    const otelNoSdk = await lantern([new OTelMiddleware()]);
    const otelSdk = await lantern([new OTelMiddleware({ tracerProvider, meterProvider })]);
    const wireFile = join(dir, "wire.log");
    const fileLogger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.File({ filename: wireFile })] });
    const logged = await lantern([new StructuredLoggingMiddleware({ logger: fileLogger })]);
    const batchedFile = join(dir, "batched.log");
    const batched = await lantern([new StructuredLoggingMiddleware({ file: batchedFile })]);
    const rows = await measureAlternating([
      { name: "lantern (no middleware)", call: yielding(plain.call) },
      { name: "OTelMiddleware, no SDK", call: yielding(otelNoSdk.call) },
      { name: "OTelMiddleware, SDK + in-memory exporter", call: yielding(resetting(exporter, otelSdk.call)) },
      { name: "StructuredLoggingMiddleware → file", call: yielding(logged.call) },
      { name: "StructuredLoggingMiddleware → file (`file` option, batched)", call: yielding(batched.call) },
    ]);
    await Promise.all([plain.close(), otelNoSdk.close(), otelSdk.close(), logged.close(), batched.close()]);
    await batched.server.close();
    const writtenBatched = readFileSync(batchedFile, "utf8").split("\n").filter(Boolean).length;
    const wireCalls = 2000 + 5 * 5000;
    await new Promise<void>((resolve) => {
      fileLogger.on("finish", () => setImmediate(resolve));
      fileLogger.end();
    });
    const written = readFileSync(wireFile, "utf8").split("\n").filter(Boolean).length;
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    context.disable();

    const base = rows[0]!;
    const usPerCall = (r: Measurement) => 1e6 / r.callsPerSec;
    for (const r of rows.slice(1)) r.extra = { added_us_per_call_by_throughput: usPerCall(r) - usPerCall(base) };
    return [
      {
        title: "Tracing and logging: per-call cost of handle() (ns), no transport",
        rows: handleRows,
        notes: [
          `OTelMiddleware with no SDK adds ${(noSdkNs - baseNs).toFixed(0)} ns per call (target < 1,000 ns)`,
          `StructuredLoggingMiddleware to a file adds ${((loggingNs - baseNs) / 1000).toFixed(2)} µs per call, event-loop time, serialisation and stream hand-off included (target < 10 µs)`,
          `OTelMiddleware with an SDK (span + 3 instruments) adds ${((sdkNs - baseNs) / 1000).toFixed(2)} µs per call`,
        ],
      },
      {
        title: "Tracing and logging: trivial tool over the in-memory transport (1 caller)",
        baseline: "lantern (no middleware)",
        rows,
        notes: [
          `file log through winston's File transport (one write per line): ${written} lines written for ${wireCalls} calls (lines dropped for back-pressure: ${wireCalls - written})`,
          `file log through the \`file\` option (lines batched per 5 ms): ${writtenBatched} lines written for ${wireCalls} calls`,
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
