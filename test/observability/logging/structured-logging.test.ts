import "reflect-metadata";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { IsOptional, IsString } from "class-validator";
import winston from "winston";
import {
  Inject,
  Logged,
  McpServer,
  OTelMiddleware,
  Server,
  ServerLogger,
  StructuredLoggingMiddleware,
  Tool,
  type Middleware,
  type StructuredLoggingOptions,
} from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import type { CallContext } from "../../../src/core/call-context.js";
import { jsonCallRecord, jsonClientLogRecord, logOrigin } from "../../../src/observability/logging/log-records.js";

class Login {
  @IsString() user!: string;
  @IsString() password!: string;
  @IsOptional() @IsString() note?: string;
}

class Csv {
  @IsString() url!: string;
}

@Server({ name: "accounts", version: "1.0.0" })
class Accounts {
  @Tool({ description: "Log in" })
  login(input: Login) {
    return { user: input.user };
  }

  @Tool({ description: "Always fails" })
  explode() {
    throw new TypeError("boom");
  }

  @Tool({ description: "Needs a scope", scopes: ["accounts:admin"] })
  purge() {
    return "purged";
  }

  @Tool({ description: "Import a CSV" })
  async importCsv(input: Csv, @Inject(ServerLogger) logger: ServerLogger) {
    await logger.info({ msg: "Downloading CSV...", url: input.url, auth: { user: "svc", password: "from-the-url" } });
    await trace.getTracer("accounts").startActiveSpan("csv.parse", async (span) => {
      await logger.warning("row 3 is malformed");
      span.end();
    });
    return "imported";
  }
}

/** Collects the JSON lines a real winston logger writes. */
function captureLines(): { lines: Record<string, unknown>[]; raw: string[]; transport: winston.transport } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      callback();
    },
  });
  return { lines, raw, transport: new winston.transports.Stream({ stream }) };
}

