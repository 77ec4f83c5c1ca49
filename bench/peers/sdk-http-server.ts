import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";

/**
 * The SDK v2's own handler with a plain McpServer factory, serving the trivial echo tool in a
 * process of its own for the modern-era HTTP benchmark (the baseline of `processes/modern-http-server`).
 * Prints `LISTENING <url>`.
 */
const handler = createMcpHandler(
  () => {
    const server = new McpServer({ name: "bench", version: "1.0.0" });
    server.registerTool("echo", { description: "Echo the text back", inputSchema: z.object({ text: z.string().max(100) }) }, async ({ text }) => ({
      content: [{ type: "text", text }],
    }));
    return server;
  },
  { legacy: "reject" },
);
const node = toNodeHandler(handler);
const http = createServer((req, res) => void node(req, res));
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
process.stdout.write(`LISTENING http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`);
