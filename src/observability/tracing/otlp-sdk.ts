import type { Meter, MeterProvider, Tracer, TracerProvider } from "@opentelemetry/api";
import { describeError } from "../../core/errors.js";
import { openTelemetryApi } from "../../core/libraries.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";

/** The instrumentation scope name of Lantern's tracer and meter. */
export const INSTRUMENTATION_NAME = "lantern-mcp";

/** The class of the API's no-op meter: a meter of this class means no metrics SDK is registered. */
let noopMeterConstructor: unknown;

/** True when `meter` is the API's no-op meter: no metrics SDK is behind its provider. */
export const isNoopMeter = (meter: Meter): boolean => meter.constructor === (noopMeterConstructor ??= openTelemetryApi().createNoopMeter().constructor);

/**
 * Lantern's tracer from the SDK behind `provider`. The global provider is a proxy until an SDK
 * registers a delegate: until then there is nothing to record, and this is undefined.
 */
export function sdkTracerOf(provider: TracerProvider): Tracer | undefined {
  const proxy = provider as TracerProvider & { getDelegateTracer?: (name: string) => Tracer | undefined };
  return typeof proxy.getDelegateTracer === "function" ? proxy.getDelegateTracer(INSTRUMENTATION_NAME) : provider.getTracer(INSTRUMENTATION_NAME);
}

/** The optional packages the OTLP set-up needs for traces; named in the warning when missing. */
const OTLP_TRACE_PACKAGES = [
  "@opentelemetry/sdk-trace-node",
  "@opentelemetry/resources",
  "@opentelemetry/exporter-trace-otlp-http",
] as const;

/** The optional packages the OTLP set-up needs for metrics (traces work without them). */
const OTLP_METRIC_PACKAGES = ["@opentelemetry/sdk-metrics", "@opentelemetry/exporter-metrics-otlp-http"] as const;

/**
 * An OpenTelemetry SDK Lantern set up: its providers and how to flush and stop them.
 *
 * @example
 * const sdk = await startOtlpSdk({ serviceName: "hr-api", endpoint: undefined, metrics: true });
 * process.on("beforeExit", () => void sdk?.shutdown());
 */
export interface OtlpSdk {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider | undefined;
  /** True when the providers were registered as the process-wide ones (user spans go to them too). */
  registeredGlobally: boolean;
  /** Exports what is buffered and stops the exporters. */
  shutdown(): Promise<void>;
}

/**
 * What {@link startOtlpSdk} needs.
 *
 * @example
 * const options: OtlpSdkOptions = { serviceName: "hr-api", endpoint: "http://127.0.0.1:4318", metrics: false };
 */
export interface OtlpSdkOptions {
  serviceName: string;
  /** `service.instance.id` of the resource: the server's replica id. */
  serviceInstanceId?: string;
  /**
   * The OTLP/HTTP base URL (`http://collector:4318`); `/v1/traces` and `/v1/metrics` are appended.
   * Undefined: the exporters read the standard `OTEL_EXPORTER_OTLP_*` variables themselves.
   */
  endpoint: string | undefined;
  /** Also set up a meter provider with an OTLP metric exporter. */
  metrics: boolean;
}

