import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer as SdkMcpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer as LanternServer } from "lantern-mcp";
import { z } from "zod";

/** A system under test served over Streamable HTTP on 127.0.0.1. */
export interface HttpSystem {
  url: string;
  close: () => Promise<void>;
}

/** `clients` connected SDK clients and a `call()` that spreads calls over them round-robin. */
export interface HttpCallers {
  call: () => Promise<unknown>;
  close: () => Promise<void>;
}

const ARGS = { name: "echo", arguments: { text: "hello" } };

/**
 * The bench clients' fetch: a POST (a message) without the transport's long-lived abort signal.
 * Node's fetch leaves one listener per request on that signal until the request is garbage
 * collected, so a client's requests get slower as listeners pile up (thousands in a round), by an
 * amount that depends on how much garbage the server in the same process makes. Bench calls are
 * never aborted; the standalone GET stream keeps the signal, so closing a client still ends it.
 */
export const benchFetch = (url: string | URL, init?: RequestInit): Promise<Response> =>
  fetch(url, init?.method === "POST" ? { ...init, signal: undefined } : init);

/** Connects `count` SDK clients (one session each) to `url`; `headers` go on every request. */
export async function connectCallers(url: string, count: number, headers: Record<string, string> = {}): Promise<HttpCallers> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    const client = new Client({ name: `bench-${i}`, version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: benchFetch }));
    clients.push(client);
  }
  let next = 0;
  return {
    call: () => clients[next++ % clients.length]!.callTool(ARGS),
    close: async () => { await Promise.allSettled(clients.map((c) => c.close())); },
  };
}

const readJson = (req: IncomingMessage) =>
  new Promise<unknown>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))); } catch (e) { reject(e); } });
    req.on("error", reject);
  });

const listen = (server: HttpServer) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

/** The bare SDK: one McpServer per session over StreamableHTTPServerTransport, as the SDK's examples do. */
export async function bareSdkHttp(): Promise<HttpSystem> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const body = req.method === "POST" ? await readJson(req) : undefined;
    const id = req.headers["mcp-session-id"];
    let transport = typeof id === "string" ? sessions.get(id) : undefined;
    if (!transport && isInitializeRequest(body)) {
      const created = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => { sessions.set(sid, created); } });
      const server = new SdkMcpServer({ name: "bench", version: "1.0.0" });
      server.registerTool("echo", { description: "Echo the text back", inputSchema: { text: z.string().max(100) } }, async ({ text }) => ({
        content: [{ type: "text", text }],
      }));
      await server.connect(created);
      transport = created;
    }
    if (!transport) {
      res.writeHead(400).end();
      return;
    }
    await transport.handleRequest(req, res, body);
  });
  const port = await listen(http);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/**
 * A Lantern server (built and configured by the caller: middleware, extra tools) served over its
 * own Streamable HTTP transport on 127.0.0.1; `close()` closes the server and its shutdown hooks.
 */
export async function lanternHttp(server: LanternServer): Promise<HttpSystem> {
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
  return { url: running.url!, close: () => server.close() };
}
