import "reflect-metadata";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { Type } from "class-transformer";
import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from "class-validator";
import { JSONSchema } from "class-validator-jsonschema";
import { container, injectable } from "tsyringe";
import {
  CallContext,
  image,
  Inject,
  McpServer,
  ProgressReporter,
  Server,
  ServerLogger,
  text,
  Tool,
  ToolError,
  toolResult,
} from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Address {
  @IsString() @Length(1, 50) city!: string;
  @Matches(/^[0-9]{5}$/) zip!: string;
}

class CreatePerson {
  @JSONSchema({ description: "Full name" })
  @IsString() @Length(2, 40) name!: string;
  @IsInt() @Min(0) @Max(150) age!: number;
  @IsEmail() email!: string;
  @IsIn(["admin", "member"]) role!: string;
  @IsOptional() @IsString() nickname?: string;
  @ValidateNested() @Type(() => Address) address!: Address;
  @ValidateNested({ each: true }) @Type(() => Address) previous: Address[] = [];
}

class Query {
  @IsString() q!: string;
  @IsInt() @Min(1) @Max(100) limit = 10;
}

const GREETING = Symbol("greeting");

@injectable()
class Clock {
  now() { return "2026-01-01T00:00:00.000Z"; }
}

@Server({ name: "people", version: "3.1.4" })
class People {
  constructor(private readonly clock: Clock) {}

  @Tool({ description: "Create a person", title: "Create person", annotations: { destructiveHint: false } })
  createPerson(input: CreatePerson) {
    return { created: input.name, city: input.address.city, isInstance: input instanceof CreatePerson, previous: input.previous.length };
  }

  @Tool({ description: "Search" })
  search(input: Query) { return input; }

  @Tool({ description: "Fails with a message for the client" })
  refuse() { throw new ToolError("No such employee: 42", { id: 42 }); }

  @Tool({ description: "Fails with an internal error" })
  crash() { throw new Error("ECONNREFUSED 10.0.0.5:5432 at /srv/app/secret-path/db.js"); }

  @Tool({ description: "Returns content blocks" })
  picture() { return [text("a picture:"), image(new Uint8Array([1, 2, 3]), "image/png")]; }

  @Tool({ description: "Returns an array of records" })
  list() { return [{ id: 1 }, { id: 2 }]; }

  @Tool({ description: "Returns a full result" })
  partial() { return toolResult({ content: [{ type: "text", text: "half done" }], isError: true }); }

  @Tool({ description: "Uses injected values" })
  async injected(
    @Inject(CallContext) ctx: CallContext,
    @Inject(GREETING) greeting: string,
    @Inject(AbortSignal) signal: AbortSignal,
  ) {
    return { tool: ctx.name, greeting, aborted: signal.aborted, now: this.clock.now() };
  }

  @Tool({ description: "Logs at every level" })
  async chatty(@Inject(ServerLogger) logger: ServerLogger) {
    for (const level of ["debug", "info", "warning", "error"] as const) await logger[level](`${level} message`);
    return "logged";
  }

  @Tool({ description: "Reports progress" })
  async steps(@Inject(ProgressReporter) progress: ProgressReporter) {
    for (let i = 1; i <= 3; i++) await progress.report(i, 3, `step ${i}`);
    return progress.enabled ? "with progress" : "without progress";
  }
}

const expectInvalidParams = async (promise: Promise<unknown>, property: string, constraint?: string) => {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as McpError;
  expect(error).toBeInstanceOf(McpError);
  expect(error.code).toBe(ErrorCode.InvalidParams);
  expect(error.message).toContain(property.split(".").pop()!);
  const data = error.data as { property: string; constraints: Record<string, string> }[];
  const issue = data.find((d) => d.property === property);
  expect(issue).toBeDefined();
  if (constraint) expect(Object.keys(issue!.constraints)).toContain(constraint);
};