/** winston hands lines to its transports through streams: let them drain, boundedly. */
async function settle(lines: unknown[], count: number): Promise<void> {
  for (let i = 0; i < 50 && lines.length < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

let client: TestClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function serve(options: StructuredLoggingOptions, extra: { before?: Middleware[]; after?: Middleware[]; scopes?: string[] } = {}) {
  const captured = captureLines();
  const server = new McpServer(Accounts, { onInternalError: () => {} });
  for (const mw of extra.before ?? []) server.use(mw);
  server.use(new StructuredLoggingMiddleware({ transports: [captured.transport], ...options }));
  for (const mw of extra.after ?? []) server.use(mw);
  client = await createTestClient(server, { identity: { clientId: "agent-7", scopes: extra.scopes ?? [] } });
  return { ...captured, client };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("StructuredLoggingMiddleware (json)", () => {
  it("writes one line per call with exactly the seed's fields plus client_id", async () => {
    const { lines, client } = await serve({});
    await client.callTool("login", { user: "ada", password: "hunter2" });
    await settle(lines, 1);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    // The seed's fields plus client_id, what the request said of itself (protocol version and client) and who wrote the line (service, replica).
    expect(Object.keys(line).sort()).toEqual(["client_id", "client_name", "client_version", "duration_ms", "event", "level", "protocol_version", "replica", "request_id", "service", "status", "timestamp", "tool"]);
    expect(line).toMatchObject({ level: "info", event: "tool_call", tool: "login", status: "ok", client_id: "agent-7" });
    expect(line.request_id).toEqual(expect.any(String));
    expect(line.duration_ms).toBeGreaterThanOrEqual(0);
    expect(line.timestamp).toMatch(ISO_UTC);
  });

  it("keeps arguments out by default", async () => {
    const { raw, lines, client } = await serve({});
    await client.callTool("login", { user: "ada", password: "hunter2" });
    await settle(lines, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty("args");
    expect(raw.join("\n")).not.toContain("hunter2");
    expect(raw.join("\n")).not.toContain("ada");
  });

  it("writes `error: \"<ErrorName>: <message>\"` on failure, at level error", async () => {
    const { lines, client } = await serve({});
    await client.callTool("explode");
    await expect(client.callTool("login", { user: 1 })).rejects.toThrow();
    await settle(lines, 2);
    expect(lines[0]).toMatchObject({ level: "error", event: "tool_call", tool: "explode", status: "error", error: "TypeError: boom" });
    expect(lines[1]).toMatchObject({ level: "error", tool: "login", status: "error" });
    expect(lines[1]!.error).toMatch(/^InvalidParamsError: /);
  });

  it("logs a refused call as refused, at level warn", async () => {
    const { lines, client } = await serve({});
    await expect(client.callTool("purge")).rejects.toThrow(/accounts:admin/);
    await settle(lines, 1);
    expect(lines[0]).toMatchObject({ level: "warn", tool: "purge", status: "refused", client_id: "agent-7" });
    expect(lines[0]!.error).toMatch(/^ForbiddenError: Forbidden: /);
  });

  it("includes arguments when asked, with redacted fields masked (names compared without case)", async () => {
    const { lines, raw, client } = await serve({ includeArgs: true, redact: ["password", "NOTE"] });
    await client.callTool("login", { user: "ada", password: "hunter2", note: "secret note" });
    await settle(lines, 1);
    expect(lines[0]!.args).toEqual({ user: "ada", password: "[REDACTED]", note: "[REDACTED]" });
    expect(raw.join("\n")).not.toContain("hunter2");
    expect(raw.join("\n")).not.toContain("secret note");
  });

  it("records ServerLogger messages with the call's request id, redacted at any depth", async () => {
    const { lines, client } = await serve({ redact: ["password"] });
    await client.callTool("import_csv", { url: "https://example.test/a.csv" });
    await settle(lines, 3);
    const [info, warning, call] = lines;
    expect(call).toMatchObject({ event: "tool_call", tool: "import_csv" });
    expect(info).toMatchObject({
      event: "client_log",
      level: "info",
      mcp_level: "info",
      tool: "import_csv",
      request_id: call!.request_id,
      client_id: "agent-7",
      data: { msg: "Downloading CSV...", url: "https://example.test/a.csv", auth: { user: "svc", password: "[REDACTED]" } },
    });
    expect(warning).toMatchObject({ event: "client_log", level: "warn", mcp_level: "warning", data: "row 3 is malformed", request_id: call!.request_id });
  });

  it("uses a logger you pass in", async () => {
    const captured = captureLines();
    const logger = winston.createLogger({ format: winston.format.json(), transports: [captured.transport], defaultMeta: { service: "accounts" } });
    const server = new McpServer(Accounts);
    server.use(new StructuredLoggingMiddleware({ logger }));
    client = await createTestClient(server);
    await client.callTool("login", { user: "ada", password: "x" });
    await settle(captured.lines, 1);
    expect(captured.lines[0]).toMatchObject({ service: "accounts", event: "tool_call", tool: "login", client_id: "lantern-test-client" });
  });
});

describe("trace correlation", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  afterEach(() => exporter.reset());

  const callSpan = () => exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;

  it("names the call's trace and span when the log middleware runs outside the tracing one", async () => {
    const { lines, client } = await serve({}, { after: [new OTelMiddleware()] });
    await client.callTool("login", { user: "ada", password: "x" });
    await settle(lines, 1);
    expect(lines[0]!.trace_id).toBe(callSpan().spanContext().traceId);
    expect(lines[0]!.span_id).toBe(callSpan().spanContext().spanId);
  });

  it("names them when it runs inside the tracing one", async () => {
    const { lines, client } = await serve({}, { before: [new OTelMiddleware()] });
    await client.callTool("login", { user: "ada", password: "x" });
    await settle(lines, 1);
    expect(lines[0]!.trace_id).toBe(callSpan().spanContext().traceId);
    expect(lines[0]!.span_id).toBe(callSpan().spanContext().spanId);
  });

  it("gives a ServerLogger message the span active where it was sent", async () => {
    const { lines, client } = await serve({}, { after: [new OTelMiddleware()] });
    await client.callTool("import_csv", { url: "u" });
    await settle(lines, 3);
    const parse = exporter.getFinishedSpans().find((s) => s.name === "csv.parse")!;
    expect(lines[0]).toMatchObject({ event: "client_log", trace_id: callSpan().spanContext().traceId, span_id: callSpan().spanContext().spanId });
    expect(lines[1]).toMatchObject({ event: "client_log", trace_id: parse.spanContext().traceId, span_id: parse.spanContext().spanId });
  });
});

describe("StructuredLoggingMiddleware (ecs)", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  it("writes Elastic Common Schema field names", async () => {
    const { lines, client } = await serve({ format: "ecs", includeArgs: true, redact: ["password"] }, { after: [new OTelMiddleware({ tracerProvider: provider })] });
    await client.callTool("login", { user: "ada", password: "hunter2" });
    await client.callTool("explode");
    await settle(lines, 2);
    const [ok, failed] = lines;
    const span = exporter.getFinishedSpans()[0]!;
    expect(ok).not.toHaveProperty("level");
    expect(ok).toMatchObject({
      "log.level": "info",
      "ecs.version": expect.any(String),
      message: "tool_call login ok",
      event: { kind: "event", action: "tool_call", outcome: "success" },
      trace: { id: span.spanContext().traceId },
      span: { id: span.spanContext().spanId },
      mcp: { method: "tools/call", tool: "login", client_id: "agent-7", status: "ok", args: { user: "ada", password: "[REDACTED]" } },
    });
    expect(ok!["@timestamp"]).toMatch(ISO_UTC);
    const duration = (ok!.event as { duration: number }).duration;
    expect(Number.isInteger(duration)).toBe(true);
    expect(duration).toBeGreaterThan(0);
    expect(failed).toMatchObject({
      "log.level": "error",
      event: { outcome: "failure" },
      error: { type: "TypeError", message: "boom" },
      mcp: { tool: "explode", status: "error" },
    });
    await provider.shutdown();
  });
});

describe("@Logged", () => {
  @Server({ name: "partly-logged", version: "1.0.0" })
  class PartlyLogged {
    @Tool({ description: "Logged with its arguments" })
    @Logged({ includeArgs: true })
    detailed(input: Csv) {
      return input.url;
    }

    @Tool({ description: "Plain" })
    plain(input: Csv) {
      return input.url;
    }
  }

  it("logs a call covered by the server's middleware and the decorator once, with the decorator's options", async () => {
    const captured = captureLines();
    const server = new McpServer(PartlyLogged);
    server.use(new StructuredLoggingMiddleware({ transports: [captured.transport] }));
    client = await createTestClient(server);
    await client.callTool("detailed", { url: "a" });
    await client.callTool("plain", { url: "b" });
    await settle(captured.lines, 2);
    expect(captured.lines.map((l) => [l.tool, l.args])).toEqual([
      ["detailed", { url: "a" }],
      ["plain", undefined],
    ]);
  });
});

describe("logging to a file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lantern-log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes every line through winston's (asynchronous) file transport, flushed when the server closes", async () => {
    const filename = join(dir, "calls.log");
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.File({ filename })] }));
    const c = await createTestClient(server);
    for (let i = 0; i < 20; i++) await c.callTool("login", { user: `u${i}`, password: "x" });
    await c.callTool("explode");
    await c.close();
    await server.close(1000);
    const lines = readFileSync(filename, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(21);
    expect(lines[20]).toMatchObject({ event: "tool_call", tool: "explode", status: "error", error: "TypeError: boom" });
  });

  it("`file` writes the lines in batches (concurrent calls share writes), all of them by close", async () => {
    const path = join(dir, "batched.log");
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: { path, flushMs: 20 } }));
    const c = await createTestClient(server);
    await Promise.all(Array.from({ length: 40 }, (_, i) => c.callTool("login", { user: `u${i}`, password: "x" })));
    await c.close();
    await server.close(1000);
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { tool: string; status: string });
    expect(lines).toHaveLength(40);
    expect(lines.every((l) => l.tool === "login" && l.status === "ok")).toBe(true);
  });

  it.each(["json", "ecs"] as const)("`file` alone writes the bytes winston's %s format would, and honours the level", async (format) => {
    const path = join(dir, `${format}.log`);
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: { path, flushMs: 0 }, format, level: "info", includeArgs: true, redact: ["password"] }));
    const quiet = join(dir, `${format}-warn.log`);
    const warnOnly = new McpServer(Accounts, { onInternalError: () => {} });
    warnOnly.use(new StructuredLoggingMiddleware({ file: { path: quiet, flushMs: 0 }, format, level: "warn" }));
    for (const s of [server, warnOnly]) {
      const c = await createTestClient(s);
      await c.callTool("login", { user: "ünïcödé \u2028 \"quoted\"", password: "secret" });
      await c.callTool("explode");
      await c.callTool("import_csv", { url: "https://example.test/a.csv" });
      await c.close();
      await s.close(1000);
    }
    const json = winston.format.json();
    const winstonLine = (record: object) => (json.transform({ ...record } as Parameters<typeof json.transform>[0], json.options) as Record<symbol, string>)[Symbol.for("message")];
    const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
    // Three call lines and import_csv's two ServerLogger messages.
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toBe(winstonLine(JSON.parse(line)));
    expect(lines.join("\n")).not.toContain("secret");
    expect(lines.some((l) => l.includes("ünïcödé"))).toBe(true);
    // The ServerLogger messages keep their MCP level.
    type Line = { event: string | { action: string }; mcp_level?: string; mcp?: { log_level?: string } };
    const parsed = lines.map((l) => JSON.parse(l) as Line);
    const clientLogs = format === "ecs"
      ? parsed.filter((l) => (l.event as { action: string }).action === "client_log").map((l) => l.mcp?.log_level)
      : parsed.filter((l) => l.event === "client_log").map((l) => l.mcp_level);
    expect(clientLogs).toEqual(["info", "warning"]);
    const quietLines = readFileSync(quiet, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const levelOf = (l: Record<string, unknown>) => (format === "ecs" ? l["log.level"] : l.level);
    // At "warn": explode's line and the "row 3 is malformed" warning; the info lines are left out.
    expect(quietLines.map(levelOf).sort()).toEqual(["error", "warn"]);
  });

  it("`file` on a full disk: the calls still answer, and stderr says how many lines were lost and why", async () => {
    // /dev/full accepts open() and fails every write with ENOSPC: a real full disk.
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: { path: "/dev/full", flushMs: 0 } }));
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const c = await createTestClient(server);
      for (let i = 0; i < 3; i++) expect(await c.callTool("login", { user: `u${i}`, password: "x" })).toMatchObject({ structuredContent: { user: `u${i}` } });
      await c.close();
      await server.close(1000);
    } finally {
      process.stderr.write = write;
    }
    const notices = written.filter((l) => l.includes("could not be written"));
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices[0]).toMatch(/the log file \/dev\/full could not be written \(.*ENOSPC.*\): \d+ line\(s\) lost/);
    const lost = notices.reduce((sum, l) => sum + Number(/(\d+) line\(s\) lost/.exec(l)![1]), 0);
    expect(lost).toBe(3);
  });

  it("`file` rotates past maxBytes and keeps maxFiles rotated files", async () => {
    const path = join(dir, "rotating.log");
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: { path, flushMs: 0, maxBytes: 4096, maxFiles: 2 } }));
    const c = await createTestClient(server);
    for (let i = 0; i < 120; i++) await c.callTool("login", { user: `u${i}`, password: "x" });
    await c.close();
    await server.close(1000);
    const files = readdirSync(dir).filter((f) => f.startsWith("rotating.log")).sort();
    expect(files).toEqual(["rotating.log", "rotating.log.1", "rotating.log.2"]);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(4096);
    // Every file holds whole lines only.
    for (const f of files) for (const line of readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("`file` that cannot rotate says so once and keeps growing, every line written", async () => {
    const path = join(dir, "stuck.log");
    // A directory where the rotated file would go: renaming the log file onto it fails.
    mkdirSync(`${path}.1`);
    writeFileSync(join(`${path}.1`, "keep"), "");
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: { path, flushMs: 0, maxBytes: 4096, maxFiles: 1 } }));
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const c = await createTestClient(server);
      for (let i = 0; i < 60; i++) await c.callTool("login", { user: `u${i}`, password: "x" });
      await c.close();
      await server.close(1000);
    } finally {
      process.stderr.write = write;
    }
    expect(written.filter((l) => l.includes("could not be rotated"))).toEqual([expect.stringMatching(/the log file .*stuck\.log could not be rotated \(.*\); it keeps growing/)]);
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean)).toHaveLength(60);
  });

  it("refuses a misspelled file option and a file it cannot open, saying how to fix it", async () => {
    expect(() => new StructuredLoggingMiddleware({ file: { path: join(dir, "x.log"), maxsize: 10 } as never })).toThrow(/maxsize.*maxBytes/);
    expect(() => new StructuredLoggingMiddleware({ file: { flushMs: 5 } as never })).toThrow(/StructuredLoggingMiddleware file options: "path" is required: it is the file the lines are appended to/);
    expect(() => new StructuredLoggingMiddleware({ file: { path: join(dir, "x.log"), maxFiles: 3 } })).toThrow(/"maxFiles" keeps rotated files, and files rotate only past "maxBytes"/);
    expect(() => new StructuredLoggingMiddleware({ transports: [] })).toThrow(/"transports" is empty and no "file" is given, so every line would be lost/);
    // "warning" is syslog's name: the logger Lantern creates (npm levels) would write nothing at it.
    expect(() => new StructuredLoggingMiddleware({ file: join(dir, "x.log"), level: "warning" })).toThrow(/"level" must be one of "error", "warn", "info", .*, got the string "warning"/);
    expect(() => new StructuredLoggingMiddleware({ file: join(dir, "x.log"), logger: winston.createLogger() })).toThrow(/"file" configures the logger Lantern creates/);
    const server = new McpServer(Accounts, { onInternalError: () => {} });
    server.use(new StructuredLoggingMiddleware({ file: join(dir, "missing", "x.log") }));
    await expect(server.build()).rejects.toThrow(/cannot open the log file .*missing.*create its folder/);
  });
});

