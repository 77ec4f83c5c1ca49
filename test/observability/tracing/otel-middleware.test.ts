import "reflect-metadata";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AggregationTemporality, MeterProvider, MetricReader, type HistogramMetricData, type MetricData, type SumMetricData } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { IsInt, IsString, Min } from "class-validator";
import {
  Inject,
  MCP_ATTRIBUTES,
  McpServer,
  OTelMiddleware,
  Param,
  Prompt,
  Resource,
  Server,
  Tool,
  ToolError,
  Traced,
  CallContext,
} from "lantern-mcp";
import { MCP_DURATION_BUCKETS } from "../../../src/observability/tracing/semantic-conventions.js";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Search {
  @IsString() query!: string;
  @IsInt() @Min(1) limit = 10;
}

class Topic {
  @IsString() topic!: string;
}

@Server({ name: "orders", version: "1.0.0" })
class Orders {
  @Tool({ description: "Search orders" })
  async searchOrders(input: Search) {
    // A user span started inside the tool, after an await and a timer: it must nest under the call's span.
    await new Promise((resolve) => setTimeout(resolve, 1));
    return trace.getTracer("orders-app").startActiveSpan("db.query", async (span) => {
      await Promise.resolve();
      span.end();
      return { found: [input.query], limit: input.limit };
    });
  }

  @Tool({ description: "Always fails" })
  explode() {
    throw new TypeError("the database is gone");
  }

  @Tool({ description: "Reports a failure as a result" })
  refuse() {
    throw new ToolError("no such order");
  }

  @Tool({ description: "Reports the call's trace id" })
  whichTrace(@Inject(CallContext) ctx: CallContext) {
    const baggage = propagation.getBaggage(context.active());
    return {
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      request: ctx.requestId,
      baggage: baggage && Object.fromEntries(baggage.getAllEntries().map(([key, entry]) => [key, entry.value])),
    };
  }

  @Resource("orders://{id}", { mimeType: "text/plain" })
  order(@Param("id") id: string) {
    return `order ${id}`;
  }

  @Prompt({ description: "Summarise" })
  summarise(args: Topic) {
    return `Summarise ${args.topic}`;
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected override onShutdown(): Promise<void> { return Promise.resolve(); }
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

let client: TestClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  exporter.reset();
  propagation.disable();
});

const serverSpans = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
const onlyServerSpan = (): ReadableSpan => {
  const spans = serverSpans();
  expect(spans).toHaveLength(1);
  return spans[0]!;
};

async function connect(middleware = new OTelMiddleware({ serviceName: "orders" }), cls: Function = Orders): Promise<TestClient> {
  // Tool exceptions are expected here; keep their stack traces out of the test output.
  const server = new McpServer(cls, { onInternalError: () => {} });
  server.use(middleware);
  client = await createTestClient(server, { clientInfo: { name: "claude-desktop", version: "1.0.0" } });
  return client;
}

