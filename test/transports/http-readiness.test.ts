import "reflect-metadata";
import { createServer } from "node:net";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { IsString } from "class-validator";
import { McpServer, Server, Tool } from "../../src/index.js";
import { HttpTransportHost } from "../../src/transports/http.js";

class Hold {
  @IsString() id!: string;
}

/** Calls run only when the test lets them go, so "in flight" is a state the test controls. */
class Gate {
  readonly started: string[] = [];
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  private onStart: (() => void) | undefined;
  whenStarted(): Promise<void> {
    return this.started.length > 0 ? Promise.resolve() : new Promise((resolve) => (this.onStart = resolve));
  }
  async enter(id: string): Promise<void> {
    this.started.push(id);
    this.onStart?.();
    await this.released;
  }
  open(): void {
    this.release();
  }
}

let gate: Gate;

@Server({ name: "readiness-test", version: "1.0.0" })
class HeldApi {
  @Tool({ description: "Waits until the test lets it go" })
  async hold(input: Hold) {
    await gate.enter(input.id);
    return `done ${input.id}`;
  }
}

const callBody = (id: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name: "hold",
      arguments: { id },
      _meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  });

const post = (url: string, body: string) =>
  fetch(url, { method: "POST", body, headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28" } });

const modernClient = async (url: string) => {
  const client = new Client({ name: "readiness", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
};

describe("HTTP readiness and draining", () => {
  beforeEach(() => {
    gate = new Gate();
  });

  it("says 'starting' and refuses MCP requests with 503 + Retry-After until it is marked ready", async () => {
    const server = new McpServer(HeldApi);
    const http = new HttpTransportHost(await server.build(), server.routes, { port: 0 });
    const { url, port } = await http.start();
    try {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "starting" });
      const refused = await post(url, callBody("early"));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.headers.get("connection")).toBe("close");
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("The server is starting");
      expect(gate.started).toEqual([]);

      http.markReady();
      const ready = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ok" });
      // Once ready, calls run.
      gate.open();
      const client = await modernClient(url);
      expect((await client.callTool({ name: "hold", arguments: { id: "after" } })).content).toEqual([{ type: "text", text: "done after" }]);
      expect(gate.started).toEqual(["after"]);
      await client.close();
    } finally {
      await http.close();
    }
  });

  it("on close: says 'draining', refuses new calls before they run, finishes in-flight ones, keeps the port open for drainDelayMs", async () => {
    const server = new McpServer(HeldApi);
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false, drainDelayMs: 5_000 });
    const base = `http://127.0.0.1:${running.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const client = await modernClient(running.url!);
    const inFlight = client.callTool({ name: "hold", arguments: { id: "in-flight" } });
    await gate.whenStarted();

    const closed = server.close(30_000);
    const draining = await fetch(`${base}/healthz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ status: "draining", inFlight: 1 });

    const refused = await post(running.url!, callBody("late"));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("connection")).toBe("close");
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("shutting down");

    gate.open();
    expect((await inFlight).content).toEqual([{ type: "text", text: "done in-flight" }]);
    // The call that came late never ran; the port is still open (the delay has not passed).
    expect(gate.started).toEqual(["in-flight"]);
    const stillDraining = await fetch(`${base}/healthz`);
    expect(stillDraining.status).toBe(503);
    await client.close();
    await closed;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("refuses a non-loopback host without allowedHosts before binding its port", async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "0.0.0.0", resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));
    const server = new McpServer(HeldApi);
    await expect(server.listen({ transport: "http", host: "0.0.0.0", port, handleSignals: false })).rejects.toThrow(/Binding to 0\.0\.0\.0 needs allowedHosts/);
    // Nothing was left listening: the port binds again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once("error", reject).listen(port, "0.0.0.0", resolve));
    await new Promise((resolve) => again.close(resolve));
    await server.close(0);
  });

  it("refuses a drainDelayMs that is not a duration", async () => {
    const server = new McpServer(HeldApi);
    await expect(server.listen({ transport: "http", port: 0, handleSignals: false, drainDelayMs: -5 })).rejects.toThrow(/drainDelayMs/);
  });
});
