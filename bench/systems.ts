import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer as SdkMcpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Server as SdkServer } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { McpServer as SdkV2McpServer } from "@modelcontextprotocol/server";
import { IsString, MaxLength } from "class-validator";
import { McpServer, Server, Tool, type Middleware } from "lantern-mcp";
import { z } from "zod";

/** The trivial tool every system serves: echo a short string. */
export class EchoInput {
  @IsString() @MaxLength(100) text!: string;
}

@Server({ name: "bench", version: "1.0.0" })
export class EchoServer {
  @Tool({ description: "Echo the text back" })
  echo(input: EchoInput) {
    return input.text;
  }
}

/** A connected in-memory client and a `call()` that runs the echo tool once. */
export interface BenchClient {
  call: () => Promise<unknown>;
  close: () => Promise<void>;
}

const ARGS = { name: "echo", arguments: { text: "hello" } };

async function connectClient(connectServer: (transport: InMemoryTransport) => Promise<void>): Promise<BenchClient> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await connectServer(serverTransport);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientTransport);
  return { call: () => client.callTool(ARGS), close: () => client.close() };
}

/** The SDK's high-level McpServer with a zod input schema. */
export function bareMcpServer(): Promise<BenchClient> {
  const server = new SdkMcpServer({ name: "bench", version: "1.0.0" });
  server.registerTool("echo", { description: "Echo the text back", inputSchema: { text: z.string().max(100) } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  return connectClient((t) => server.connect(t));
}

/**
 * The v2 SDK's McpServer (`@modelcontextprotocol/server`, the SDK Lantern is built on) with a zod
 * input schema, answering the same 2025-era client over the same in-memory transport.
 */
export function bareV2McpServer(): Promise<BenchClient> {
  const server = new SdkV2McpServer({ name: "bench", version: "1.0.0" });
  server.registerTool("echo", { description: "Echo the text back", inputSchema: z.object({ text: z.string().max(100) }) }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  return connectClient((t) => server.connect(t));
}

/** The SDK's low-level Server with hand-written handlers (no input validation). */
export function bareLowLevelServer(): Promise<BenchClient> {
  const server = new SdkServer({ name: "bench", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: "echo", description: "Echo the text back", inputSchema: { type: "object", properties: { text: { type: "string" } } } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) => ({
    content: [{ type: "text", text: String(request.params.arguments?.text) }],
  }));
  return connectClient((t) => server.connect(t));
}

/** Lantern serving {@link EchoServer} with the given middleware. */
export function lantern(middleware: Middleware[] = [], serverClass: Function = EchoServer): Promise<BenchClient & { server: McpServer }> {
  const server = new McpServer(serverClass);
  for (const mw of middleware) server.use(mw);
  return connectClient((t) => server.connect(t, { transport: "memory" })).then((c) => ({ ...c, server }));
}
