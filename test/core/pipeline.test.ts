import "reflect-metadata";
import { IsString } from "class-validator";
import { CallContext, compose, McpServer, Server, Tool, UseMiddleware, type Middleware } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

class Text {
  @IsString() text!: string;
}

const fakeContext = () => ({}) as CallContext;

describe("compose", () => {
  it("runs middleware as an onion: first added is outermost", async () => {
    const order: string[] = [];
    const tag = (name: string): Middleware => async (_ctx, next) => {
      order.push(`${name}>`);
      const result = await next();
      order.push(`<${name}`);
      return result;
    };
    const chain = compose([tag("a"), tag("b"), tag("c")], async () => {
      order.push("tool");
      return "done";
    });
    await expect(chain(fakeContext())).resolves.toBe("done");
    expect(order).toEqual(["a>", "b>", "c>", "tool", "<c", "<b", "<a"]);
  });

  it("rejects when a middleware calls next() twice, naming its position", async () => {
    const twice: Middleware = async (_ctx, next) => {
      await next();
      return next();
    };
    const chain = compose([async (_c, next) => next(), twice], async () => "x");
    await expect(chain(fakeContext())).rejects.toThrow("Middleware #1 called next() more than once");
  });

  it("turns a synchronous throw into a rejection and lets middleware short-circuit", async () => {
    const boom: Middleware = () => {
      throw new Error("sync boom");
    };
    await expect(compose([boom], async () => "x")(fakeContext())).rejects.toThrow("sync boom");
    const shortCircuit: Middleware = async () => "cached";
    let ran = false;
    await expect(compose([shortCircuit], async () => { ran = true; return "fresh"; })(fakeContext())).resolves.toBe("cached");
    expect(ran).toBe(false);
  });

  it("accepts objects with handle(ctx, next)", async () => {
    const seen: string[] = [];
    const chain = compose([{ handle: async (_ctx, next) => { seen.push("object"); return next(); } }], async () => "ok");
    await chain(fakeContext());
    expect(seen).toEqual(["object"]);
  });
});

describe("middleware on a server", () => {
  const events: string[] = [];
  const record = (name: string): Middleware => async (ctx, next) => {
    events.push(`${name}:${ctx.kind}:${ctx.name}`);
    return next();
  };

  @Server({ name: "layers", version: "1.0.0" })
  @UseMiddleware(record("class"))
  class Layered {
    @Tool({ description: "plain" })
    plain(input: Text) { return input.text; }

    @UseMiddleware(record("method"))
    @Tool({ description: "special" })
    special(input: Text) { return input.text.toUpperCase(); }
  }

  afterEach(() => { events.length = 0; });

  it("merges server → class → method, server outermost", async () => {
    const server = new McpServer(Layered).use(record("server"));
    const client = await createTestClient(server);
    await client.callTool("special", { text: "x" });
    expect(events).toEqual(["server:tool:special", "class:tool:special", "method:tool:special"]);
    events.length = 0;
    await client.callTool("plain", { text: "x" });
    expect(events).toEqual(["server:tool:plain", "class:tool:plain"]);
    await client.close();
    await server.close();
  });

  it("composes chains once, when the server is built", async () => {
    const server = new McpServer(Layered).use(record("server"));
    const client = await createTestClient(server);
    expect(() => server.use(record("late"))).toThrow("after the server was built");
    await client.close();
    await server.close();
  });
});

describe("CallContext", () => {
  class Delay {
    @IsString() text!: string;
  }

  @Server({ name: "ctx", version: "1.0.0" })
  class ContextProbe {
    @Tool({ description: "reads the context after an await and inside a timer" })
    async probe(input: Delay) {
      const before = CallContext.current();
      await new Promise((resolve) => setImmediate(resolve));
      const afterAwait = CallContext.current();
      const inTimer = await new Promise<CallContext | undefined>((resolve) => setTimeout(() => resolve(CallContext.current()), 1));
      return {
        same: before === afterAwait && afterAwait === inTimer,
        name: inTimer?.name,
        kind: inTimer?.kind,
        requestId: inTimer?.requestId,
        client: inTimer?.clientId,
        text: (inTimer?.input as Delay).text,
        transport: inTimer?.transport,
      };
    }
  }

  it("is the same object after awaits and in timers, and carries the call's facts", async () => {
    const client = await createTestClient(ContextProbe, { clientInfo: { name: "probe-client", version: "2.0.0" } });
    const result = await client.callTool("probe", { text: "hello" });
    expect(result.structuredContent).toMatchObject({ same: true, name: "probe", kind: "tool", client: "probe-client", text: "hello", transport: "memory" });
    expect(typeof (result.structuredContent as { requestId: string }).requestId).toBe("string");
    expect(CallContext.current()).toBeUndefined();
    await client.close();
  });

  it("keeps concurrent calls apart", async () => {
    const client = await createTestClient(ContextProbe);
    const results = await Promise.all(["a", "b", "c", "d"].map((text) => client.callTool("probe", { text })));
    expect(results.map((r) => (r.structuredContent as { text: string }).text)).toEqual(["a", "b", "c", "d"]);
    await client.close();
  });
});