describe("tools over the wire", () => {
  let client: TestClient;
  const valid = { name: "Ada", age: 36, email: "ada@example.com", role: "admin", address: { city: "London", zip: "12345" } };

  beforeEach(async () => {
    const child = container.createChildContainer();
    child.register(GREETING, { useValue: "hello" });
    client = await createTestClient(People, { server: { container: child, onInternalError: () => {} } });
  });
  afterEach(() => client.close());

  it("publishes each input class as JSON Schema in tools/list", async () => {
    const { tools } = await client.client.listTools();
    const create = tools.find((t) => t.name === "create_person")!;
    expect(create.title).toBe("Create person");
    expect(create.annotations).toEqual({ destructiveHint: false });
    const schema = create.inputSchema as Record<string, any>;
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(expect.arrayContaining(["name", "age", "email", "role", "address"]));
    expect(schema.required).not.toContain("nickname");
    expect(schema.required).not.toContain("previous");
    expect(schema.properties.name).toMatchObject({ type: "string", minLength: 2, maxLength: 40, description: "Full name" });
    expect(schema.properties.age).toMatchObject({ type: "integer", minimum: 0, maximum: 150 });
    expect(schema.properties.role).toMatchObject({ enum: ["admin", "member"] });
    expect(schema.properties.email).toMatchObject({ type: "string", format: "email" });
    expect(schema.properties.address).toEqual({ $ref: "#/$defs/Address" });
    expect(schema.properties.previous).toMatchObject({ type: "array", items: { $ref: "#/$defs/Address" } });
    expect(schema.$defs.Address.properties.zip).toMatchObject({ type: "string", pattern: "^[0-9]{5}$" });
    const search = tools.find((t) => t.name === "search")!;
    expect((search.inputSchema as Record<string, any>).properties.limit).toMatchObject({ type: "integer", default: 10 });
    expect(tools.find((t) => t.name === "refuse")!.inputSchema).toEqual({ type: "object", properties: {} });
  });

  it("validates, transforms into the input class and applies defaults", async () => {
    const result = await client.callTool("create_person", valid);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ created: "Ada", city: "London", isInstance: true, previous: 0 });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
    expect((await client.callTool("search", { q: "x" })).structuredContent).toEqual({ q: "x", limit: 10 });
  });

  it.each([
    ["a wrong type", { ...valid, age: "36" }, "age", "isInt"],
    ["a number out of range", { ...valid, age: 151 }, "age", "max"],
    ["a string too short", { ...valid, name: "A" }, "name", "isLength"],
    ["a value outside the enum", { ...valid, role: "root" }, "role", "isIn"],
    ["a bad email", { ...valid, email: "not-an-email" }, "email", "isEmail"],
    ["a missing required field", { ...valid, email: undefined }, "email", "isEmail"],
    ["an unknown property", { ...valid, salary: 1 }, "salary", "whitelistValidation"],
    ["an invalid nested field", { ...valid, address: { city: "London", zip: "ABCDE" } }, "address.zip", "matches"],
    ["an invalid array element", { ...valid, previous: [{ city: "", zip: "12345" }] }, "previous.0.city", "isLength"],
  ])("refuses %s with -32602 naming the field", async (_what, args, property, constraint) => {
    await expectInvalidParams(client.callTool("create_person", args as Record<string, unknown>), property, constraint);
  });

  it("never lets prototype-polluting keys reach user code", async () => {
    // The SDK's request schema already drops "__proto__" keys; what is left must be clean.
    const polluted = JSON.parse('{"q":"x","__proto__":{"isAdmin":true}}');
    const result = await client.callTool("search", polluted);
    expect(result.structuredContent).toEqual({ q: "x", limit: 10 });
    expect(Object.getPrototypeOf(result.structuredContent)).toBe(Object.prototype);
    expect((result.structuredContent as Record<string, unknown>).isAdmin).toBeUndefined();
    await expectInvalidParams(client.callTool("search", { q: "x", constructor: { prototype: { a: 1 } } }), "constructor", "forbiddenKey");
    await expectInvalidParams(client.callTool("create_person", { ...valid, address: { city: "L", zip: "12345", prototype: {} } }), "address.prototype", "forbiddenKey");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("refuses arguments for a tool that takes none", async () => {
    await expectInvalidParams(client.callTool("refuse", { x: 1 }), "x");
  });

  it("answers an unknown tool with a JSON-RPC error", async () => {
    const error = (await client.callTool("nope").catch((e: unknown) => e)) as McpError;
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toContain("Unknown tool: nope");
  });

  it("turns a ToolError into isError with its message and detail", async () => {
    const result = await client.callTool("refuse");
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: "text", text: "No such employee: 42" }]);
    expect(result.structuredContent).toEqual({ error: { id: 42 } });
  });

  it("keeps the internals of other exceptions server-side", async () => {
    const seen: unknown[] = [];
    const child = container.createChildContainer();
    child.register(GREETING, { useValue: "hi" });
    const other = await createTestClient(new McpServer(People, { container: child, onInternalError: (_ctx, error) => seen.push(error) }));
    const result = await other.callTool("crash");
    expect(result.isError).toBe(true);
    const message = (result.content[0] as { text: string }).text;
    expect(message).not.toMatch(/ECONNREFUSED|secret-path|10\.0\.0\.5|at /);
    expect(message).toContain("Internal error");
    expect(seen).toHaveLength(1);
    expect(String(seen[0])).toContain("ECONNREFUSED");
    await other.close();
  });

  it("shapes return values: content helpers, arrays of records, full results", async () => {
    const picture = await client.callTool("picture");
    expect(picture.content).toEqual([
      { type: "text", text: "a picture:" },
      { type: "image", data: Buffer.from([1, 2, 3]).toString("base64"), mimeType: "image/png" },
    ]);
    const list = await client.callTool("list");
    expect(list.structuredContent).toEqual({ items: [{ id: 1 }, { id: 2 }] });
    const partial = await client.callTool("partial");
    expect(partial).toMatchObject({ content: [{ type: "text", text: "half done" }], isError: true });
  });

  it("injects constructor services and per-call values", async () => {
    const result = await client.callTool("injected");
    expect(result.structuredContent).toEqual({ tool: "injected", greeting: "hello", aborted: false, now: "2026-01-01T00:00:00.000Z" });
  });

  it("sends log messages at or above the level the client set", async () => {
    await client.callTool("chatty");
    expect(client.logs.map((l) => l.level)).toEqual(["debug", "info", "warning", "error"]);
    client.logs.length = 0;
    await client.client.setLoggingLevel("warning");
    await client.callTool("chatty");
    expect(client.logs).toEqual([
      { level: "warning", data: "warning message" },
      { level: "error", data: "error message" },
    ]);
  });

  it("refuses an unknown log level", async () => {
    const error = (await client.client.setLoggingLevel("loud" as never).catch((e: unknown) => e)) as McpError;
    expect(error).toBeInstanceOf(McpError);
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toContain("level");
  });

  it("reports progress only when the caller asked for it", async () => {
    expect((await client.callTool("steps")).content).toEqual([{ type: "text", text: "without progress" }]);
    expect(client.progress).toEqual([]);
    expect((await client.callTool("steps", {}, { progress: true })).content).toEqual([{ type: "text", text: "with progress" }]);
    expect(client.progress.map((p) => [p.progress, p.total, p.message])).toEqual([[1, 3, "step 1"], [2, 3, "step 2"], [3, 3, "step 3"]]);
  });
});

