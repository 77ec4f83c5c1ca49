import "reflect-metadata";
import { IsString } from "class-validator";
import { injectable } from "tsyringe";
import {
  DefinitionError,
  Inject,
  McpServer,
  middlewareDecorator,
  Param,
  Resource,
  Server,
  Tool,
  type ConfigurableMiddleware,
  type Middleware,
  type MiddlewareObject,
  type Next,
  type CallContext,
} from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

class Named {
  @IsString() name!: string;
}

class Unvalidated {
  name!: string;
}

describe("definition mistakes fail when the server is built, naming class, method and reason", () => {
  it("duplicate tool names", () => {
    @Server({ name: "a", version: "1" })
    class First { @Tool({ description: "x" }) lookUp(input: Named) { return input.name; } }
    @Server({ name: "b", version: "1" })
    class Second { @Tool({ description: "y", name: "look_up" }) other(input: Named) { return input.name; } }
    expect(() => new McpServer(First).register(Second)).toThrow(
      'Cannot register tool "look_up" on Second.other: First.lookUp already registered a tool of that name; give one of them @Tool({ name })',
    );
  });

  it("an input parameter without type information (esbuild/tsx strip it)", () => {
    // What a class compiled without emitDecoratorMetadata looks like: no design:paramtypes.
    class Stripped { find(input: unknown) { return input; } }
    Server({ name: "s", version: "1" })(Stripped);
    Tool({ description: "find" })(Stripped.prototype, "find", Object.getOwnPropertyDescriptor(Stripped.prototype, "find")!);
    expect(() => new McpServer(Stripped)).toThrow(
      'Cannot register tool "find" on Stripped.find: parameter #1 has no type information (is emitDecoratorMetadata on? esbuild and tsx strip it): name the class with @Tool({ input: Dto })',
    );
    // ...and naming the class explicitly fixes it.
    class Explicit { find(input: Named) { return input.name; } }
    Server({ name: "s", version: "1" })(Explicit);
    Tool({ description: "find", input: Named })(Explicit.prototype, "find", Object.getOwnPropertyDescriptor(Explicit.prototype, "find")!);
    expect(() => new McpServer(Explicit)).not.toThrow();
  });

  it("an input class with no validation metadata", () => {
    @Server({ name: "u", version: "1" })
    class Loose { @Tool({ description: "x" }) take(input: Unvalidated) { return input.name; } }
    expect(() => new McpServer(Loose)).toThrow(
      'Cannot register tool "take" on Loose.take: its input class Unvalidated has no class-validator decorators, so nothing would be validated',
    );
  });

  it("an input typed as an interface or primitive", () => {
    @Server({ name: "p", version: "1" })
    class Primitive { @Tool({ description: "x" }) take(input: string) { return input; } }
    expect(() => new McpServer(Primitive)).toThrow("parameter #1 must be typed as a class decorated with class-validator, not String");
  });

  it("an @Inject token the container cannot resolve", async () => {
    const MISSING = Symbol("missing-service");
    @Server({ name: "i", version: "1" })
    class NeedsToken { @Tool({ description: "x" }) take(@Inject(MISSING) value: unknown) { return String(value); } }
    const server = new McpServer(NeedsToken);
    await expect(server.build()).rejects.toThrow(
      'Cannot register tool "take" on NeedsToken.take: parameter #1 injects Symbol(missing-service), which nothing provides',
    );
  });

  it("a parameter with no source", () => {
    @Server({ name: "n", version: "1" })
    class Extra { @Tool({ description: "x" }) take(input: Named, other: Named) { return input.name + other.name; } }
    expect(() => new McpServer(Extra)).toThrow('Cannot register tool "take" on Extra.take: parameter #2 has no source: decorate it with @Inject(Token)');
  });

  it("a constructor dependency the container cannot build", async () => {
    const TOKEN = "database-url";
    @injectable()
    class Repo { constructor(@Inject(TOKEN) readonly url: string) {} }
    @Server({ name: "c", version: "1" })
    class Service {
      constructor(readonly repo: Repo) {}
      @Tool({ description: "x" }) take(input: Named) { return input.name; }
    }
    await expect(new McpServer(Service).build()).rejects.toThrow("Cannot build Service: the container could not construct it");
  });

  it("a class without @Server passed to new McpServer", () => {
    class Bare { @Tool({ description: "x" }) take(input: Named) { return input.name; } }
    expect(() => new McpServer(Bare)).toThrow("Cannot create a server from Bare: it has no @Server({ name, version })");
    expect(() => new McpServer({ name: "x", version: "1" }).register(Bare)).not.toThrow();
  });

  it("@Param on a tool", () => {
    @Server({ name: "q", version: "1" })
    class Wrong { @Tool({ description: "x" }) take(input: Named, @Param("id") id: string) { return id; } }
    expect(() => new McpServer(Wrong)).toThrow("parameter #2 uses @Param, which binds resource template variables only");
  });

  it("decorator arguments are checked where they are written", () => {
    expect(() => Tool({} as never)).toThrow("@Tool needs { description }");
    expect(() => Resource("no-scheme")).toThrow('@Resource needs a URI such as "hr://policies/{id}"');
    expect(() => Server({ name: "x" } as never)).toThrow("@Server needs { name, version }");
  });

  it("errors are DefinitionErrors", () => {
    @Server({ name: "u2", version: "1" })
    class Loose2 { @Tool({ description: "x" }) take(input: Unvalidated) { return input.name; } }
    expect(() => new McpServer(Loose2)).toThrow(DefinitionError);
  });
});

