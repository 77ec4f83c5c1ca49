import "reflect-metadata";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer as SdkMcpServer } from "@modelcontextprotocol/server";
import { IsString, MaxLength } from "class-validator";
import { McpServer } from "lantern-mcp";
import { z } from "zod";

/**
 * One server for the modern-era HTTP benchmark, in a process of its own so that its CPU time is
 * the server's alone: `lantern` (no middleware) or `sdk` (the SDK v2's own handler with a plain
 * McpServer factory). Prints `LISTENING <url>`.
 */
class Echo {
  @IsString() @MaxLength(100) text!: string;
}

const kind = process.argv[2];
let url: string;
if (kind === "lantern") {
  const server = new McpServer({ name: "bench", version: "1.0.0" });
  server.addTool<Echo>({ name: "echo", description: "Echo the text back", input: Echo, handler: (input) => input.text });
  url = (await server.listen({ transport: "http", port: 0, handleSignals: false })).url!;
} else if (kind === "sdk") {
  const handler = createMcpHandler(
    () => {
      const server = new SdkMcpServer({ name: "bench", version: "1.0.0" });
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
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
} else {
  throw new Error(`usage: modern-http-server.js lantern|sdk (got ${kind})`);
}
process.stdout.write(`LISTENING ${url}\n`);