describe("output classes", () => {
  class Out {
    @IsInt() count!: number;
  }

  @Server({ name: "out", version: "1.0.0" })
  class Outputs {
    @Tool({ description: "good", output: Out }) good() { return { count: 3 }; }
    @Tool({ description: "bad", output: Out }) bad() { return { count: "three" }; }
  }

  it("publishes outputSchema and refuses results that do not match it", async () => {
    const errors: unknown[] = [];
    const client = await createTestClient(Outputs, { server: { onInternalError: (_c, e) => errors.push(e) } });
    const tool = (await client.client.listTools()).tools.find((t) => t.name === "good")!;
    expect(tool.outputSchema).toMatchObject({ type: "object", properties: { count: { type: "integer" } } });
    expect((await client.callTool("good")).structuredContent).toEqual({ count: 3 });
    const bad = await client.callTool("bad");
    expect(bad.isError).toBe(true);
    expect(String(errors[0])).toContain("does not match its output class Out");
    await client.close();
  });
});

describe("log messages in the 2026 era (createTestClient logLevel)", () => {
  const server = () => {
    const child = container.createChildContainer();
    child.register(GREETING, { useValue: "hello" });
    return { container: child };
  };

  it("sends what the request's log level allows, and nothing when a request names no level", async () => {
    const leveled = await createTestClient(People, { era: "modern", logLevel: "warning", server: server() });
    await leveled.callTool("chatty");
    expect(leveled.logs.map((l) => l.level)).toEqual(["warning", "error"]);
    await leveled.close();
    const silent = await createTestClient(People, { era: "modern", server: server() });
    await silent.callTool("chatty");
    expect(silent.logs).toEqual([]);
    await silent.close();
  });

  it("refuses logLevel for a 2025-era client, which sets its level on the session", async () => {
    await expect(createTestClient(People, { logLevel: "info", server: server() })).rejects.toThrow(/"logLevel" is what every 2026-era request asks for.*setLoggingLevel/);
  });
});
