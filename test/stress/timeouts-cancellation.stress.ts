import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { AggregationTemporality, MeterProvider, MetricReader, type HistogramMetricData } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { IsInt, Max, Min } from "class-validator";
import winston from "winston";
import { Inject, ProgressReporter, Server, Tool, verifyAuditLog, type McpServer } from "lantern-mcp";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { jsonLineSink } from "../support/json-lines.js";
import { AUDIT_SECRET, connectClient, JWT_SECRET, readAudit, sample, textOf, tokenFor } from "./stress-support.js";

const DEFAULT_TIMEOUT_MS = 400;

class Hold {
  @IsInt() @Min(1) @Max(60_000) ms!: number;
}

/** Tools that misbehave on purpose, added to the production server for this suite only. */
@Server({ name: "stress-probes", version: "1.0.0" })
class StressProbes {
  /** Never settles and ignores its signal: only the time limit can end it. */
  @Tool({ description: "Hangs forever, past its own 100 ms limit", timeoutMs: 100 })
  async hangPastLimit(_input: Hold) {
    await new Promise<never>(() => undefined);
  }

  /** Says it started (a progress notification, when asked for), then waits for `ms` or its signal. */
  @Tool({ description: "Waits, under the server-wide limit" })
  async wait(input: Hold, @Inject(ProgressReporter) progress: ProgressReporter, @Inject(AbortSignal) signal: AbortSignal) {
    await progress.report(0, 1, "started");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, input.ms);
      signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    return "finished";
  }
}

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected override onShutdown(): Promise<void> { return Promise.resolve(); }
}

