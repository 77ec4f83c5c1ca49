import { ProtocolError, type CallToolResult } from "@modelcontextprotocol/server";
import type { Attributes, Context, Counter, Histogram, Link, MeterProvider, Span, SpanKind, SpanStatusCode, Tracer, TracerProvider } from "@opentelemetry/api";
import type { CallContext } from "../../core/call-context.js";
import { openTelemetryApi } from "../../core/libraries.js";
import { middlewareDecorator } from "../../core/decorators/middleware.js";
import type { ConfigurableMiddleware, MiddlewareObject, Next, OptionMerge } from "../../core/middleware.js";
import { DefinitionError, LanternErrorCode, SERVER_SHUTDOWN } from "../../core/errors.js";
import { callOutcome, TOOL_ERROR } from "../../core/outcome.js";
import { checkOptions, defineOptions, option, type OptionRules } from "../../core/options.js";
import type { ServerSetup } from "../../core/server-setup.js";
import { jsonText, type JsonTextLimits } from "../json-text.js";
import { hasGlobalTracerProvider, INSTRUMENTATION_NAME, isNoopMeter, sdkTracerOf, startOtlpSdk } from "./otlp-sdk.js";
import { CALL_SPAN_CONTEXT, EXECUTE_TOOL, MCP_ATTRIBUTES as A, MCP_DURATION_BUCKETS, MCP_METRICS } from "./semantic-conventions.js";
import { parentContextOf, spanContextOf, traceparentOf } from "./trace-parent.js";

/**
 * Options of {@link OTelMiddleware} and `@Traced`.
 *
 * @example
 * new OTelMiddleware({ serviceName: "hr-api", endpoint: "http://otel-collector:4318", captureArguments: false });
 */
export interface OTelOptions {
  /** `service.name` of the SDK Lantern sets up for `endpoint`. Default: the server's name. */
  serviceName?: string;
  /**
   * OTLP/HTTP base URL (`http://collector:4318`). When given (or `OTEL_EXPORTER_OTLP_ENDPOINT` is
   * set and no SDK is registered yet), Lantern sets up the OpenTelemetry SDK with an OTLP exporter
   * when the server is built; the SDK packages are optional dependencies.
   */
  endpoint?: string;
  /** Spans go here instead of the global tracer provider. */
  tracerProvider?: TracerProvider;
  /** Metrics go here instead of the global meter provider. */
  meterProvider?: MeterProvider;
  /** Record the tool's arguments as `gen_ai.tool.call.arguments` (may hold sensitive data: off by default). */
  captureArguments?: boolean;
  /** Record a successful tool's result as `gen_ai.tool.call.result` (off by default). */
  captureResults?: boolean;
}

/** The options a decorator may change per class or method; the rest configure the shared sinks. */
type PerCallOptions = Pick<OTelOptions, "captureArguments" | "captureResults">;

/**
 * What `@Traced(...)` may set per class or method (where spans go belongs to the `OTelMiddleware`).
 *
 * @example
 * @Traced({ captureArguments: true }) @Tool({ description: "..." }) search(input: Search) { ... }
 */
export type TracedOptions = PerCallOptions;

