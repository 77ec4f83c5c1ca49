import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { IsString } from "class-validator";
import { Registry as PromRegistry } from "prom-client";
import { injectable } from "tsyringe";
import {
  AuditMiddleware,
  AuthMiddleware,
  CallContext,
  DefinitionError,
  Inject,
  JWTAuth,
  Logged,
  McpServer,
  Metered,
  MetricsCollector,
  Param,
  ProgressReporter,
  PrometheusMiddleware,
  Prompt,
  Resource,
  Server,
  ServerLogger,
  Tool,
  Traced,
  UseMiddleware,
  type MiddlewareObject,
  type ServerSetup,
} from "lantern-mcp";
import { createTestClient, createToken } from "lantern-mcp/testing";

class Named {
  @IsString() name!: string;
}

const JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256!";
const AUDIT_SECRET = "test-audit-secret-0123456789abcdef";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("names are claimed per kind: a duplicate is a DefinitionError naming both places", () => {
  it("two prompts of one name", () => {
    @Server({ name: "p", version: "1" })
    class Prompts {
      @Prompt({ description: "a" }) greet() { return "hi"; }
      @Prompt({ description: "b", name: "greet" }) other() { return "hello"; }
    }
    expect(() => new McpServer(Prompts)).toThrow(
      'Cannot register prompt "greet" on Prompts.other: Prompts.greet already registered a prompt of that name; give one of them @Prompt({ name })',
    );
  });

  it("a static resource URI registered twice, by a class and by addResource", () => {
    @Server({ name: "r", version: "1" })
    class Docs { @Resource("docs://readme") readme() { return "# readme"; } }
    const server = new McpServer(Docs);
    expect(() => server.addResource("docs://readme", () => "other")).toThrow(
      'Cannot register resource "docs://readme" on server.addResource("docs://readme"): Docs.readme already registered a resource of that URI; change one of the URIs',
    );
  });

  it("two templates matching the same URIs, whatever their variables are called", () => {
    @Server({ name: "t", version: "1" })
    class Items {
      @Resource("shop://items/{id}") item(@Param("id") id: string) { return id; }
      @Resource("shop://items/{sku}") bySku(@Param("sku") sku: string) { return sku; }
    }
    expect(() => new McpServer(Items)).toThrow(
      'Cannot register resource "shop://items/{sku}" on Items.bySku: Items.item already registered a template matching the same URIs (shop://items/{id}); the first would answer every read; change one of the templates',
    );
  });

  it("a tool added with addTool under a decorated tool's name", () => {
    @Server({ name: "d", version: "1" })
    class Api { @Tool({ description: "x" }) ping() { return "pong"; } }
    const server = new McpServer(Api);
    expect(() => server.addTool({ name: "ping", description: "again", handler: () => "pong" })).toThrow(
      'Cannot register tool "ping" on server.addTool("ping"): Api.ping already registered a tool of that name',
    );
  });
});

describe("@Param names are checked against the URI template, both ways", () => {
  it("a misspelt variable", () => {
    @Server({ name: "s", version: "1" })
    class Stock { @Resource("inventory://items/{sku}") item(@Param("skuu") sku: string) { return sku; } }
    expect(() => new McpServer(Stock)).toThrow(
      'Cannot register resource "inventory://items/{sku}" on Stock.item: @Param("skuu") names no variable of the URI template "inventory://items/{sku}": its variables are {sku}',
    );
  });

  it("a variable no parameter binds", () => {
    @Server({ name: "s2", version: "1" })
    class Pages { @Resource("docs://{section}/{page}") page(@Param("page") page: string) { return page; } }
    expect(() => new McpServer(Pages)).toThrow('the URI template variable {section} is bound to no parameter: add @Param("section") to one');
  });
});