describe("JSON line records", () => {
  // The sink writes a record whose keys are already sorted with JSON.stringify alone: every field
  // present at once must still come in sorted order, or each line takes the slow general path.
  it("set their keys in sorted order, every optional field present", () => {
    const spanContext = { traceId: "t".repeat(32), spanId: "s".repeat(16), traceFlags: 1 };
    const origin = logOrigin("svc", "r1");
    for (const kind of ["tool", "resource", "prompt"] as const) {
      const ctx = {
        kind,
        name: "n",
        clientId: "c",
        clientInfo: { name: "cn", version: "1" },
        outcome: { inputRequired: ["elicitation"] },
        round: 2,
        correlationId: "corr",
        protocolVersion: "2026-07-28",
        sessionId: "sess",
        requestId: "7",
      } as unknown as CallContext;
      const call = jsonCallRecord(ctx, { level: "error", status: "error", durationMs: 1.5, errorName: "TypeError", errorMessage: "boom", args: { a: 1 }, spanContext }, origin);
      const clientLog = jsonClientLogRecord(ctx, { level: "info", mcpLevel: "info", logger: "l", data: "d", spanContext }, origin);
      const common = [kind, "client_id", "client_name", "client_version", "correlation_id", "event", "input_required", "level", "protocol_version", "replica", "request_id", "round", "service", "session_id", "span_id", "timestamp", "trace_id"];
      // Exactly these keys, in this order: every field of the line, sorted.
      expect(Object.keys(call)).toEqual([...common, "args", "duration_ms", "error", "status"].sort());
      expect(Object.keys(clientLog)).toEqual([...common, "data", "logger", "mcp_level"].sort());
    }
  });
});
