import "reflect-metadata";
import type { AddressInfo } from "node:net";
import type { Server as HttpServer } from "node:http";
import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { McpModule, McpTransportType, Tool } from "@rekog/mcp-nest";
import { z } from "zod";
import type { HttpSystem } from "./systems.js";

/** The trivial echo tool, the way @rekog/mcp-nest declares tools: a decorated method of a provider. */
@Injectable()
class EchoTool {
  @Tool({ name: "echo", description: "Echo the text back", parameters: z.object({ text: z.string().max(100) }) })
  echo({ text }: { text: string }) {
    return { content: [{ type: "text", text }] };
  }
}

@Module({
  imports: [McpModule.forRoot({ name: "bench", version: "1.0.0", transport: McpTransportType.STREAMABLE_HTTP, mcpEndpoint: "/mcp", logging: false })],
  providers: [EchoTool],
})
class EchoModule {}

/**
 * @rekog/mcp-nest over Streamable HTTP on 127.0.0.1: a NestJS application on Express with its
 * stateful streamable-http controller. It has no in-memory transport (only stdio, SSE and
 * Streamable HTTP), so it is measured over HTTP only.
 *
 * @example
 * const peer = await startMcpNestHttp();
 * const callers = await connectCallers(peer.url, 32);
 */
export async function startMcpNestHttp(): Promise<HttpSystem> {
  const app = await NestFactory.create(EchoModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const http = app.getHttpServer() as HttpServer;
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      http.closeAllConnections();
      await app.close();
    },
  };
}