describe("tool timeouts and client cancellation on the full production stack", () => {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  let dir: string;
  let server: McpServer;
  let base: string;
  let url: string;
  let client: Client;
  let logLines: { tool?: string; status?: string; event?: string; error?: string }[];
  let ended: { name: string; status: string | undefined }[];

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    dir = mkdtempSync(join(tmpdir(), "lantern-timeouts-"));
    logLines = [];
    const sink = jsonLineSink(logLines);
    ({ server } = createProductionServer({
      auditPath: join(dir, "audit.jsonl"),
      auditSecret: AUDIT_SECRET,
      jwtSecret: JWT_SECRET,
      durability: "flush",
      defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
      logTransports: [new winston.transports.Stream({ stream: sink })],
    }));
    server.register(StressProbes);
    ended = [];
    server.observeCalls((ctx) => ended.push({ name: ctx.name, status: ctx.outcome?.status }));
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    url = running.url!;
    base = `http://127.0.0.1:${running.port}`;
    ({ client } = await connectClient(url, await tokenFor("ops-agent"), "ops-agent"));
  });

  afterAll(async () => {
    await client?.close();
    await server?.close(1000);
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    trace.disable();
    metrics.disable();
    context.disable();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Resolves once `count` calls have ended server-side (their audit entry written), or fails after 10 s. */
  const callsEnded = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const check = () => {
        if (ended.length >= count) resolve();
        else if (Date.now() > deadline) reject(new Error(`only ${ended.length} of ${count} calls ended: ${JSON.stringify(ended)}`));
        else setTimeout(check, 10);
      };
      check();
    });

  const inFlight = async () => ((await (await fetch(`${base}/healthz`)).json()) as { inFlight: number }).inFlight;

  it("ends each call the way it should and frees its slot; metrics, spans, logs and the audit trail say how", async () => {
    // 1. @Tool({ timeoutMs: 100 }) on a tool that never settles.
    const limited = (await client.callTool({ name: "hang_past_limit", arguments: { ms: 1 } }).catch((e: unknown) => e)) as McpError;
    expect(limited).toBeInstanceOf(McpError);
    expect(limited.code).toBe(-32004);
    expect(limited.message).toContain('"hang_past_limit" timed out after 100 ms');

    // 2. The server-wide default limit.
    const defaulted = (await client.callTool({ name: "wait", arguments: { ms: 60_000 } }).catch((e: unknown) => e)) as McpError;
    expect(defaulted.code).toBe(-32004);
    expect(defaulted.message).toContain(`"wait" timed out after ${DEFAULT_TIMEOUT_MS} ms`);

    // 3. The client cancels a call once it has started (its first progress notification).
    const stop = new AbortController();
    const cancelled = client.callTool({ name: "wait", arguments: { ms: 60_000 } }, undefined, { signal: stop.signal, onprogress: () => stop.abort("operator pressed stop") });
    await expect(cancelled).rejects.toBeDefined();

    // 4. The production example's reconcile, cancelled after its first batch: it honours its AbortSignal.
    const stopReconcile = new AbortController();
    const reconcile = client.callTool(
      { name: "reconcile", arguments: { warehouse: "berlin", batches: 20 } },
      undefined,
      { signal: stopReconcile.signal, onprogress: () => stopReconcile.abort("enough") },
    );
    await expect(reconcile).rejects.toBeDefined();

    await callsEnded(4);
    expect(ended).toEqual([
      { name: "hang_past_limit", status: "timeout" },
      { name: "wait", status: "timeout" },
      { name: "wait", status: "cancelled" },
      { name: "reconcile", status: "cancelled" },
    ]);

    // Every slot is free and the server keeps answering.
    expect(await inFlight()).toBe(0);
    const next = (await client.callTool({ name: "wait", arguments: { ms: 1 } })) as CallToolResult;
    expect(next.content).toEqual([{ type: "text", text: "finished" }]);
    const reconciled = (await client.callTool({ name: "reconcile", arguments: { warehouse: "lisbon", batches: 2 } })) as CallToolResult;
    expect(reconciled.structuredContent).toEqual({ warehouse: "lisbon", batches: 2, discrepancies: 0 });

    // The audit trail: status and error type of each.
    const audit = readAudit(join(dir, "audit.jsonl")).filter((e) => e.kind === "tool");
    expect(audit.map((e) => [e.tool, e.status, e.error?.type])).toEqual([
      ["hang_past_limit", "timeout", "-32004"],
      ["wait", "timeout", "-32004"],
      ["wait", "cancelled", "-32800"],
      ["reconcile", "cancelled", "-32800"],
      ["wait", "ok", undefined],
      ["reconcile", "ok", undefined],
    ]);
    expect(audit[0]!.error!.message).toBe('TimeoutError: "hang_past_limit" timed out after 100 ms');
    expect(audit[2]!.error!.message).toBe('CancelledError: "wait" was cancelled by the client');
    expect((await verifyAuditLog(join(dir, "audit.jsonl"), { secret: AUDIT_SECRET, live: true })).ok).toBe(true);

    // The structured log: one line per call, with the same status.
    expect(logLines.filter((l) => l.event === "tool_call").map((l) => [l.tool, l.status])).toEqual(audit.map((e) => [e.tool, e.status]));

    // Spans: lantern.call.status and error.type.
    const toolSpans = spans.getFinishedSpans().filter((s) => s.attributes["gen_ai.tool.name"] !== undefined);
    expect(toolSpans.map((s) => [s.attributes["gen_ai.tool.name"], s.attributes["lantern.call.status"], s.attributes["error.type"]])).toEqual([
      ["hang_past_limit", "timeout", "-32004"],
      ["wait", "timeout", "-32004"],
      ["wait", "cancelled", "-32800"],
      ["reconcile", "cancelled", "-32800"],
      ["wait", "ok", undefined],
      ["reconcile", "ok", undefined],
    ]);
    expect(toolSpans.slice(0, 4).every((s) => s.status.code === 2)).toBe(true);

    // OpenTelemetry metrics: the operation duration carries the JSON-RPC code each call ended with.
    const { resourceMetrics } = await reader.collect();
    const operation = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === "mcp.server.operation.duration") as HistogramMetricData;
    const byEnd = (tool: string, code: string | undefined) =>
      operation.dataPoints.filter((p) => p.attributes["gen_ai.tool.name"] === tool && p.attributes["error.type"] === code).reduce((n, p) => n + p.value.count, 0);
    expect([byEnd("hang_past_limit", "-32004"), byEnd("wait", "-32004"), byEnd("wait", "-32800"), byEnd("reconcile", "-32800"), byEnd("wait", undefined)]).toEqual([1, 1, 1, 1, 1]);

    // Built-in metrics and Prometheus count them as errors (Prometheus' status label is ok|error by design).
    const snapshot = JSON.parse(textOf(await client.readResource({ uri: "metrics://server" })));
    expect(snapshot.tools.hang_past_limit).toMatchObject({ calls: 1, errors: 1 });
    expect(snapshot.tools.wait).toMatchObject({ calls: 3, errors: 2 });
    expect(snapshot.tools.reconcile).toMatchObject({ calls: 2, errors: 1 });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'inventory_tool_calls_total{tool="wait",status="error"}')).toBe(2);
    expect(sample(text, 'inventory_tool_calls_total{tool="wait",status="ok"}')).toBe(1);
    expect(sample(text, 'inventory_tool_in_flight{tool="wait"}')).toBe(0);
    expect(sample(text, 'inventory_tool_in_flight{tool="hang_past_limit"}')).toBe(0);
  });

  it("keeps answering other clients while calls hang, and frees every slot when 16 of them time out at once", async () => {
    const before = ended.length;
    const hanging = Array.from({ length: 16 }, () => client.callTool({ name: "hang_past_limit", arguments: { ms: 1 } }).catch((e: unknown) => e));
    const other = await connectClient(url, await tokenFor("other-agent", ["inventory:read"]), "other-agent");
    const found = (await other.client.callTool({ name: "find_items", arguments: { query: "bulb" } })) as CallToolResult;
    expect((found.structuredContent as { items: unknown[] }).items).toHaveLength(1);
    const errors = (await Promise.all(hanging)) as McpError[];
    expect(errors.map((e) => e.code)).toEqual(Array(16).fill(-32004));
    await callsEnded(before + 17);
    expect(ended.slice(before).filter((e) => e.name === "hang_past_limit").every((e) => e.status === "timeout")).toBe(true);
    expect(await inFlight()).toBe(0);
    await other.client.close();
  });
});