describe("OTelMiddleware spans", () => {
  it("makes one SERVER span named `tools/call <tool>` with the seed's and the convention's attributes", async () => {
    const c = await connect();
    const result = await c.callTool("search_orders", { query: "ada", limit: 3 });
    expect(result.isError).toBeFalsy();

    const span = onlyServerSpan();
    expect(span.name).toBe("tools/call search_orders");
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    const a = span.attributes;
    expect(a[MCP_ATTRIBUTES.TOOL_NAME]).toBe("search_orders");
    expect(a["mcp.tool.name"]).toBe("search_orders");
    expect(a["mcp.request.id"]).toEqual(expect.any(String));
    expect(a["mcp.client.id"]).toBe("claude-desktop");
    expect(a["mcp.tool.status"]).toBe("ok");
    expect(a["mcp.method.name"]).toBe("tools/call");
    expect(a["gen_ai.tool.name"]).toBe("search_orders");
    expect(a["gen_ai.operation.name"]).toBe("execute_tool");
    expect(a["jsonrpc.request.id"]).toBe(a["mcp.request.id"]);
    expect(a["mcp.protocol.version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(a["error.type"]).toBeUndefined();
    // Arguments and results only when asked for.
    expect(a["gen_ai.tool.call.arguments"]).toBeUndefined();
    expect(a["gen_ai.tool.call.result"]).toBeUndefined();
    // The in-memory transport is no network: no network.transport (HTTP's `tcp` is asserted end to end).
    expect(a["network.transport"]).toBeUndefined();
  });

  it("nests a span the tool starts under the call's span, across awaits and timers", async () => {
    const c = await connect();
    await c.callTool("search_orders", { query: "ada" });
    const span = onlyServerSpan();
    const user = exporter.getFinishedSpans().find((s) => s.name === "db.query")!;
    expect(user).toBeDefined();
    expect(user.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(user.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
  });

  it("marks a tool that threw: status ERROR, error.type tool_error, the exception recorded once", async () => {
    const c = await connect();
    const result = await c.callTool("explode");
    expect(result.isError).toBe(true);
    const span = onlyServerSpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "the database is gone" });
    expect(span.attributes["error.type"]).toBe("tool_error");
    expect(span.attributes["mcp.tool.status"]).toBe("error");
    expect(span.attributes["rpc.response.status_code"]).toBeUndefined();
    const exceptions = span.events.filter((e) => e.name === "exception");
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]!.attributes?.["exception.type"]).toBe("TypeError");
    expect(exceptions[0]!.attributes?.["exception.message"]).toBe("the database is gone");
  });

  it("marks a ToolError the same way (an isError result is a tool_error)", async () => {
    const c = await connect();
    await c.callTool("refuse");
    const span = onlyServerSpan();
    expect(span.attributes["error.type"]).toBe("tool_error");
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("gives a JSON-RPC error its code as error.type and rpc.response.status_code", async () => {
    const c = await connect();
    await expect(c.callTool("search_orders", { query: 42 })).rejects.toThrow(/query/);
    const span = onlyServerSpan();
    expect(span.attributes["error.type"]).toBe("-32602");
    expect(span.attributes["rpc.response.status_code"]).toBe("-32602");
    expect(span.attributes["mcp.tool.status"]).toBe("error");
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.filter((e) => e.name === "exception")).toHaveLength(1);
  });

  it("continues the client's trace from params._meta (no propagator registered: W3C read directly)", async () => {
    const c = await connect();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    await c.callTool("search_orders", { query: "x" }, { meta: { traceparent: `00-${traceId}-${parentId}-01`, tracestate: "rojo=00f067aa0ba902b7" } });
    const span = onlyServerSpan();
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(parentId);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(span.spanContext().traceState?.get("rojo")).toBe("00f067aa0ba902b7");
  });

  it("puts the client's W3C baggage in the tool's context (no propagator registered)", async () => {
    const c = await connect();
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const result = await c.callTool("which_trace", {}, { meta: { traceparent, baggage: "tenant=acme;ttl=60, user=ada%20lovelace" } });
    expect((result.structuredContent as { baggage: unknown }).baggage).toEqual({ tenant: "acme", user: "ada lovelace" });
    // A header with no parsable entry sets no baggage at all.
    const none = await c.callTool("which_trace", {}, { meta: { traceparent, baggage: "no-entry-here" } });
    expect((none.structuredContent as { baggage?: unknown }).baggage).toBeUndefined();
  });

  it("continues the client's trace through the configured propagator", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const c = await connect();
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await c.callTool("search_orders", { query: "x" }, { meta: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    const span = onlyServerSpan();
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
  });

  it("starts a new trace when the traceparent is malformed", async () => {
    const c = await connect();
    await c.callTool("search_orders", { query: "x" }, { meta: { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" } });
    const span = onlyServerSpan();
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe("00000000000000000000000000000000");
  });

  it("keeps the span active inside the tool", async () => {
    const c = await connect();
    const result = await c.callTool("which_trace");
    const span = onlyServerSpan();
    expect((result.structuredContent as { traceId: string }).traceId).toBe(span.spanContext().traceId);
  });

  it("records arguments and results when asked", async () => {
    const c = await connect(new OTelMiddleware({ captureArguments: true, captureResults: true }));
    await c.callTool("search_orders", { query: "ada", limit: 2 });
    const span = onlyServerSpan();
    expect(JSON.parse(span.attributes["gen_ai.tool.call.arguments"] as string)).toEqual({ query: "ada", limit: 2 });
    expect(JSON.parse(span.attributes["gen_ai.tool.call.result"] as string)).toEqual({ found: ["ada"], limit: 2 });
  });

  it("names resource and prompt spans as the convention says", async () => {
    const c = await connect();
    await c.client.readResource({ uri: "orders://7" });
    await c.client.getPrompt({ name: "summarise", arguments: { topic: "Q3" } });
    const [resource, prompt] = serverSpans();
    expect(resource!.name).toBe("resources/read");
    expect(resource!.attributes["mcp.method.name"]).toBe("resources/read");
    expect(resource!.attributes["mcp.resource.uri"]).toBe("orders://7");
    expect(resource!.attributes["gen_ai.operation.name"]).toBeUndefined();
    expect(prompt!.name).toBe("prompts/get summarise");
    expect(prompt!.attributes["gen_ai.prompt.name"]).toBe("summarise");
    expect(prompt!.attributes["mcp.method.name"]).toBe("prompts/get");
  });

  it("uses an explicitly given tracer provider instead of the global one", async () => {
    const own = new InMemorySpanExporter();
    const ownProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(own)] });
    const c = await connect(new OTelMiddleware({ tracerProvider: ownProvider }));
    await c.callTool("search_orders", { query: "x" });
    expect(own.getFinishedSpans().map((s) => s.name)).toEqual(["tools/call search_orders"]);
    expect(serverSpans()).toHaveLength(0);
    await ownProvider.shutdown();
  });
});

describe("@Traced", () => {
  @Server({ name: "traced", version: "1.0.0" })
  @Traced()
  class TracedApi {
    @Tool({ description: "Plain" })
    plain(input: Topic) {
      return input.topic;
    }

    @Tool({ description: "With arguments on the span" })
    @Traced({ captureArguments: true })
    detailed(input: Topic) {
      return input.topic;
    }
  }

  @Server({ name: "partly", version: "1.0.0" })
  class PartlyTraced {
    @Tool({ description: "Traced" })
    @Traced()
    traced(input: Topic) {
      return input.topic;
    }

    @Tool({ description: "Not traced" })
    untraced(input: Topic) {
      return input.topic;
    }
  }

  it("gives a call covered by both the server's middleware and the decorator one span", async () => {
    const c = await connect(new OTelMiddleware(), TracedApi);
    await c.callTool("plain", { topic: "a" });
    await c.callTool("detailed", { topic: "b" });
    const spans = serverSpans();
    expect(spans.map((s) => s.name)).toEqual(["tools/call plain", "tools/call detailed"]);
    expect(spans[0]!.attributes["gen_ai.tool.call.arguments"]).toBeUndefined();
    expect(JSON.parse(spans[1]!.attributes["gen_ai.tool.call.arguments"] as string)).toEqual({ topic: "b" });
  });

  it("traces only the decorated method when the server uses no OTelMiddleware", async () => {
    client = await createTestClient(PartlyTraced);
    await client.callTool("traced", { topic: "a" });
    await client.callTool("untraced", { topic: "b" });
    expect(serverSpans().map((s) => s.name)).toEqual(["tools/call traced"]);
  });
});

describe("OTelMiddleware metrics", () => {
  const find = (metrics: MetricData[], name: string) => metrics.find((m) => m.descriptor.name === name);

  it("records mcp.tool.duration, mcp.tool.errors and mcp.server.operation.duration", async () => {
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const c = await connect(new OTelMiddleware({ meterProvider }));
    await c.callTool("search_orders", { query: "a" });
    await c.callTool("explode");
    await expect(c.callTool("search_orders", { query: 1 })).rejects.toThrow();
    await c.client.getPrompt({ name: "summarise", arguments: { topic: "Q3" } });

    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);

    const duration = find(all, "mcp.tool.duration") as HistogramMetricData;
    expect(duration.descriptor.unit).toBe("s");
    expect(duration.dataPoints).toHaveLength(2);
    const searchPoint = duration.dataPoints.find((p) => p.attributes.tool === "search_orders")!;
    expect(searchPoint.attributes).toEqual({ tool: "search_orders" });
    expect(searchPoint.value.count).toBe(2);
    expect(searchPoint.value.buckets.boundaries).toEqual([...MCP_DURATION_BUCKETS]);

    const errors = find(all, "mcp.tool.errors") as SumMetricData;
    expect(errors.dataPoints.map((p) => [p.attributes.tool, p.value]).sort()).toEqual([
      ["explode", 1],
      ["search_orders", 1],
    ]);

    const operation = find(all, "mcp.server.operation.duration") as HistogramMetricData;
    expect(operation.descriptor.unit).toBe("s");
    const points = operation.dataPoints.map((p) => p.attributes);
    expect(points).toContainEqual(expect.objectContaining({ "mcp.method.name": "tools/call", "gen_ai.tool.name": "search_orders", "gen_ai.operation.name": "execute_tool" }));
    expect(points).toContainEqual(expect.objectContaining({ "gen_ai.tool.name": "explode", "error.type": "tool_error" }));
    expect(points).toContainEqual(expect.objectContaining({ "gen_ai.tool.name": "search_orders", "error.type": "-32602", "rpc.response.status_code": "-32602" }));
    expect(points).toContainEqual(expect.objectContaining({ "mcp.method.name": "prompts/get", "gen_ai.prompt.name": "summarise" }));
    expect(operation.dataPoints[0]!.value.buckets.boundaries).toEqual([...MCP_DURATION_BUCKETS]);
    // No per-request values (ids) ever become metric attributes.
    for (const attributes of points) expect(Object.keys(attributes)).not.toContain("mcp.request.id");
    await meterProvider.shutdown();
  });
});
