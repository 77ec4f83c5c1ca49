import "reflect-metadata";
import { injectable } from "tsyringe";
import { CallContext, Inject, McpServer, Server, Tool } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

const SETTINGS = Symbol("settings");

/** A per-call connection made from settings another provider gives. */
class Connection {
  static opened = 0;
  readonly id = ++Connection.opened;
  constructor(readonly url: string, readonly caller: string) {}
}

@injectable()
class Greeter {
  greet(name: string) { return `hello ${name}`; }
}

@Server({ name: "depends", version: "1.0.0" })
class Api {
  constructor(private readonly greeter: Greeter) {}

  @Tool({ description: "Uses the connection twice" })
  twice(@Inject(Connection) first: Connection, @Inject(Connection) second: Connection) {
    return { same: first === second, id: first.id, url: first.url, caller: first.caller };
  }

  @Tool({ description: "Greets through a constructor-injected service" })
  greet(@Inject(CallContext) ctx: CallContext) {
    return this.greeter.greet(ctx.clientId);
  }
}

function serverWithProviders(events: string[]): McpServer {
  const server = new McpServer(Api);
  server.provide(SETTINGS, () => ({ url: "db://primary" }));
  server.provide(
    Connection,
    (ctx, get) => {
      const settings = get<{ url: string }>(SETTINGS);
      const connection = new Connection(settings.url, get(CallContext).clientId);
      events.push(`open ${connection.id} for ${ctx.name}`);
      return connection;
    },
    { dispose: (connection) => { events.push(`close ${connection.id}`); } },
  );
  return server;
}

beforeEach(() => { Connection.opened = 0; });

describe("providers: the Depends of Lantern", () => {
  it("a provider depends on others, is made once per call and disposed after it", async () => {
    const events: string[] = [];
    const server = serverWithProviders(events);
    const client = await createTestClient(server, { clientInfo: { name: "agent-3", version: "1" } });
    const first = await client.callTool("twice");
    expect(first.structuredContent).toEqual({ same: true, id: 1, url: "db://primary", caller: "agent-3" });
    // Disposed before the answer left: teardown is part of the call.
    expect(events).toEqual(["open 1 for twice", "close 1"]);
    const second = await client.callTool("twice");
    expect(second.structuredContent).toMatchObject({ same: true, id: 2 });
    expect(events).toEqual(["open 1 for twice", "close 1", "open 2 for twice", "close 2"]);
    await client.close();
    await server.close();
  });

  it("a disposer that fails is reported and does not change the call's answer", async () => {
    const reported: unknown[] = [];
    const server = new McpServer(Api, { onInternalError: (_ctx, error) => reported.push(error) });
    server.provide(Connection, () => new Connection("db://x", "c"), { dispose: () => { throw new Error("pool is gone"); } });
    const client = await createTestClient(server);
    expect((await client.callTool("twice")).isError).toBeFalsy();
    expect(reported.map(String)).toEqual(["Error: pool is gone"]);
    await client.close();
    await server.close();
  });

  it("providers that depend on each other say so", async () => {
    const A = Symbol("a");
    const B = Symbol("b");
    @Server({ name: "cycle", version: "1" })
    class Cycle { @Tool({ description: "x" }) run(@Inject(A) a: unknown) { return String(a); } }
    const reported: unknown[] = [];
    const server = new McpServer(Cycle, { onInternalError: (_ctx, error) => reported.push(error) });
    server.provide(A, (_ctx, get) => get(B));
    server.provide(B, (_ctx, get) => get(A));
    const client = await createTestClient(server);
    const result = await client.callTool("run");
    expect(result.isError).toBe(true);
    expect(String(reported[0])).toContain("its providers depend on each other (Symbol(a) -> Symbol(b) -> Symbol(a))");
    await client.close();
    await server.close();
  });

  it("createTestClient(Api, { providers }) overrides providers and constructor-injected services", async () => {
    const fake = new Connection("db://fake", "test");
    const client = await createTestClient(Api, {
      providers: [
        { token: Connection, value: fake },
        { token: Greeter, value: { greet: (name: string) => `fake hello ${name}` } },
      ],
      clientInfo: { name: "tester", version: "1" },
    });
    expect((await client.callTool("twice")).structuredContent).toMatchObject({ url: "db://fake", id: fake.id });
    expect((await client.callTool("greet")).content).toEqual([{ type: "text", text: "fake hello tester" }]);
    await client.close();
  });

  it("an override wins over what the server provides", async () => {
    const events: string[] = [];
    const server = serverWithProviders(events);
    const client = await createTestClient(server, { providers: [{ token: SETTINGS, value: { url: "db://replica" } }] });
    expect((await client.callTool("twice")).structuredContent).toMatchObject({ url: "db://replica" });
    await client.close();
    await server.close();
  });
});