const TRACED_RULES: OptionRules<TracedOptions> = { captureArguments: option.boolean(), captureResults: option.boolean() };
const TRACED_HINTS = { captureArgs: 'use "captureArguments"', captureResult: 'use "captureResults"' };
/** The rules of {@link OTelOptions}. */
const OTEL_OPTIONS = defineOptions<OTelOptions>("OTelMiddleware options", {
  ...TRACED_RULES,
  serviceName: option.string({ nonEmpty: true }),
  endpoint: option.string({ pattern: /^https?:\/\//, describe: "an http(s) URL such as http://collector:4318" }),
  tracerProvider: option.withMethods("an OpenTelemetry TracerProvider", "getTracer"),
  meterProvider: option.withMethods("an OpenTelemetry MeterProvider", "getMeter"),
}, { ...TRACED_HINTS, service: 'use "serviceName"', url: 'use "endpoint"', otlpEndpoint: 'use "endpoint"', exporter: 'Lantern sets up the OTLP exporter from "endpoint"; for another exporter register your own SDK and pass "tracerProvider"' });
const ON_THE_INSTANCE = (key: string) => `${key} decides where spans go, which belongs to the OTelMiddleware instance: server.use(new OTelMiddleware({ ${key}: ... }))`;
/** The rules of `@Traced(...)`. */
const TRACED_OPTIONS = defineOptions<TracedOptions>("@Traced options", TRACED_RULES, {
  ...TRACED_HINTS,
  ...Object.fromEntries(["serviceName", "endpoint", "tracerProvider", "meterProvider"].map((key) => [key, ON_THE_INSTANCE(key)])),
});

// The API's enum values, fixed by the OpenTelemetry specification: naming them here keeps the API
// unloaded until an OTelMiddleware is made.
const SPAN_KIND_SERVER = 1 as SpanKind.SERVER;
const SPAN_STATUS_ERROR = 2 as SpanStatusCode.ERROR;
/** Captured arguments and results are cut at 8192 characters: a span attribute is not a blob store. */
const CAPTURED_JSON: JsonTextLimits = { maxChars: 8192, noJson: () => "null", unserialisable: '"[unserialisable]"' };
const INTERNAL_ERROR_CODE = String(LanternErrorCode.InternalError);

interface Instruments {
  toolDuration: Histogram;
  toolErrors: Counter;
  operationDuration: Histogram;
}

/**
 * Where spans and metrics go, shared by a middleware and every decorator variant of it. Whether a
 * real SDK is behind the global providers is checked cheaply per call and remembered per provider,
 * so with none registered a call costs a couple of property reads, and an SDK registered after the
 * server started is still picked up.
 */
class TelemetrySinks {
  tracerProvider: TracerProvider | undefined;
  meterProvider: MeterProvider | undefined;
  private tracerOf: { provider: TracerProvider | undefined; tracer: Tracer | undefined } = { provider: undefined, tracer: undefined };
  private instrumentsOf: { provider: MeterProvider | undefined; instruments: Instruments | undefined } = { provider: undefined, instruments: undefined };
  private started = false;
  /** Marks, in `CallContext.bag`, calls these sinks already handle, so a second middleware does not trace them twice. */
  readonly callKey = Symbol("lantern:otel.handled");
  /** `service.instance.id` of every span: the replica id of the server, set once when it is built. */
  instanceId: string | undefined;

  private readonly api = openTelemetryApi();

  constructor(readonly options: OTelOptions) {
    this.tracerProvider = options.tracerProvider;
    this.meterProvider = options.meterProvider;
  }

  tracer(): Tracer | undefined {
    const provider = this.tracerProvider ?? this.api.trace.getTracerProvider();
    const cached = this.tracerOf;
    if (provider === cached.provider && cached.tracer) return cached.tracer;
    // Without an SDK behind the global proxy there is nothing to record, and asking the proxy
    // again (allocating nothing) is all the next call costs.
    const tracer = provider === this.tracerProvider ? provider.getTracer(INSTRUMENTATION_NAME) : sdkTracerOf(provider);
    if (tracer || provider !== cached.provider) this.tracerOf = { provider, tracer };
    return tracer;
  }

  instruments(): Instruments | undefined {
    const provider = this.meterProvider ?? this.api.metrics.getMeterProvider();
    if (provider === this.instrumentsOf.provider) return this.instrumentsOf.instruments;
    const meter = provider.getMeter(INSTRUMENTATION_NAME);
    const instruments: Instruments | undefined =
      isNoopMeter(meter)
        ? undefined
        : {
            toolDuration: meter.createHistogram(MCP_METRICS.TOOL_DURATION, {
              unit: "s",
              description: "Duration of MCP tool calls",
              advice: { explicitBucketBoundaries: [...MCP_DURATION_BUCKETS] },
            }),
            toolErrors: meter.createCounter(MCP_METRICS.TOOL_ERRORS, { description: "MCP tool calls that did not end ok" }),
            operationDuration: meter.createHistogram(MCP_METRICS.SERVER_OPERATION_DURATION, {
              unit: "s",
              description: "MCP request duration as observed on the receiver from the time it was received until the result is sent",
              advice: { explicitBucketBoundaries: [...MCP_DURATION_BUCKETS] },
            }),
          };
    this.instrumentsOf = { provider, instruments };
    return instruments;
  }

  /** Sets up the OTLP SDK once, when an endpoint is configured and nothing else provides tracing. */
  async start(server: ServerSetup): Promise<void> {
    if (this.started) {
      if (server.replicaId !== this.instanceId) {
        throw new DefinitionError(`One OTelMiddleware cannot trace for two servers with different replica ids ("${this.instanceId}" and "${server.replicaId}"): every span says which replica served it (service.instance.id); give each server its own instance`);
      }
      return;
    }
    this.started = true;
    this.instanceId = server.replicaId;
    const env = process.env;
    if (this.tracerProvider || env.OTEL_SDK_DISABLED === "true") return;
    const endpoint = this.options.endpoint;
    // From the environment alone, defer to an SDK the application registered itself: it read the
    // same variables, and two exporters would send every span twice.
    if (!endpoint && (!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || hasGlobalTracerProvider())) return;
    const sdk = await startOtlpSdk({ serviceName: this.options.serviceName ?? server.info.name, serviceInstanceId: server.replicaId, endpoint, metrics: !this.meterProvider });
    if (!sdk) return;
    this.tracerProvider = sdk.tracerProvider;
    this.meterProvider ??= sdk.meterProvider;
    server.onShutdown(() => sdk.shutdown());
  }
}

/**
 * Traces every call as an OpenTelemetry SERVER span (`tools/call search_employees`) with the seed's
 * attributes and the MCP semantic conventions', parented on the trace context the client sent in
 * `params._meta`, and active while the tool runs so the tool's own spans nest under it. Records
 * `mcp.tool.duration`, `mcp.tool.errors` and `mcp.server.operation.duration`. Uses only
 * `@opentelemetry/api`: with no SDK registered it costs next to nothing.
 *
 * @example
 * server.use(new OTelMiddleware({ serviceName: "hr-api", endpoint: "http://127.0.0.1:4318" }));
 */
export class OTelMiddleware implements ConfigurableMiddleware<OTelOptions> {
  /** What `@Traced` may set per class or method; the endpoint, service name and providers belong to the instance. */
  static readonly decoratorOptions: Readonly<Partial<Record<keyof OTelOptions, OptionMerge>>> = {
    captureArguments: "override",
    captureResults: "override",
  };
  private sinks: TelemetrySinks;
  private readonly perCall: PerCallOptions;

  constructor(options: OTelOptions = {}) {
    options = checkOptions(OTEL_OPTIONS, options);
    this.sinks = new TelemetrySinks(options);
    this.perCall = { captureArguments: options.captureArguments, captureResults: options.captureResults };
  }

  /** Sets up the OTLP SDK when an endpoint is configured (once, when the server is built). */
  async setup(server: ServerSetup): Promise<void> {
    await this.sinks.start(server);
  }

  /** This middleware with other capture options for a class or method; spans and metrics go to the same place. */
  withOptions(options: Partial<OTelOptions>): MiddlewareObject {
    const variant = new OTelMiddleware({
      captureArguments: options.captureArguments ?? this.perCall.captureArguments,
      captureResults: options.captureResults ?? this.perCall.captureResults,
    });
    variant.sinks = this.sinks;
    return variant;
  }

  handle(ctx: CallContext, next: Next): Promise<unknown> {
    const sinks = this.sinks;
    const tracer = sinks.tracer();
    const instruments = sinks.instruments();
    if ((!tracer && !instruments) || ctx.bag.has(sinks.callKey)) return next();
    ctx.bag.set(sinks.callKey, true);
    return this.observed(ctx, next, tracer, instruments);
  }

  /** Runs the call in a span (with a tracer) and records its metrics (with instruments). */
  private async observed(ctx: CallContext, next: Next, tracer: Tracer | undefined, instruments: Instruments | undefined): Promise<unknown> {
    const attributes = commonAttributesOf(ctx);
    let span: Span | undefined;
    /** The context the call runs in: the client's (or the ambient) one, with the call's span active. */
    let traced: Context | undefined;
    const { context, trace } = openTelemetryApi();
    if (tracer) {
      const active = context.active();
      const parent = parentContextOf(ctx, active);
      span = tracer.startSpan(spanNameOf(ctx), { kind: SPAN_KIND_SERVER, attributes: this.spanAttributes(ctx, attributes), links: linksOf(ctx, active, parent) }, parent);
      const spanContext = span.spanContext();
      ctx.bag.set(CALL_SPAN_CONTEXT, spanContext);
      // A multi-round-trip call carries this to its later rounds: they join this trace.
      if (!ctx.continuation) ctx.traceContext = { traceparent: traceparentOf(spanContext) };
      traced = trace.setSpan(parent, span);
    }
    let result: unknown;
    let thrown: unknown;
    let didThrow = false;
    try {
      result = await (traced ? context.with(traced, next) : next());
      return result;
    } catch (error) {
      thrown = error;
      didThrow = true;
      throw error;
    } finally {
      const end = endOf(ctx, thrown, didThrow);
      if (span) finishSpan(span, ctx, end, result, this.perCall.captureResults === true);
      if (instruments) record(instruments, ctx, attributes, end);
    }
  }

  /** The span's start attributes: the common ones (copied: the metrics add theirs) and the per-call ones. */
  private spanAttributes(ctx: CallContext, common: Attributes): Attributes {
    const attributes: Attributes = {
      ...common,
      [A.REQUEST_ID]: ctx.requestId,
      [A.JSONRPC_REQUEST_ID]: ctx.requestId,
      [A.CLIENT_ID]: ctx.clientId,
      [A.SERVICE_INSTANCE_ID]: this.sinks.instanceId,
    };
    if (ctx.kind === "tool") {
      attributes[A.TOOL_NAME] = ctx.name;
      if (this.perCall.captureArguments) attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS] = captured(ctx.args);
    } else if (ctx.kind === "resource") {
      attributes[A.RESOURCE_URI] = ctx.name;
    }
    const sessionId = ctx.sessionId;
    if (sessionId) attributes[A.SESSION_ID] = sessionId;
    const client = ctx.clientInfo;
    if (client) {
      attributes[A.LANTERN_CLIENT_NAME] = client.name;
      attributes[A.LANTERN_CLIENT_VERSION] = client.version;
    }
    if (ctx.continuation) {
      attributes[A.LANTERN_CORRELATION_ID] = ctx.correlationId;
      attributes[A.LANTERN_CALL_ROUND] = ctx.round;
    }
    return attributes;
  }
}

/**
 * The decorator form of {@link OTelMiddleware}: traces every tool of a class, or one method. A
 * call also covered by a server-wide `OTelMiddleware` gets one span, from that instance.
 *
 * @example
 * @Server({ name: "hr-api", version: "1.0.0" })
 * @Traced()
 * class HrApi { ... }
 */
export const Traced = middlewareDecorator<OTelOptions, TracedOptions>(OTelMiddleware, TRACED_OPTIONS, "Traced");

/** How a call ended, in the terms spans and metrics record. */
interface CallEnd {
  ok: boolean;
  status: string;
  errorType: string | undefined;
  /** The JSON-RPC error code sent to the client, when the call ended in a JSON-RPC error. */
  rpcCode: string | undefined;
  error: unknown;
  seconds: number;
}

function endOf(ctx: CallContext, thrown: unknown, didThrow: boolean): CallEnd {
  const outcome = callOutcome(ctx, thrown, didThrow);
  const seconds = ctx.elapsedMs() / 1000;
  if (outcome.status === "ok") return { ok: true, status: "ok", errorType: undefined, rpcCode: undefined, error: undefined, seconds };
  // What the client receives decides error.type: a thrown error becomes a JSON-RPC error with its
  // code (the SDK answers -32603 for one without), a tool's failure an isError result.
  const rpcCode = didThrow ? jsonRpcCodeOf(thrown) : undefined;
  // A shutdown is named as such, not by the cancellation code it shares with a client's cancel.
  const errorType = outcome.errorType === SERVER_SHUTDOWN ? SERVER_SHUTDOWN : (rpcCode ?? outcome.errorType ?? TOOL_ERROR);
  return { ok: false, status: outcome.status, errorType, rpcCode, error: outcome.error ?? thrown, seconds };
}

function jsonRpcCodeOf(error: unknown): string {
  if (error instanceof ProtocolError) return String(error.code);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" && Number.isSafeInteger(code) ? String(code) : INTERNAL_ERROR_CODE;
}

function finishSpan(span: Span, ctx: CallContext, end: CallEnd, result: unknown, captureResult: boolean): void {
  if (ctx.kind === "tool") span.setAttribute(A.TOOL_STATUS, end.ok ? "ok" : "error");
  span.setAttribute(A.LANTERN_CALL_STATUS, end.status);
  const inputRequired = ctx.outcome?.inputRequired;
  if (inputRequired) {
    // The round asked the client for input: the logical call goes on in a later request.
    span.setAttribute(A.LANTERN_INPUT_REQUIRED, [...inputRequired]);
    if (!ctx.continuation) {
      span.setAttribute(A.LANTERN_CORRELATION_ID, ctx.correlationId);
      span.setAttribute(A.LANTERN_CALL_ROUND, ctx.round);
    }
  }
  if (end.ok) {
    if (captureResult && ctx.kind === "tool" && result) {
      const r = result as CallToolResult;
      span.setAttribute(A.GEN_AI_TOOL_CALL_RESULT, captured(r.structuredContent ?? r.content));
    }
  } else {
    span.setAttribute(A.ERROR_TYPE, end.errorType!);
    if (end.rpcCode) span.setAttribute(A.RPC_RESPONSE_STATUS_CODE, end.rpcCode);
    const error = end.error;
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SPAN_STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/**
 * The attributes a call's span and its `mcp.server.operation.duration` share: method, gen_ai
 * names, protocol version and transport. Built once per call; the metrics add the error ones.
 */
function commonAttributesOf(ctx: CallContext): Attributes {
  const attributes: Attributes = { [A.METHOD_NAME]: ctx.method };
  if (ctx.kind === "tool") {
    attributes[A.GEN_AI_TOOL_NAME] = ctx.name;
    attributes[A.GEN_AI_OPERATION_NAME] = EXECUTE_TOOL;
  } else if (ctx.kind === "prompt") {
    attributes[A.GEN_AI_PROMPT_NAME] = ctx.name;
  }
  addSessionAttributes(attributes, ctx);
  return attributes;
}

/** Records the call's metrics; `attributes` are the call's common ones, this call's own to extend. */
function record(instruments: Instruments, ctx: CallContext, attributes: Attributes, end: CallEnd): void {
  if (!end.ok) {
    attributes[A.ERROR_TYPE] = end.errorType!;
    if (end.rpcCode) attributes[A.RPC_RESPONSE_STATUS_CODE] = end.rpcCode;
  }
  instruments.operationDuration.record(end.seconds, attributes);
  if (ctx.kind !== "tool") return;
  // Only registered tool names reach a chain (unknown ones are refused before), so `tool` is bounded.
  const toolAttributes = { tool: ctx.name };
  instruments.toolDuration.record(end.seconds, toolAttributes);
  if (!end.ok) instruments.toolErrors.add(1, toolAttributes);
}

/** The convention's span name: `{mcp.method.name} {target}`; resource URIs are left out (unbounded). */
function spanNameOf(ctx: CallContext): string {
  return ctx.kind === "resource" ? ctx.method : `${ctx.method} ${ctx.name}`;
}

function addSessionAttributes(attributes: Attributes, ctx: CallContext): void {
  const version = ctx.session.protocolVersion;
  if (version) attributes[A.PROTOCOL_VERSION] = version;
  switch (ctx.transport) {
    case "stdio":
      attributes[A.NETWORK_TRANSPORT] = "pipe";
      break;
    case "http":
      attributes[A.NETWORK_TRANSPORT] = "tcp";
      attributes[A.NETWORK_PROTOCOL_NAME] = "http";
      break;
    default:
      // The in-memory transport of tests is no network at all.
      break;
  }
}

/**
 * The convention parents the server span on the client's context and links the ambient one (an
 * HTTP server span, say) when both exist and differ. A later round of a multi-round-trip call is
 * also linked to the first round's span.
 */
function linksOf(ctx: CallContext, active: Context, parent: Context): Link[] | undefined {
  let links: Link[] | undefined;
  const { trace } = openTelemetryApi();
  const remote = trace.getSpanContext(parent);
  if (active !== parent) {
    const ambient = trace.getSpanContext(active);
    if (ambient && remote && ambient.spanId !== remote.spanId) links = [{ context: ambient }];
  }
  const first = spanContextOf(ctx.continuation?.traceparent, ctx.continuation?.tracestate);
  if (first) (links ??= []).push({ context: first, attributes: { [A.LANTERN_LINK_KIND]: "first_round" } });
  return links;
}

const captured = (value: unknown): string => jsonText(value, CAPTURED_JSON);