describe("every injection token is checked when the server is built", () => {
  it("a class the container cannot build fails the build, naming it", async () => {
    class Unbuildable { constructor(readonly url: string) {} }
    @Server({ name: "i", version: "1" })
    class NeedsIt { @Tool({ description: "x" }) take(@Inject(Unbuildable) value: Unbuildable) { return value.url; } }
    await expect(new McpServer(NeedsIt).build()).rejects.toThrow(
      /^Cannot inject Unbuildable into NeedsIt\.take's parameter #1: the container cannot construct it/,
    );
  });

  it("@Inject(MetricsCollector) without a MetricsMiddleware is a build error", async () => {
    @Server({ name: "m", version: "1" })
    class Reads { @Tool({ description: "x" }) calls(@Inject(MetricsCollector) metrics: MetricsCollector) { return metrics.snapshot().tools.calls?.calls ?? 0; } }
    await expect(new McpServer(Reads).build()).rejects.toThrow(
      'Cannot register tool "calls" on Reads.calls: parameter #1 injects MetricsCollector, which only a MetricsMiddleware (server.use(new MetricsMiddleware(collector)) or @Metered() on the class) provides, and this server has none',
    );
  });

  it("with @Metered() on the class, every call gets the one collector that counts it", async () => {
    @Server({ name: "m2", version: "1" })
    @Metered()
    class Counted { @Tool({ description: "x" }) calls(@Inject(MetricsCollector) metrics: MetricsCollector) { return String(metrics.snapshot().tools.calls?.calls ?? 0); } }
    const client = await createTestClient(Counted);
    cleanups.push(() => client.close());
    await client.callTool("calls");
    const second = await client.callTool("calls");
    // The first call was recorded into the same collector the second one reads.
    expect(second.content).toEqual([{ type: "text", text: "1" }]);
  });

  it.each([
    ["ServerLogger", ServerLogger],
    ["ProgressReporter", ProgressReporter],
  ])("%s injected through a service's constructor fails the build, saying to inject it into the method", async (name, token) => {
    @injectable()
    class Importer { constructor(@Inject(token) readonly out: unknown) {} }
    @Server({ name: "c", version: "1" })
    class Imports {
      constructor(readonly importer: Importer) {}
      @Tool({ description: "x" }) run() { return "ok"; }
    }
    await expect(new McpServer(Imports).build()).rejects.toThrow(
      `Cannot build Imports: Importer's constructor parameter #1 injects ${name}, which exists only during a call (a constructor runs once, outside any call); inject it into the method instead: @Inject(${name}) on a parameter of the tool, resource or prompt`,
    );
  });

  it("without emitted constructor types, the parameter is counted at its own place", async () => {
    // What esbuild/tsx leave: @Inject recorded on parameter #2, no design:paramtypes.
    class Importer { constructor(readonly source: unknown, readonly out: unknown) {} }
    Inject(ServerLogger)(Importer, undefined, 1);
    @Server({ name: "c2", version: "1" })
    class Imports {
      constructor(readonly importer: Importer) {}
      @Tool({ description: "x" }) run() { return "ok"; }
    }
    await expect(new McpServer(Imports).build()).rejects.toThrow("Cannot build Imports: Importer's constructor parameter #2 injects ServerLogger");
  });
});

describe("decorator options follow the middleware's declared contract", () => {
  // Decorator options are checked where the decorator is applied, naming class, method and key.
  it("@Traced({ endpoint }) is refused, naming class, method and key", () => {
    // A literal is refused by the type checker; an options object built elsewhere reaches the decorator.
    const tracing = { endpoint: "http://collector:4318", captureArguments: true };
    expect(() => {
      @Server({ name: "t", version: "1" })
      class Traces { @Traced(tracing as never) @Tool({ description: "x" }) run() { return "ok"; } }
      return Traces;
    }).toThrow(/@Traced options of Traces\.run: unknown option "endpoint": .*server\.use\(new OTelMiddleware\(\{ endpoint: \.\.\. \}\)\)/);
  });

  it("@Logged({ format }) on a class is refused", () => {
    expect(() => {
      @Server({ name: "l", version: "1" })
      @Logged({ format: "ecs" } as never)
      class Logs { @Tool({ description: "x" }) run() { return "ok"; } }
      return Logs;
    }).toThrow(/@Logged options of Logs: unknown option "format"/);
  });

  it("a union option must be a list", () => {
    expect(() => {
      @Server({ name: "l2", version: "1" })
      class Logs2 { @Logged({ redact: "ssn" as never }) @Tool({ description: "x" }) run() { return "ok"; } }
      return Logs2;
    }).toThrow(/@Logged options of Logs2\.run: "redact" must be a list of strings/);
  });
});

