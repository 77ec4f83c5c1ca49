import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { IsInt, IsString, Max, Min } from "class-validator";
import { EventEmitter, once } from "node:events";
import { request } from "node:http";
import { Inject, McpServer, Server, ServerLogger, Tool, type RunningServer } from "lantern-mcp";

class Wait {
  @IsInt() @Min(0) @Max(2000) ms!: number;
}
class Shout {
  @IsString() text!: string;
}

/** Emits "started" when the wait tool begins. */
const waitStarted = new EventEmitter();

@Server({ name: "http-test", version: "1.0.0" })
class HttpApi {
  @Tool({ description: "shout" })
  async shout(input: Shout, @Inject(ServerLogger) logger: ServerLogger) {
    await logger.info(`shouting ${input.text}`);
    return input.text.toUpperCase();
  }

  @Tool({ description: "wait" })
  async wait(input: Wait) {
    waitStarted.emit("started");
    await new Promise((resolve) => setTimeout(resolve, input.ms));
    return `waited ${input.ms}`;
  }
}

const connect = async (url: string, name = "http-client") => {
  const client = new Client({ name, version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
};

/** A raw POST with any headers (fetch cannot set Host). */
const rawPost = (url: string, body: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });

interface ErrorBody { error: { code: number; message: string } }

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", body, headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } });

describe("Streamable HTTP transport", () => {
  let server: McpServer;
  let running: RunningServer;

  beforeEach(async () => {
    server = new McpServer(HttpApi);
    running = await server.listen({ transport: "http", port: 0, handleSignals: false, maxBodyBytes: 4096 });
  });
  afterEach(() => server.close(1000));

  it("binds to loopback and serves calls, with notifications on the request's stream", async () => {
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const { client } = await connect(running.url!);
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(String(n.params.data)); });
    const result = await client.callTool({ name: "shout", arguments: { text: "hi" } });
    expect(result.content).toEqual([{ type: "text", text: "HI" }]);
    expect(logs).toEqual(["shouting hi"]);
    await client.close();
  });

  it("keeps sessions apart and answers concurrent calls", async () => {
    const a = await connect(running.url!, "a");
    const b = await connect(running.url!, "b");
    expect(a.transport.sessionId).toBeDefined();
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    const results = await Promise.all([
      a.client.callTool({ name: "shout", arguments: { text: "one" } }),
      b.client.callTool({ name: "shout", arguments: { text: "two" } }),
      a.client.callTool({ name: "wait", arguments: { ms: 5 } }),
    ]);
    expect(results.map((r) => (r.content as { text: string }[])[0]!.text)).toEqual(["ONE", "TWO", "waited 5"]);
    await a.client.close();
    await b.client.close();
  });

  it("answers GET /healthz", async () => {
    const response = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });

  it("refuses Host headers outside the allow-list (DNS rebinding) and foreign origins", async () => {
    const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
    const evil = await rawPost(running.url!, init, { host: "evil.example.com" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.message).toContain('Host header "evil.example.com" is not allowed');
    const rebound = await rawPost(running.url!, init, { host: `evil.example.com:${running.port}` });
    expect(rebound.status).toBe(403);
    const localhost = await rawPost(running.url!, init, { host: `localhost:${running.port}` });
    expect(localhost.status).toBe(200);
    const origin = await post(running.url!, init, { origin: "http://evil.example.com" });
    expect(origin.status).toBe(403);
  });

  it("refuses bodies over the limit, malformed JSON, and requests without a session", async () => {
    const big = await post(running.url!, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(5000) } }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as ErrorBody).error.message).toContain("limit is 4096 bytes");
    const malformed = await post(running.url!, "{not json");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.code).toBe(-32700);
    const noSession = await post(running.url!, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
    expect(noSession.status).toBe(400);
    expect(((await noSession.json()) as ErrorBody).error.message).toContain("the first request of a session must be initialize");
    const unknownSession = await post(running.url!, JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }), { "mcp-session-id": "nope" });
    expect(unknownSession.status).toBe(404);
    // ...and the server keeps serving.
    const { client } = await connect(running.url!);
    expect((await client.listTools()).tools).toHaveLength(2);
    await client.close();
  });

  it("lets in-flight calls finish on close, then refuses new ones", async () => {
    const { client } = await connect(running.url!);
    const started = once(waitStarted, "started");
    const inFlight = client.callTool({ name: "wait", arguments: { ms: 200 } });
    await started;
    const closed = server.close(5000);
    expect((await inFlight).content).toEqual([{ type: "text", text: "waited 200" }]);
    await closed;
    await expect(fetch(`http://127.0.0.1:${running.port}/healthz`)).rejects.toThrow();
  });

  it("serves stateless mode without session ids", async () => {
    const stateless = new McpServer(HttpApi);
    const r = await stateless.listen({ transport: "http", port: 0, stateless: true, handleSignals: false });
    const { client, transport } = await connect(r.url!);
    expect(transport.sessionId).toBeUndefined();
    expect((await client.callTool({ name: "shout", arguments: { text: "s" } })).content).toEqual([{ type: "text", text: "S" }]);
    await client.close();
    await stateless.close();
  });
});
