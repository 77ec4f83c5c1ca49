import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import winston from "winston";
import {
  AuditMiddleware,
  McpServer,
  OTelMiddleware,
  Server,
  ServerStateError,
  StructuredLoggingMiddleware,
  Tool,
  type Authenticator,
} from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

const AUDIT_SECRET = "test-audit-secret-0123456789abcdef";

@Server({ name: "lifecycle", version: "1.0.0" })
class Plain {
  @Tool({ description: "x" }) ping() { return "pong"; }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("mutators after the server started throw a coded error naming the call", () => {
  const authenticator: Authenticator = { authenticate: async () => undefined, challenge: () => "Bearer" };

  it.each([
    ["provide", (s: McpServer) => s.provide("late-token", () => 1)],
    ["route", (s: McpServer) => s.route("GET", "/late", () => {})],
    ["setAuthenticator", (s: McpServer) => s.setAuthenticator(authenticator)],
    ["use", (s: McpServer) => s.use(async (_ctx, next) => next())],
    ["register", (s: McpServer) => s.register(Plain)],
  ])("server.%s()", async (name, call) => {
    const server = new McpServer(Plain);
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    let thrown: unknown;
    try {
      call(server);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ServerStateError);
    expect((thrown as ServerStateError).code).toBe("LANTERN_ERR_ALREADY_STARTED");
    expect((thrown as Error).message).toContain(`server.${name}()`);
  });

  it("onShutdown while the server closes is refused (the hook would never run)", async () => {
    const server = new McpServer(Plain);
    let refused: unknown;
    server.onShutdown(() => {
      try {
        server.onShutdown(() => {});
      } catch (error) {
        refused = error;
      }
    });
    const client = await createTestClient(server);
    await client.close();
    await server.close();
    expect(refused).toBeInstanceOf(ServerStateError);
    expect((refused as ServerStateError).code).toBe("LANTERN_ERR_CLOSING");
  });

  it("createTestClient(server, { server }) refuses options it could not apply", async () => {
    const server = new McpServer(Plain);
    await expect(createTestClient(server, { server: { defaultTimeoutMs: 5 } })).rejects.toThrow(
      "createTestClient options: \"server\" configures the server built from a class, and an McpServer instance was given; pass those options to new McpServer(..., options) instead",
    );
  });
});

describe("a server shutdown is recorded as a shutdown, not as the client's cancel", () => {
  it("in the audit trail, the structured log and the span", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lantern-shutdown-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const logPath = join(dir, "audit.jsonl");
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

    let started!: () => void;
    const running = new Promise<void>((resolve) => { started = resolve; });
    const server = new McpServer({ name: "closing", version: "1" });
    server.addTool({ name: "wait", description: "Waits until the server stops", handler: () => { started(); return new Promise(() => {}); } });
    server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream })] }));
    server.use(new AuditMiddleware({ logPath, hmacSecret: AUDIT_SECRET }));
    server.use(new OTelMiddleware({ tracerProvider }));
    const client = await createTestClient(server);
    const call = client.callTool("wait").catch((error: unknown) => error);
    await running;
    await server.close(0);
    await call;
    await client.close();

    const entry = JSON.parse(readFileSync(logPath, "utf8").trim()) as { status: string; error: { type: string; message: string } };
    expect(entry.status).toBe("cancelled");
    expect(entry.error).toEqual({ type: "server_shutdown", message: "ServerShutdownError: The server is shutting down" });

    const line = lines.find((l) => l.event === "tool_call")!;
    expect(line).toMatchObject({ status: "cancelled", error: expect.stringContaining("The server is shutting down") });
    expect(JSON.stringify(line)).not.toContain("cancelled by the client");

    const [span] = exporter.getFinishedSpans();
    expect(span!.attributes["error.type"]).toBe("server_shutdown");
    expect(span!.status.message).toBe("The server is shutting down");
  });
});