describe("every middleware object gets its setup, exactly once, however it was declared", () => {
  class Recorder implements MiddlewareObject {
    setups = 0;
    seen: string[] = [];
    setup(server: ServerSetup) {
      this.setups++;
      server.provide("recorder-setups", () => this.setups);
    }
    handle(ctx: CallContext, next: () => Promise<unknown>) {
      this.seen.push(ctx.name);
      return next();
    }
  }

  it("one object in use(), @UseMiddleware and addTool({ middleware }) is set up once and runs once per call", async () => {
    const recorder = new Recorder();
    @Server({ name: "once", version: "1" })
    @UseMiddleware(recorder)
    class Once { @Tool({ description: "x" }) ping(@Inject("recorder-setups") setups: number) { return String(setups); } }
    const server = new McpServer(Once).use(recorder);
    server.addTool({ name: "pong", description: "y", handler: () => "pong", middleware: [recorder] });
    server.addResource("status://now", () => "up", { middleware: [recorder] });
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    expect((await client.callTool("ping")).content).toEqual([{ type: "text", text: "1" }]);
    expect(recorder.setups).toBe(1);
    await client.callTool("pong");
    await client.client.readResource({ uri: "status://now" });
    // Named by use(), the class and the specs, it runs once per call, at its outermost place.
    expect(recorder.seen).toEqual(["ping", "pong", "status://now"]);
  });

  it("a class-level AuthMiddleware settles identities: a valid token is accepted", async () => {
    @Server({ name: "guarded", version: "1" })
    @UseMiddleware(new AuthMiddleware(new JWTAuth({ secret: JWT_SECRET })))
    class Guarded {
      @Tool({ description: "who" }) whoAmI(@Inject(CallContext) ctx: CallContext) { return ctx.clientId; }
    }
    const server = new McpServer(Guarded);
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    cleanups.push(() => server.close());
    // Under AuthMiddleware, tokens are bound to the server's resource URI (its URL here).
    const token = await createToken({ secret: JWT_SECRET, clientId: "agent-9", audience: running.url! });
    const client = new Client({ name: "t", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url!), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    cleanups.push(() => client.close());
    expect((await client.callTool({ name: "who_am_i", arguments: {} })).content).toEqual([{ type: "text", text: "agent-9" }]);
  });

  it("a PrometheusMiddleware declared with @UseMiddleware serves /metrics", async () => {
    const registry = new PromRegistry();
    @Server({ name: "prom", version: "1" })
    @UseMiddleware(new PrometheusMiddleware({ namespace: "declared", registry }))
    class Scraped { @Tool({ description: "x" }) ping() { return "pong"; } }
    const server = new McpServer(Scraped);
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    cleanups.push(() => server.close());
    const response = await fetch(new URL("/metrics", running.url!));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("declared_tool_calls_total");
  });

  it("an AuditMiddleware given to addTool({ middleware }) is opened at build and flushed and closed at close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lantern-compiler-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const audit = new AuditMiddleware({ logPath: join(dir, "audit.jsonl"), hmacSecret: AUDIT_SECRET, durability: "none" });
    const server = new McpServer({ name: "spec-audit", version: "1" });
    server.addTool({ name: "ping", description: "x", handler: () => "pong", middleware: [audit] });
    const client = await createTestClient(server);
    await client.callTool("ping");
    await client.close();
    await server.close();
    // The shutdown hook setup() registered flushed the entry and wrote the signed head.
    const head = JSON.parse(readFileSync(join(dir, "audit.jsonl.head.json"), "utf8")) as { seq: number };
    expect(head.seq).toBe(1);
    expect(await audit.verifyChain()).toBe(true);
  });

  it("a middleware with setup() cannot join after the server started", async () => {
    const server = new McpServer({ name: "late", version: "1" });
    server.addTool({ name: "first", description: "x", handler: () => "ok" });
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    expect(() => server.addTool({ name: "late", description: "y", handler: () => "ok", middleware: [new Recorder()] })).toThrow(
      /Cannot register tool "late" on server\.addTool\("late"\) after the server started: its middleware Recorder has a setup\(\) that would never run/,
    );
  });

  it("a tool refused after the start keeps neither its name nor a place in the list", async () => {
    const server = new McpServer({ name: "late-retry", version: "1" });
    server.addTool({ name: "first", description: "x", handler: () => "ok" });
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    expect(() => server.addTool({ name: "late", description: "y", handler: () => "ok", middleware: [new Recorder()] })).toThrow(DefinitionError);
    expect(server.tools().map((t) => t.name)).toEqual(["first"]);
    server.addTool({ name: "late", description: "y", handler: () => "retried" });
    expect((await client.callTool("late")).content).toEqual([{ type: "text", text: "retried" }]);
  });
});

describe("definitions from classes and from add* specs are the same shape", () => {
  it("a mistake in an add* spec names the call", () => {
    const server = new McpServer({ name: "x", version: "1" });
    expect(() => server.addTool({ name: "bad", description: "x", handler: "nope" as never })).toThrow(TypeError);
    expect(() => server.addTool({ name: "bad", description: "x", handler: "nope" as never })).toThrow('server.addTool("bad"): "handler" must be a handler function, got the string "nope"');
  });

  it("an input class given to addTool is validated like a decorated tool's", async () => {
    const server = new McpServer({ name: "x2", version: "1" });
    server.addTool<Named>({ name: "hello", description: "x", input: Named, handler: (input) => `hello ${input.name}` });
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    expect((await client.callTool("hello", { name: "ada" })).content).toEqual([{ type: "text", text: "hello ada" }]);
    await expect(client.callTool("hello", { name: 7 })).rejects.toMatchObject({ code: -32602 });
  });
});

