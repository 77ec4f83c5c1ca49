import "reflect-metadata";
import { InMemoryEventStore, McpServer } from "lantern-mcp";
import { ConformanceServer } from "./conformance-server.js";
import { DynamicSurface, MultiRoundTripTools } from "./multi-round-trip.js";

const server = new McpServer(ConformanceServer).register(MultiRoundTripTools);

let added = 0;
const surface = new DynamicSurface(
  () => {
    const name = `dynamic_tool_${++added}`;
    server.addTool({ name, description: "Added while the server runs", handler: () => `${name} ran` });
    return name;
  },
  () => {
    const name = `dynamic_prompt_${++added}`;
    server.addPrompt({ name, description: "Added while the server runs", handler: () => `${name} text` });
    return name;
  },
);
server.provide(DynamicSurface, () => surface);

// PORT=0 (the default) picks a free port; the line on stdout tells the conformance script which.
const running = await server.listen({
  transport: "http",
  host: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  eventStore: new InMemoryEventStore({ maxEvents: 10_000 }),
  retryIntervalMs: 500,
});
process.stdout.write(`LISTENING ${running.url}\n`);