/** The rules of {@link OtlpSdkOptions}; `endpoint` undefined means the `OTEL_EXPORTER_OTLP_*` variables. */
const OTLP_SDK_OPTIONS = defineOptions<OtlpSdkOptions>("startOtlpSdk options", {
  serviceName: option.required(option.string({ nonEmpty: true }), "it is the service.name of every span"),
  serviceInstanceId: option.string({ nonEmpty: true }),
  endpoint: option.string({ pattern: /^https?:\/\//, describe: "an http(s) URL such as http://collector:4318" }),
  metrics: option.boolean(),
});

/** Loads a module by name; replaced in tests to simulate packages that are not installed. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

const importModule: ModuleLoader = (specifier) => import(specifier);

const warned = new Set<string>();

/** Says a thing once per process: on stderr, because stdout may be the stdio transport's channel. */
function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  writeStderrNotice(message);
}

async function loadAll(names: readonly string[], load: ModuleLoader): Promise<Record<string, unknown>[] | string[]> {
  const settled = await Promise.allSettled(names.map((name) => load(name)));
  const missing = names.filter((_, i) => settled[i]!.status === "rejected");
  if (missing.length) return missing as string[];
  return settled.map((s) => (s as PromiseFulfilledResult<Record<string, unknown>>).value);
}

const isMissing = (loaded: Record<string, unknown>[] | string[]): loaded is string[] => typeof loaded[0] === "string";

const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, "")}/${path}`;

/** True when some OpenTelemetry SDK already registered a global tracer provider. */
export function hasGlobalTracerProvider(): boolean {
  return sdkTracerOf(openTelemetryApi().trace.getTracerProvider()) !== undefined;
}

/**
 * Sets up an OpenTelemetry SDK exporting over OTLP/HTTP, with `service.name` (and
 * `service.instance.id`, the replica) as resource attributes (the standard `OTEL_SERVICE_NAME` /
 * `OTEL_RESOURCE_ATTRIBUTES` override them, so an
 * operator can rename a service without a rebuild). The packages are imported only here, when
 * asked for, so a server that does not export telemetry never loads them; when they are not
 * installed this warns once, naming what to add, and resolves to undefined.
 *
 * @example
 * const sdk = await startOtlpSdk({ serviceName: "hr-api", endpoint: "http://127.0.0.1:4318", metrics: true });
 * await sdk?.shutdown();
 */
export async function startOtlpSdk(options: OtlpSdkOptions, load: ModuleLoader = importModule): Promise<OtlpSdk | undefined> {
  options = { ...{ endpoint: undefined, metrics: false }, ...checkOptions(OTLP_SDK_OPTIONS, options) };
  const traceModules = await loadAll(OTLP_TRACE_PACKAGES, load);
  if (isMissing(traceModules)) {
    warnOnce(
      "otlp-traces",
      `OpenTelemetry export is configured (endpoint ${options.endpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT}) but ${traceModules.join(", ")} ` +
        `${traceModules.length > 1 ? "are" : "is"} not installed; tracing stays off. To export, run: npm install ${OTLP_TRACE_PACKAGES.join(" ")}`,
    );
    return undefined;
  }
  const [nodeSdk, resources, traceExporter] = traceModules as [
    typeof import("@opentelemetry/sdk-trace-node"),
    typeof import("@opentelemetry/resources"),
    typeof import("@opentelemetry/exporter-trace-otlp-http"),
  ];
  try {
    const resource = resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ "service.name": options.serviceName, ...(options.serviceInstanceId ? { "service.instance.id": options.serviceInstanceId } : {}) }))
      .merge(resources.detectResources({ detectors: [resources.envDetector] }));
    const exporter = new traceExporter.OTLPTraceExporter(options.endpoint ? { url: joinUrl(options.endpoint, "v1/traces") } : {});
    const tracerProvider = new nodeSdk.NodeTracerProvider({ resource, spanProcessors: [new nodeSdk.BatchSpanProcessor(exporter)] });
    const registeredGlobally = !hasGlobalTracerProvider();
    // register() also installs the AsyncLocalStorage context manager and the W3C propagators,
    // without which a tool's own spans would not nest under the call's span.
    if (registeredGlobally) tracerProvider.register();
    const meterProvider = options.metrics ? await startMeterProvider(options, resource, load) : undefined;
    return {
      tracerProvider,
      meterProvider,
      registeredGlobally,
      shutdown: async () => {
        await Promise.allSettled([tracerProvider.shutdown(), meterProvider?.shutdown()]);
      },
    };
  } catch (error) {
    warnOnce("otlp-setup", `Could not set up OpenTelemetry export: ${describeError(error)}; tracing stays off`);
    return undefined;
  }
}

async function startMeterProvider(
  options: OtlpSdkOptions,
  resource: import("@opentelemetry/resources").Resource,
  load: ModuleLoader,
): Promise<(MeterProvider & { shutdown(): Promise<void> }) | undefined> {
  const modules = await loadAll(OTLP_METRIC_PACKAGES, load);
  if (isMissing(modules)) {
    warnOnce(
      "otlp-metrics",
      `OpenTelemetry metrics export needs ${modules.join(", ")}; traces are exported, metrics are not. To export metrics, run: npm install ${OTLP_METRIC_PACKAGES.join(" ")}`,
    );
    return undefined;
  }
  const [sdkMetrics, metricExporter] = modules as [
    typeof import("@opentelemetry/sdk-metrics"),
    typeof import("@opentelemetry/exporter-metrics-otlp-http"),
  ];
  const interval = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL);
  const reader = new sdkMetrics.PeriodicExportingMetricReader({
    exporter: new metricExporter.OTLPMetricExporter(options.endpoint ? { url: joinUrl(options.endpoint, "v1/metrics") } : {}),
    exportIntervalMillis: Number.isFinite(interval) && interval > 0 ? interval : 60_000,
  });
  const meterProvider = new sdkMetrics.MeterProvider({ resource, readers: [reader] });
  const { metrics } = openTelemetryApi();
  if (isNoopMeter(metrics.getMeterProvider().getMeter(INSTRUMENTATION_NAME))) metrics.setGlobalMeterProvider(meterProvider);
  return meterProvider;
}
