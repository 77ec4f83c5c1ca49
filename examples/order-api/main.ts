import "reflect-metadata";
import { McpServer, OTelMiddleware, StructuredLoggingMiddleware } from "lantern-mcp";
import { OrderApi } from "./order-api.js";

// OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node dist-examples/examples/order-api/main.js
// exports spans and metrics to a collector; without it tracing costs next to nothing.
const server = new McpServer(OrderApi);
server.use(new StructuredLoggingMiddleware({ redact: ["password"] })); // JSON lines on stderr, with trace_id/span_id
server.use(new OTelMiddleware({ serviceName: "order-api" }));
const port = Number(process.env.PORT ?? 3000);
const running = await server.listen(process.argv.includes("--stdio") ? { transport: "stdio" } : { transport: "http", port });
if (running.url) process.stderr.write(`order-api listening on ${running.url}\n`);
