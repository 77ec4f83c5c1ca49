import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { FastMCP, type Logger } from "fastmcp";
import { z } from "zod";
import type { BenchClient, HttpSystem } from "./systems.js";

// fastmcp logs every session at info level; the benchmark's table is the only output wanted.
const silent: Logger = { debug() {}, error() {}, info() {}, log() {}, warn() {} };

/** A fastmcp server with the same trivial echo tool (zod input, string result) as every other system. */
function echoServer(): FastMCP {
  const server = new FastMCP({ name: "bench", version: "1.0.0", logger: silent, ping: { enabled: false }, health: { enabled: false } });
  server.addTool({
    name: "echo",
    description: "Echo the text back",
    parameters: z.object({ text: z.string().max(100) }),
    execute: async ({ text }) => text,
  });
  return server;
}

// fastmcp's start() takes a port and reports none back, so ask the OS for a free one first.
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/**
 * fastmcp over Streamable HTTP on 127.0.0.1 (its `httpStream` transport: stateful sessions, SSE
 * responses, as the SDK's own transport).
 *
 * @example
 * const peer = await startFastMcpHttp();
 * const callers = await connectCallers(peer.url, 1);
 */
export async function startFastMcpHttp(): Promise<HttpSystem> {
  const server = echoServer();
  const port = await freePort();
  const restoreConsole = muteMcpProxy();
  await server.start({ transportType: "httpStream", httpStream: { port, host: "127.0.0.1", endpoint: "/mcp" } });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await server.stop();
      restoreConsole();
    },
  };
}

/**
 * fastmcp's HTTP layer (mcp-proxy) prints a console.log line for every SSE stream a client opens,
 * with no option to turn it off; drop those lines (only those) while the peer runs.
 */
function muteMcpProxy(): () => void {
  const original = console.log;
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].startsWith("[mcp-proxy]")) return;
    original(...args);
  };
  return () => {
    console.log = original;
  };
}

/**
 * fastmcp over the SDK's in-memory transport (`FastMCP.connect(transport)`, the path its own docs
 * give for in-process tests), with one connected SDK client.
 *
 * @example
 * const peer = await fastMcpInMemory();
 * await peer.call();
 */
export async function fastMcpInMemory(): Promise<BenchClient> {
  const server = echoServer();
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "bench", version: "1.0.0" });
  // connect() waits for the client's capabilities, so both ends must connect together.
  const [session] = await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  const args = { name: "echo", arguments: { text: "hello" } };
  return {
    call: () => client.callTool(args),
    close: async () => {
      await client.close();
      await session.close();
    },
  };
}
