import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryEventStore, Inject, McpServer, Server, StreamControl, Tool } from "lantern-mcp";

@Server({ name: "polling", version: "1.0.0" })
class PollingServer {
  @Tool({ description: "Closes its stream, then answers" })
  async slowAnswer(@Inject(StreamControl) stream: StreamControl) {
    const closed = stream.closeStream();
    // Answer on a later tick, after the stream is gone: only the event store can deliver it.
    await new Promise((resolve) => setImmediate(resolve));
    return { closed };
  }
}

describe("SSE resumability (StreamControl + InMemoryEventStore)", () => {
  let server: McpServer;
  let url: string;
  let store: InMemoryEventStore;
  beforeEach(async () => {
    server = new McpServer(PollingServer);
    store = new InMemoryEventStore({ maxEvents: 100 });
    ({ url } = (await server.listen({ transport: "http", port: 0, eventStore: store, retryIntervalMs: 10, handleSignals: false })) as { url: string });
  });
  afterEach(() => server.close());

  it("closes the call's stream and delivers the result when the client resumes with Last-Event-ID", async () => {
    const resumes: string[] = [];
    const tracking: typeof fetch = (input, init) => {
      const lastEventId = new Headers(init?.headers).get("last-event-id");
      if (lastEventId) resumes.push(lastEventId);
      return fetch(input, init);
    };
    const client = new Client({ name: "poller", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: tracking }));
    try {
      const result = await client.callTool({ name: "slow_answer", arguments: {} });
      expect(result.structuredContent).toEqual({ closed: true });
      expect(resumes).toHaveLength(1);
      expect(store.size).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it("opens each POST stream with a priming event that carries an id and the retry hint", async () => {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    const body = await init.text();
    expect(body.startsWith("id: ")).toBe(true);
    expect(body).toMatch(/^id: \S+\nretry: 10\ndata: \n\n/);
  });

  it("forgets the oldest events past maxEvents", async () => {
    const small = new InMemoryEventStore({ maxEvents: 2 });
    const first = await small.storeEvent("s", { jsonrpc: "2.0", method: "a" });
    const second = await small.storeEvent("s", { jsonrpc: "2.0", method: "b" });
    const third = await small.storeEvent("s", { jsonrpc: "2.0", method: "c" });
    expect(small.size).toBe(2);
    await expect(small.replayEventsAfter(first, { send: async () => {} })).rejects.toThrow(/Unknown or expired event id/);
    const replayed: string[] = [];
    expect(await small.replayEventsAfter(second, { send: async (id) => void replayed.push(id) })).toBe("s");
    expect(replayed).toEqual([third]);
    expect(() => new InMemoryEventStore({ maxEvents: 0 })).toThrow(RangeError);
  });
});
