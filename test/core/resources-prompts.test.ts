import "reflect-metadata";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { IsOptional, IsString, Length } from "class-validator";
import { JSONSchema } from "class-validator-jsonschema";
import { CallContext, Inject, McpServer, Param, Prompt, Resource, Server, ToolError } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class ReviewArgs {
  @JSONSchema({ description: "The code to review" })
  @IsString() @Length(1, 10_000) code!: string;
  @IsOptional() @IsString() language?: string;
}

@Server({ name: "docs", version: "1.0.0" })
class Docs {
  @Resource("docs://readme", { mimeType: "text/markdown", description: "The readme" })
  readme() { return "# Readme"; }

  @Resource("docs://logo", { mimeType: "image/png" })
  logo() { return new Uint8Array([137, 80, 78, 71]); }

  @Resource("docs://pages/{section}/{page}", { mimeType: "text/plain", title: "A page" })
  page(@Param("page") page: string, @Param("section") section: string, @Inject(CallContext) ctx: CallContext) {
    return `${section}/${page} via ${ctx.kind} ${ctx.name}`;
  }

  @Resource("docs://missing/{id}")
  missing(@Param("id") id: string) { throw new ToolError(`No document ${id}`); }

  @Prompt({ description: "Review code" })
  review(args: ReviewArgs) {
    return [
      { role: "user" as const, content: { type: "text" as const, text: `Review this ${args.language ?? "code"}:\n${args.code}` } },
    ];
  }

  @Prompt({ name: "greet", description: "Say hello" })
  hello() { return "Hello!"; }
}

describe("resources and prompts over the wire", () => {
  let client: TestClient;
  beforeEach(async () => { client = await createTestClient(Docs); });
  afterEach(() => client.close());

  it("lists static resources and templates", async () => {
    const { resources } = await client.client.listResources();
    expect(resources).toEqual([
      { uri: "docs://readme", name: "readme", description: "The readme", mimeType: "text/markdown" },
      { uri: "docs://logo", name: "logo", mimeType: "image/png" },
    ]);
    const { resourceTemplates } = await client.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["docs://pages/{section}/{page}", "docs://missing/{id}"]);
    expect(resourceTemplates[0]).toMatchObject({ name: "page", title: "A page", mimeType: "text/plain" });
  });

  it("reads text, binary and templated resources, binding template variables by name", async () => {
    expect((await client.client.readResource({ uri: "docs://readme" })).contents).toEqual([
      { uri: "docs://readme", mimeType: "text/markdown", text: "# Readme" },
    ]);
    expect((await client.client.readResource({ uri: "docs://logo" })).contents).toEqual([
      { uri: "docs://logo", mimeType: "image/png", blob: Buffer.from([137, 80, 78, 71]).toString("base64") },
    ]);
    expect((await client.client.readResource({ uri: "docs://pages/guide/intro" })).contents[0]).toMatchObject({
      text: "guide/intro via resource docs://pages/guide/intro",
    });
  });

  it("answers unknown resources with -32602 naming the URI, and handler refusals with their message", async () => {
    const unknown = (await client.client.readResource({ uri: "docs://nothing" }).catch((e: unknown) => e)) as McpError;
    expect(unknown.code).toBe(ErrorCode.InvalidParams);
    expect(unknown.data).toEqual({ uri: "docs://nothing" });
    expect(unknown.message).toContain("docs://nothing");
    const refused = (await client.client.readResource({ uri: "docs://missing/7" }).catch((e: unknown) => e)) as McpError;
    expect(refused.message).toContain("No document 7");
  });

  it("lists prompts with their arguments from the arguments class", async () => {
    const { prompts } = await client.client.listPrompts();
    expect(prompts).toEqual([
      {
        name: "review",
        description: "Review code",
        arguments: [
          { name: "code", description: "The code to review", required: true },
          { name: "language", required: false },
        ],
      },
      { name: "greet", description: "Say hello" },
    ]);
  });

  it("gets prompts, validating their arguments", async () => {
    const review = await client.client.getPrompt({ name: "review", arguments: { code: "x = 1", language: "python" } });
    expect(review.messages).toEqual([{ role: "user", content: { type: "text", text: "Review this python:\nx = 1" } }]);
    expect((await client.client.getPrompt({ name: "greet" })).messages[0]!.content).toEqual({ type: "text", text: "Hello!" });
    const invalid = (await client.client.getPrompt({ name: "review", arguments: {} }).catch((e: unknown) => e)) as McpError;
    expect(invalid.code).toBe(ErrorCode.InvalidParams);
    expect(invalid.message).toContain("code");
    const unknown = (await client.client.getPrompt({ name: "nope" }).catch((e: unknown) => e)) as McpError;
    expect(unknown.code).toBe(ErrorCode.InvalidParams);
  });
});

describe("programmatic registration", () => {
  it("serves addTool, addResource and addPrompt next to decorated classes", async () => {
    const server = new McpServer({ name: "mixed", version: "1.0.0" }).register(Docs);
    server.addTool({ name: "ping", description: "Answers pong", handler: () => "pong" });
    server.addResource("status://{component}", (vars) => ({ component: vars.component, healthy: true }), { mimeType: "application/json" });
    server.addPrompt({ name: "hi", description: "hi", handler: () => "hi there" });
    const client = await createTestClient(server);
    expect((await client.callTool("ping")).content).toEqual([{ type: "text", text: "pong" }]);
    const status = await client.client.readResource({ uri: "status://db" });
    expect(JSON.parse((status.contents[0] as { text: string }).text)).toEqual({ component: "db", healthy: true });
    expect((await client.client.getPrompt({ name: "hi" })).messages).toHaveLength(1);
    expect((await client.client.listPrompts()).prompts.map((p) => p.name)).toEqual(["review", "greet", "hi"]);
    await client.close();
    await server.close();
  });

  it("announces tools added after the server started", async () => {
    const server = new McpServer({ name: "late", version: "1.0.0" });
    server.addTool({ name: "first", description: "first", handler: () => "1" });
    const client = await createTestClient(server);
    let changed = 0;
    client.client.setNotificationHandler("notifications/tools/list_changed", () => { changed++; });
    server.addTool({ name: "second", description: "second", handler: () => "2" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(changed).toBe(1);
    expect((await client.client.listTools()).tools.map((t) => t.name)).toEqual(["first", "second"]);
    expect((await client.callTool("second")).content).toEqual([{ type: "text", text: "2" }]);
    await client.close();
    await server.close();
  });
});
