import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { IsString } from "class-validator";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import winston from "winston";
import {
  AuditMiddleware,
  DashboardTelemetry,
  McpServer,
  MetricsCollector,
  MetricsMiddleware,
  OTelMiddleware,
  PrometheusMiddleware,
  REPLICA_ID_ENV,
  Server,
  StructuredLoggingMiddleware,
  Tool,
  verifyAuditLog,
  type AuditEntry,
} from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";
import { jsonLineSink } from "../support/json-lines.js";
import { readEntries, SECRET, tempDir } from "./audit/helpers.js";

class Say {
  @IsString() text!: string;
}

@Server({ name: "echo-api", version: "1.0.0" })
class EchoApi {
  @Tool({ description: "Echoes the text" })
  echo(input: Say) {
    return input.text;
  }
}

/** Waits (boundedly) until `ready()` holds: winston and the audit writer finish on later turns. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((resolve) => setImmediate(resolve));
}

let folder: { dir: string; remove: () => void };
beforeEach(() => {
  folder = tempDir("lantern-replica-");
});
afterEach(() => folder.remove());

describe("the replica id names the process in every signal", () => {
  it("spans, log lines, audit entries, metrics://server, /healthz and one Prometheus info series carry the configured id", async () => {
    const lines: Record<string, unknown>[] = [];
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const registry = new Registry();
    const metrics = new MetricsCollector();
    const logPath = join(folder.dir, "replica-7", "audit.jsonl");
    const server = new McpServer(EchoApi, { replicaId: "replica-7" });
    server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: jsonLineSink(lines) })] }));
    server.use(new AuditMiddleware({ logPath, hmacSecret: SECRET }));
    server.use(new OTelMiddleware({ tracerProvider }));
    server.use(new PrometheusMiddleware({ registry }));
    server.use(new MetricsMiddleware(metrics));
    metrics.registerResource(server);
    expect(server.replicaId).toBe("replica-7");
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    try {
      const client = new Client({ name: "fleet-agent", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(running.url!)));
      await client.callTool({ name: "echo", arguments: { text: "one" } });
      await client.callTool({ name: "echo", arguments: { text: "two" } });
      const read = await client.readResource({ uri: "metrics://server" });
      await client.close();

      const snapshot = JSON.parse((read.contents[0] as { text: string }).text) as Record<string, unknown>;
      expect(snapshot.replica).toBe("replica-7");
      expect(metrics.snapshot().replica).toBe("replica-7");

      const health = await fetch(`http://127.0.0.1:${running.port}/healthz`);
      expect(await health.json()).toMatchObject({ status: "ok", replica: "replica-7" });

      const exposition = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
      expect(exposition).toMatch(/^mcp_replica_info\{replica="replica-7"\} 1$/m);
      // Only the info series names the replica: the fleet's scrape config adds it to the rest as a target label.
      expect([...exposition.matchAll(/^(\w+)\{[^}]*replica=/gm)].map((m) => m[1])).toEqual(["mcp_replica_info"]);

      const callSpans = spans.getFinishedSpans();
      expect(callSpans.map((s) => s.name).sort()).toEqual(["resources/read", "tools/call echo", "tools/call echo"]);
      for (const span of callSpans) expect(span.attributes["service.instance.id"]).toBe("replica-7");

      await until(() => lines.length >= 3);
      expect(lines.map((l) => l.event).sort()).toEqual(["resource_read", "tool_call", "tool_call"]);
      for (const line of lines) expect(line).toMatchObject({ service: "echo-api", replica: "replica-7" });
    } finally {
      await server.close(1000);
    }

    const entries = readEntries(logPath);
    expect(entries.map((e) => e.tool)).toEqual(["echo", "echo", "metrics://server"]);
    for (const entry of entries) expect(entry.replica).toBe("replica-7");
    expect((await verifyAuditLog(logPath, { secret: SECRET })).ok).toBe(true);
    // The id is signed like every field: an entry moved to another replica's name no longer verifies.
    const moved = readFileSync(logPath, "utf8").replace('"replica":"replica-7"', '"replica":"replica-8"');
    writeFileSync(logPath, moved);
    const tampered = await verifyAuditLog(logPath, { secret: SECRET });
    expect(tampered.problems.map((p) => [p.kind, p.seq])).toEqual([["modified", 1]]);
  });

  it("ECS lines carry it as service.node.name, and lines the logger writes about itself carry it too", async () => {
    const lines: Record<string, unknown>[] = [];
    const server = new McpServer(EchoApi, { replicaId: "ecs-1" });
    server.use(new StructuredLoggingMiddleware({ format: "ecs", transports: [new winston.transports.Stream({ stream: jsonLineSink(lines) })] }));
    const client = await createTestClient(server);
    await client.callTool("echo", { text: "hi" });
    await expect(client.callTool("no_such_tool", {})).rejects.toThrow(/Unknown tool/);
    await client.close();
    await server.close();
    await until(() => lines.length >= 2);
    const call = lines.find((l) => (l.event as { action?: string })?.action === "tool_call");
    expect(call?.service).toEqual({ name: "echo-api", node: { name: "ecs-1" } });
    const refused = lines.find((l) => l.event === "request_refused");
    expect(refused?.service).toEqual({ name: "echo-api", node: { name: "ecs-1" } });
  });

  it("audit entries a log writes about itself (a chain recovery) name the replica too", async () => {
    const logPath = join(folder.dir, "audit.jsonl");
    const first = new McpServer(EchoApi, { replicaId: "r-a" }).use(new AuditMiddleware({ logPath, hmacSecret: SECRET }));
    const client = await createTestClient(first);
    await client.callTool("echo", { text: "x" });
    await client.close();
    await first.close();
    writeFileSync(`${logPath}.head.json`, "{}");
    const second = new McpServer(EchoApi, { replicaId: "r-a" }).use(new AuditMiddleware({ logPath, hmacSecret: SECRET, recover: "accept-tail", onReport: () => {} }));
    await second.build();
    await second.close();
    const entries: AuditEntry[] = readEntries(logPath);
    expect(entries.map((e) => [e.kind, e.replica])).toEqual([["tool", "r-a"], ["chain-recovery", "r-a"]]);
  });
});

describe("the dashboard's snapshot", () => {
  it("names the replica, so a fleet's dashboard can label its rows", async () => {
    const named = new McpServer(EchoApi, { replicaId: "replica-3" });
    expect(new DashboardTelemetry(named).snapshot().replica).toBe("replica-3");
  });
});

describe("the default replica id", () => {
  const saved = process.env[REPLICA_ID_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[REPLICA_ID_ENV];
    else process.env[REPLICA_ID_ENV] = saved;
  });

  it("is <host name>-<pid> without configuration", () => {
    delete process.env[REPLICA_ID_ENV];
    const id = new McpServer({ name: "a", version: "1" }).replicaId;
    expect(id).toBe(`${hostname().replace(/\s+/g, "-")}-${process.pid}`);
    expect(id).toMatch(new RegExp(`-${process.pid}$`));
  });

  it("comes from LANTERN_REPLICA_ID when it is set, and the option wins over it", () => {
    process.env[REPLICA_ID_ENV] = "from-env-3";
    expect(new McpServer({ name: "a", version: "1" }).replicaId).toBe("from-env-3");
    expect(new McpServer({ name: "a", version: "1" }, { replicaId: "given" }).replicaId).toBe("given");
  });

  it("refuses an unusable LANTERN_REPLICA_ID, naming the variable", () => {
    process.env[REPLICA_ID_ENV] = "two words";
    expect(() => new McpServer({ name: "a", version: "1" })).toThrow(/LANTERN_REPLICA_ID must be a replica id: 1 to 128 printable characters without whitespace.*"two words"/);
  });
});

describe("a bad replica id is refused with a message naming the option", () => {
  it.each([
    ["", RangeError],
    ["has space", RangeError],
    ["tab\there", RangeError],
    ["line\nbreak", RangeError],
    ["x".repeat(129), RangeError],
    [42, TypeError],
  ])("%j", (replicaId, type) => {
    const build = () => new McpServer({ name: "a", version: "1" }, { replicaId: replicaId as string });
    expect(build).toThrow(type);
    expect(build).toThrow(/new McpServer\(…, options\): "replicaId" must be a replica id: 1 to 128 printable characters without whitespace/);
  });

  it("accepts 128 printable characters", () => {
    expect(new McpServer({ name: "a", version: "1" }, { replicaId: "é".repeat(128) }).replicaId).toHaveLength(128);
  });

  it("points a misspelled key at replicaId", () => {
    expect(() => new McpServer({ name: "a", version: "1" }, { replica: "r1" } as never)).toThrow(/unknown option "replica": use "replicaId"/);
  });

  it.each([
    ["StructuredLoggingMiddleware", () => new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: jsonLineSink([]) })] }), /One StructuredLoggingMiddleware cannot log for two servers with different names or replica ids/],
    ["OTelMiddleware", () => new OTelMiddleware({ tracerProvider: new BasicTracerProvider() }), /One OTelMiddleware cannot trace for two servers with different replica ids \("r-1" and "r-2"\)/],
    ["MetricsMiddleware", () => new MetricsMiddleware(new MetricsCollector()), /One MetricsCollector cannot count for two replicas \("r-1" and "r-2"\)/],
  ])("refuses one %s for two replicas when the servers are built", async (_name, make, message) => {
    const shared = make();
    const one = new McpServer(EchoApi, { replicaId: "r-1" }).use(shared);
    const two = new McpServer(EchoApi, { replicaId: "r-2" }).use(shared);
    await one.build();
    await expect(two.build()).rejects.toThrow(message);
    await one.close();
  });

  it("refuses one audit chain for two replicas when the servers are built", async () => {
    const audit = new AuditMiddleware({ logPath: join(folder.dir, "shared.jsonl"), hmacSecret: SECRET });
    const one = new McpServer(EchoApi, { replicaId: "r-1" }).use(audit);
    const two = new McpServer(EchoApi, { replicaId: "r-2" }).use(audit);
    await one.build();
    await expect(two.build()).rejects.toThrow(/One AuditMiddleware cannot record the calls of two replicas \("r-1" and "r-2"\)/);
    await one.close();
  });
});
