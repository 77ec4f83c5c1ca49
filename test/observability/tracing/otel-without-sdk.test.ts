import "reflect-metadata";
import { jest } from "@jest/globals";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { IsString } from "class-validator";
import { McpServer, OTelMiddleware, Server, Tool } from "lantern-mcp";
import { startOtlpSdk } from "../../../src/observability/tracing/otlp-sdk.js";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Topic {
  @IsString() topic!: string;
}

@Server({ name: "quiet", version: "1.0.0" })
class Quiet {
  @Tool({ description: "Echo" })
  echo(input: Topic) {
    return { topic: input.topic, span: trace.getActiveSpan() !== undefined };
  }
}

let client: TestClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  trace.disable();
  context.disable();
  propagation.disable();
  jest.restoreAllMocks();
});

describe("OTelMiddleware with no OpenTelemetry SDK", () => {
  it("serves calls untouched, and picks up an SDK registered after the server started", async () => {
    const server = new McpServer(Quiet);
    server.use(new OTelMiddleware({ serviceName: "quiet" }));
    client = await createTestClient(server);
    const before = await client.callTool("echo", { topic: "a" });
    expect(before.structuredContent).toEqual({ topic: "a", span: false });

    const exporter = new InMemorySpanExporter();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const after = await client.callTool("echo", { topic: "b" });
    expect(after.structuredContent).toEqual({ topic: "b", span: true });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["tools/call echo"]);
  });
});

describe("OTLP set-up when the SDK packages are not installed", () => {
  it("warns once, naming the packages to add, and resolves without an SDK", async () => {
    const written: string[] = [];
    jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const notInstalled = (name: string) => Promise.reject(Object.assign(new Error(`Cannot find package '${name}'`), { code: "ERR_MODULE_NOT_FOUND" }));
    const options = { serviceName: "quiet", endpoint: "http://127.0.0.1:4318", metrics: true };
    await expect(startOtlpSdk(options, notInstalled)).resolves.toBeUndefined();
    await expect(startOtlpSdk(options, notInstalled)).resolves.toBeUndefined();
    const warnings = written.filter((line) => line.includes("OpenTelemetry"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("npm install @opentelemetry/sdk-trace-node @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http");
    expect(warnings[0]).toContain("tracing stays off");
  });

  it("sets up tracing without metrics when only the metric packages are missing, and says so", async () => {
    const written: string[] = [];
    jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const withoutMetrics = (name: string) =>
      name.includes("metrics") ? Promise.reject(new Error(`Cannot find package '${name}'`)) : import(name);
    const sdk = await startOtlpSdk({ serviceName: "quiet", endpoint: "http://127.0.0.1:9", metrics: true }, withoutMetrics);
    expect(sdk).toBeDefined();
    expect(sdk!.meterProvider).toBeUndefined();
    expect(sdk!.registeredGlobally).toBe(true);
    expect(written.join("")).toContain("npm install @opentelemetry/sdk-metrics @opentelemetry/exporter-metrics-otlp-http");
    await sdk!.shutdown();
  });
});