describe("decorator forms of configurable middleware", () => {
  interface CountOptions { label: string; enabled: boolean }
  const calls: string[] = [];

  class CountingMiddleware implements ConfigurableMiddleware<CountOptions> {
    static readonly decoratorOptions = { label: "override", enabled: "override" } as const;
    static instances = 0;
    private readonly options: CountOptions;
    constructor(options: Partial<CountOptions> = {}) {
      this.options = { label: "default", enabled: true, ...options };
      CountingMiddleware.instances++;
    }
    withOptions(options: Partial<CountOptions>): MiddlewareObject {
      const merged = { ...this.options, ...options };
      return { handle: (ctx, next) => this.run(merged, ctx, next) };
    }
    handle(ctx: CallContext, next: Next) { return this.run(this.options, ctx, next); }
    private async run(options: CountOptions, ctx: CallContext, next: Next) {
      if (options.enabled) calls.push(`${options.label}:${ctx.name}`);
      return next();
    }
  }
  const Counted = middlewareDecorator(CountingMiddleware);

  @Server({ name: "counted", version: "1" })
  @Counted({ label: "class" })
  class CountedApi {
    @Tool({ description: "a" }) alpha(input: Named) { return input.name; }
    @Counted({ label: "method" }) @Tool({ description: "b" }) beta(input: Named) { return input.name; }
    @Counted({ enabled: false }) @Tool({ description: "c" }) gamma(input: Named) { return input.name; }
  }

  afterEach(() => { calls.length = 0; CountingMiddleware.instances = 0; });

  it("runs once per call with class options overridden by method options, through the server's instance", async () => {
    const outer: Middleware = async (ctx, next) => { calls.push(`outer:${ctx.name}`); return next(); };
    const server = new McpServer(CountedApi).use(new CountingMiddleware({ label: "server" })).use(outer);
    const client = await createTestClient(server);
    await client.callTool("alpha", { name: "x" });
    await client.callTool("beta", { name: "x" });
    await client.callTool("gamma", { name: "x" });
    // The server's instance keeps its place (outside `outer`) and runs once, with the decorator's options.
    expect(calls).toEqual(["class:alpha", "outer:alpha", "method:beta", "outer:beta", "outer:gamma"]);
    expect(CountingMiddleware.instances).toBe(1);
    await client.close();
    await server.close();
  });

  it("creates one shared instance per server when the server does not use one", async () => {
    const client = await createTestClient(CountedApi);
    await client.callTool("alpha", { name: "x" });
    await client.callTool("beta", { name: "x" });
    expect(calls).toEqual(["class:alpha", "method:beta"]);
    expect(CountingMiddleware.instances).toBe(1);
    await client.close();
  });
});
