import "reflect-metadata";
import type { ProtocolError as McpError } from "@modelcontextprotocol/client";
import { IsString } from "class-validator";
import {
  AuthMiddleware,
  JWTAuth,
  McpServer,
  Param,
  Prompt,
  RequireScopes,
  Resource,
  Server,
  Tool,
  ToolError,
} from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Topic {
  @IsString() topic!: string;
}

@Server({ name: "employees", version: "1.0.0" })
class Employees {
  @Resource("hr://employees/{id}", { mimeType: "application/json" })
  employee(@Param("id") id: string) {
    if (id === "99") throw new ToolError(`No employee with id ${id}`);
    return { id };
  }

  @Prompt({ description: "Brief on a topic" })
  brief(args: Topic) {
    if (args.topic === "secret") throw new ToolError("No brief on that topic");
    return `Brief me on ${args.topic}`;
  }

  @Tool({ description: "Looks up an employee" })
  lookUp() {
    throw new ToolError("No employee with id 99");
  }
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(() => { throw new Error("expected a JSON-RPC error"); }, (error: unknown) => error as McpError);

describe("one mapping of handler errors to the wire for tools, resources and prompts", () => {
  let client: TestClient;
  beforeAll(async () => { client = await createTestClient(Employees); });
  afterAll(() => client.close());

  it("a ToolError from a resource is a not-found error (-32602 naming the URI) with the handler's message, once", async () => {
    const error = await errorOf(client.client.readResource({ uri: "hr://employees/99" }));
    expect(error.code).toBe(-32602);
    expect(error.message).toBe("No employee with id 99");
    expect(error.data).toEqual({ uri: "hr://employees/99" });
  });

  it("a ToolError from a prompt is invalid params with the handler's message, once", async () => {
    const error = await errorOf(client.client.getPrompt({ name: "brief", arguments: { topic: "secret" } }));
    expect(error.code).toBe(-32602);
    expect(error.message).toBe("No brief on that topic");
  });

  it("a ToolError from a tool stays an isError result with its message", async () => {
    const result = await client.callTool("look_up");
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([{ type: "text", text: "No employee with id 99" }]);
  });
});

describe("hideForbiddenTools hides resources, templates and prompts the caller may not use", () => {
  class Args { @IsString() subject!: string; }

  @Server({ name: "scoped", version: "1.0.0" })
  class Scoped {
    @Tool({ description: "open" }) open() { return "ok"; }
    @Tool({ description: "closed", scopes: ["hr:admin"] }) closed() { return "ok"; }
    @Resource("hr://handbook") handbook() { return "# handbook"; }
    @RequireScopes("hr:admin") @Resource("hr://salaries") salaries() { return "{}"; }
    @Resource("hr://teams/{id}") team(@Param("id") id: string) { return id; }
    @RequireScopes("hr:admin") @Resource("hr://reviews/{id}") review(@Param("id") id: string) { return id; }
    @Prompt({ description: "open" }) greet() { return "hi"; }
    @RequireScopes("hr:admin") @Prompt({ description: "closed" }) dismiss(args: Args) { return `dismiss ${args.subject}`; }
  }

  const lists = async (client: TestClient) => ({
    tools: (await client.client.listTools()).tools.map((t) => t.name),
    resources: (await client.client.listResources()).resources.map((r) => r.uri),
    templates: (await client.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate),
    prompts: (await client.client.listPrompts()).prompts.map((p) => p.name),
  });

  const serve = async (scopes: string[]) => {
    const server = new McpServer(Scoped).use(new AuthMiddleware(new JWTAuth({ secret: "a-test-secret-that-is-long-enough-for-hs256!" }), { hideForbiddenTools: true }));
    return createTestClient(server, { identity: { clientId: "c", scopes } });
  };

  it("a caller without the scope sees only what it may use", async () => {
    const reader = await serve([]);
    expect(await lists(reader)).toEqual({ tools: ["open"], resources: ["hr://handbook"], templates: ["hr://teams/{id}"], prompts: ["greet"] });
    await reader.close();
    await reader.server.close();
  });

  it("a caller with the scope sees everything", async () => {
    const admin = await serve(["hr:admin"]);
    expect(await lists(admin)).toEqual({
      tools: ["open", "closed"],
      resources: ["hr://handbook", "hr://salaries"],
      templates: ["hr://teams/{id}", "hr://reviews/{id}"],
      prompts: ["greet", "dismiss"],
    });
    await admin.close();
    await admin.server.close();
  });
});
