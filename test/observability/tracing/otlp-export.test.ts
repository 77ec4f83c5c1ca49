import "reflect-metadata";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { context, metrics, propagation, trace } from "@opentelemetry/api";
import winston from "winston";
import { McpServer, OTelMiddleware, StructuredLoggingMiddleware } from "lantern-mcp";
import { OrderApi } from "../../../examples/order-api/order-api.js";
import { jsonLineSink } from "../../support/json-lines.js";
import { startOtlpReceiver, type OtlpReceiver } from "./otlp-receiver.js";

const SERVER_KIND = 2;

describe("OTLP/HTTP export end to end", () => {
  let receiver: OtlpReceiver;
  let server: McpServer | undefined;

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });

  afterEach(async () => {
    await server?.close(1000);
    server = undefined;
    await receiver.close();
    trace.disable();
    metrics.disable();
    context.disable();
    propagation.disable();
  });

  it("exports the example's call spans, nested user spans and MCP metrics with service.name; log lines name the traces", async () => {
    const logLines: Record<string, unknown>[] = [];
    const sink = jsonLineSink(logLines);
    server = new McpServer(OrderApi, { onInternalError: () => {}, replicaId: "orders-2" });
    server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: sink })] }));
    // OrderApi is also @Traced: the call must still get exactly one span, from this instance.
    server.use(new OTelMiddleware({ serviceName: "order-api-e2e", endpoint: receiver.url }));
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });

    const client = new Client({ name: "e2e-agent", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(running.url!));
    await client.connect(transport);
    const traceId = "5b8efff798038103d269b633813fc60c";
    await client.callTool({ name: "get_order", arguments: { id: "A-1" }, _meta: { traceparent: `00-${traceId}-eee19b7ec3c1b174-01` } });
    const failed = await client.callTool({ name: "cancel_order", arguments: { id: "A-2" } });
    expect(failed.isError).toBe(true);
    const sessionId = transport.sessionId;
    await client.close();
    // Closing the server runs its shutdown hooks: the SDK flushes what it buffered to the receiver.
    await server.close(1000);

    expect(receiver.rejected).toEqual([]);
    expect(receiver.spans.filter((s) => s.kind === SERVER_KIND).map((s) => s.name).sort()).toEqual(["tools/call cancel_order", "tools/call get_order"]);
    const call = receiver.spans.find((s) => s.name === "tools/call get_order")!;
    expect(call).toBeDefined();
    expect(call.resource["service.name"]).toBe("order-api-e2e");
    // The replica names itself on the resource and on the span.
    expect(call.resource["service.instance.id"]).toBe("orders-2");
    expect(call.attributes["service.instance.id"]).toBe("orders-2");
    expect(call.kind).toBe(SERVER_KIND);
    expect(call.traceId).toBe(traceId);
    expect(call.parentSpanId).toBe("eee19b7ec3c1b174");
    expect(call.scope).toBe("lantern-mcp");
    expect(call.attributes).toMatchObject({
      "mcp.tool.name": "get_order",
      "mcp.client.id": "e2e-agent",
      "mcp.tool.status": "ok",
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "get_order",
      "gen_ai.operation.name": "execute_tool",
      "network.transport": "tcp",
      "network.protocol.name": "http",
      "mcp.session.id": sessionId,
    });
    expect(call.attributes["mcp.request.id"]).toBe(call.attributes["jsonrpc.request.id"]);
    expect(call.attributes["mcp.protocol.version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const lookup = receiver.spans.find((s) => s.name === "orders.lookup")!;
    expect(lookup.traceId).toBe(traceId);
    expect(lookup.parentSpanId).toBe(call.spanId);

    const cancel = receiver.spans.find((s) => s.name === "tools/call cancel_order")!;
    expect(cancel.attributes["error.type"]).toBe("tool_error");
    expect(cancel.attributes["mcp.tool.status"]).toBe("error");
    expect(cancel.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(cancel.events.filter((e) => e.name === "exception")).toHaveLength(1);
    expect(receiver.spans.find((s) => s.name === "carrier.cancel")!.parentSpanId).toBe(cancel.spanId);

    const callLines = logLines.filter((l) => l.event === "tool_call");
    expect(callLines.map((l) => [l.tool, l.trace_id, l.span_id, l.session_id])).toEqual([
      ["get_order", traceId, call.spanId, sessionId],
      ["cancel_order", cancel.traceId, cancel.spanId, sessionId],
    ]);
    expect(logLines.find((l) => l.event === "client_log")).toMatchObject({ data: "Cancelling A-2", tool: "cancel_order", trace_id: cancel.traceId });

    const operation = receiver.metrics.find((m) => m.name === "mcp.server.operation.duration")!;
    expect(operation).toBeDefined();
    expect(operation.unit).toBe("s");
    expect(operation.resource["service.name"]).toBe("order-api-e2e");
    expect(operation.points.map((p) => p.attributes["gen_ai.tool.name"]).sort()).toEqual(["cancel_order", "get_order"]);
    const errors = receiver.metrics.find((m) => m.name === "mcp.tool.errors")!;
    expect(errors.points).toEqual([expect.objectContaining({ attributes: { tool: "cancel_order" } })]);
  });
});
