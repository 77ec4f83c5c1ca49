import "reflect-metadata";
import { IsString } from "class-validator";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { Inject, McpServer, Resource, ResourceUpdates, Server, Tool } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Note {
  @IsString() text!: string;
}

@Server({ name: "subscriptions", version: "1.0.0" })
class NotesServer {
  private note = "first";

  @Resource("notes://current", { mimeType: "text/plain" })
  current() {
    return this.note;
  }

  @Tool({ description: "Replaces the note and tells subscribers" })
  async write(input: Note, @Inject(ResourceUpdates) updates: ResourceUpdates) {
    this.note = input.text;
    return { told: await updates.notify("notes://current") };
  }
}

/** Resolves once `count` notifications of a kind arrived (bounded by the test timeout). */
function collect<T>(client: TestClient, method: "notifications/resources/updated" | "notifications/tools/list_changed" | "notifications/resources/list_changed") {
  const received: T[] = [];
  let wake: (() => void) | undefined;
  client.client.setNotificationHandler(method, (n: { params?: unknown }) => {
    received.push(n.params as T);
    wake?.();
  });
  const until = async (count: number) => {
    while (received.length < count) await new Promise<void>((resolve) => (wake = resolve));
  };
  return { received, until };
}

describe("resource subscriptions", () => {
  let server: McpServer;
  let a: TestClient;
  let b: TestClient;
  beforeEach(async () => {
    server = new McpServer(NotesServer);
    a = await createTestClient(server, { clientInfo: { name: "a", version: "1" } });
    b = await createTestClient(server, { clientInfo: { name: "b", version: "1" } });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await server.close();
  });

  it("declares subscribe and notifies only the sessions subscribed to the URI, until they unsubscribe", async () => {
    expect(a.client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    const updates = collect<{ uri: string }>(a, "notifications/resources/updated");
    const others = collect<{ uri: string }>(b, "notifications/resources/updated");
    expect(await a.client.subscribeResource({ uri: "notes://current" })).toEqual({});

    const result = await b.callTool("write", { text: "second" });
    expect(result.structuredContent).toEqual({ told: 1 });
    await updates.until(1);
    expect(updates.received).toEqual([{ uri: "notes://current" }]);
    expect(others.received).toEqual([]);

    await a.client.unsubscribeResource({ uri: "notes://current" });
    expect(await server.notifyResourceUpdated("notes://current")).toBe(0);
  });

  it("refuses a subscription to a resource that does not exist", async () => {
    const error = await a.client.subscribeResource({ uri: "notes://missing" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).code).not.toBe(ErrorCode.InternalError);
  });
});

describe("list-changed notifications", () => {
  it("tells connected clients when a tool or resource is added after the server started", async () => {
    const server = new McpServer(NotesServer);
    const client = await createTestClient(server);
    expect(client.client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
    const tools = collect(client, "notifications/tools/list_changed");
    const resources = collect(client, "notifications/resources/list_changed");
    server.addTool({ name: "late", description: "Added at run time", handler: () => "late" });
    await tools.until(1);
    server.addResource("notes://late", () => "late");
    await resources.until(1);
    expect((await client.client.listTools()).tools.map((t) => t.name)).toContain("late");
    expect((await client.client.listResources()).resources.map((r) => r.uri)).toContain("notes://late");
    await client.close();
    await server.close();
  });
});
