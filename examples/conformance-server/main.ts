import "reflect-metadata";
import { InMemoryEventStore, McpServer } from "lantern-mcp";
import { ConformanceServer } from "./conformance-server.js";

// PORT=0 (the default) picks a free port; the line on stdout tells the conformance script which.
const server = new McpServer(ConformanceServer);
const running = await server.listen({
  transport: "http",
  host: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  eventStore: new InMemoryEventStore({ maxEvents: 10_000 }),
  retryIntervalMs: 500,
});
process.stdout.write(`LISTENING ${running.url}\n`);
