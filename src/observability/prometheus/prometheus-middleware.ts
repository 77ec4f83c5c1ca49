import type { IncomingMessage, ServerResponse } from "node:http";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { promClientLibrary } from "../../core/libraries.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import type { CallContext } from "../../core/call-context.js";
import { describeError } from "../../core/errors.js";
import type { MiddlewareObject, Next } from "../../core/middleware.js";
import { SecretDigest, bearerTokenOf } from "../../auth/secret-digest.js";
import { callOutcome } from "../../core/outcome.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";
import type { RefusalEvent, ServerSetup } from "../../core/server-setup.js";
import { contentTypeOf, negotiateFormat, renderExposition, type ExpositionFormat } from "./exposition.js";

/**
 * Options of {@link PrometheusMiddleware}.
 *
 * @example
 * const options: PrometheusOptions = { namespace: "hr", registry: new Registry(), bearerToken: process.env.METRICS_TOKEN };
 */
export interface PrometheusOptions {
  /** Prefix of every metric name: `<namespace>_tool_calls_total`. Default `"mcp"`. */
  namespace?: string;
  /** Where the metrics live. Default: prom-client's global registry. */
  registry?: Registry;
  /** Upper bounds of the duration histogram's buckets, in seconds. */
  buckets?: number[];
  /** Also collect prom-client's process metrics (CPU, memory, event-loop lag), prefixed with the namespace. Default false. */
  defaultMetrics?: boolean;
  /** Path of the HTTP route. Default `/metrics`; `false` adds no route. */
  path?: string | false;
  /** When set, `/metrics` answers 401 unless the request carries `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** URI of the resource serving the same text; `false` adds none. Default `metrics://prometheus`. */
  resourceUri?: string | false;
}

/**
 * Duration buckets (seconds) suited to tool calls: 1 ms to 30 s.
 *
 * @example
 * new PrometheusMiddleware({ buckets: [...DEFAULT_DURATION_BUCKETS, 60] });
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const NAMESPACE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const USE_BEARER_TOKEN = 'use "bearerToken" (the token /metrics requires)';
/** The rules of {@link PrometheusOptions}; `bearerToken` is a security opt-in (undefined there is refused). */
const PROMETHEUS_OPTIONS = defineOptions<PrometheusOptions>("PrometheusMiddleware options", {
  namespace: option.string(),
  registry: option.withMethods("a prom-client Registry", "getSingleMetric", "metrics"),
  buckets: option.numberList({ positive: true, ascending: true }),
  defaultMetrics: option.boolean(),
  path: option.anyOf(option.string({ pattern: /^\//, describe: "a path starting with /" }), option.literal(false)),
  bearerToken: option.secured(option.string(), "serve /metrics without authentication"),
  resourceUri: option.anyOf(option.string({ pattern: /^[a-zA-Z][a-zA-Z0-9+.-]*:/, describe: "a URI such as metrics://prometheus" }), option.literal(false)),
}, {
  token: USE_BEARER_TOKEN, authToken: USE_BEARER_TOKEN, metricsToken: USE_BEARER_TOKEN, bearer: USE_BEARER_TOKEN, auth: USE_BEARER_TOKEN,
  prefix: 'use "namespace"', register: 'use "registry"', collectDefaultMetrics: 'use "defaultMetrics"',
});

interface ToolSeries {
  ok: { inc(value?: number): void };
  error: { inc(value?: number): void };
  rateLimited: { inc(value?: number): void };
  duration: { observe(seconds: number): void };
  /** Calls by protocol version, made when a version is first seen. */
  byProtocol: Map<string, { inc(value?: number): void }>;
  /** Calls of this tool running now; the gauge reads it when scraped (no prom-client work per call). */
  running: number;
}

interface Metrics {
  calls: Counter<"tool" | "status">;
  duration: Histogram<"tool">;
  inFlight: Gauge<"tool">;
  byProtocol: Counter<"tool" | "protocol_version">;
  refused: Counter<"reason">;
  replicaInfo: Gauge<"replica">;
}

/** Why a request never became a call: the values of `<ns>_refused_requests_total`'s `reason` label. */
const REFUSAL_REASONS = Object.keys(
  // Every reason a refusal can carry: the compiler says when one is missing here.
  { unauthorized: 0, unknown_tool: 0, unknown_prompt: 0, unknown_resource: 0 } satisfies Record<RefusalEvent["reason"], 0>,
) as readonly RefusalEvent["reason"][];

/** Protocol versions a label may name (the SDK refuses others before a call runs); anything else is `other`. */
const KNOWN_PROTOCOL_VERSIONS: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);

/**
 * Prometheus metrics of every tool call with prom-client: `<ns>_tool_calls_total{tool,status}`
 * (status `ok`, `error` or `rate_limited`), `<ns>_tool_duration_seconds{tool}`, `<ns>_tool_in_flight{tool}` and
 * `<ns>_tool_calls_by_protocol_total{tool,protocol_version}` (the MCP revision of each call), and
 * `<ns>_refused_requests_total{reason}` (requests that never became a call: failed authentication,
 * unknown tool, prompt or resource names), and `<ns>_replica_info{replica}` (1: which replica this
 * process is; the replica is not a label of the other series, a fleet's scrape config adds it).
 * Only registered tool names become label values. In `setup` it adds `GET /metrics` to the HTTP
 * transport (OpenMetrics when the scraper asks for it, optionally behind a bearer token) and the
 * `metrics://prometheus` resource.
 *
 * Two middlewares on one registry with the same namespace share the metrics (two servers, one
 * `/metrics`); a clash with a different metric of the same name fails at construction.
 *
 * @example
 * server.use(new PrometheusMiddleware({ namespace: "hr", registry: new Registry() }));
 * await server.listen({ transport: "http", port: 3000 }); // GET http://127.0.0.1:3000/metrics
 */
export class PrometheusMiddleware implements MiddlewareObject {
  readonly registry: Registry;
  readonly namespace: string;
  private readonly metrics: Metrics;
  private readonly series = new Map<string, ToolSeries>();
  private readonly options: PrometheusOptions;
  private readonly tokenDigest: SecretDigest | undefined;
  /** Marks a call as counted in these metrics (`ctx.bag`), so a middleware twice in a chain counts it once. */
  private readonly seen: symbol;

  constructor(options: PrometheusOptions = {}) {
    options = checkOptions(PROMETHEUS_OPTIONS, options);
    const namespace = options.namespace ?? "mcp";
    if (!NAMESPACE.test(namespace)) {
      throw new TypeError(`PrometheusMiddleware: namespace "${namespace}" is not a valid Prometheus metric prefix; use letters, digits and underscores, not starting with a digit`);
    }
    if (options.bearerToken !== undefined && options.bearerToken.length === 0) {
      throw new TypeError("PrometheusMiddleware: bearerToken is empty; give a secret, or leave it out to serve /metrics without authentication");
    }
    this.options = options;
    this.namespace = namespace;
    const { collectDefaultMetrics, Counter, Gauge, Histogram, register: globalRegistry } = promClientLibrary();
    this.registry = options.registry ?? globalRegistry;
    const buckets = [...(options.buckets ?? DEFAULT_DURATION_BUCKETS)];
    const registers = [this.registry];
    this.metrics = {
      calls: reuseOrCreate(this.registry, `${namespace}_tool_calls_total`, ["tool", "status"], undefined,
        (name) => new Counter({ name, help: "Total MCP tool calls", labelNames: ["tool", "status"], registers })),
      duration: reuseOrCreate(this.registry, `${namespace}_tool_duration_seconds`, ["tool"], buckets,
        (name) => new Histogram({ name, help: "MCP tool call duration in seconds", labelNames: ["tool"], buckets, registers })),
      inFlight: reuseOrCreate(this.registry, `${namespace}_tool_in_flight`, ["tool"], undefined,
        (name) => new Gauge({ name, help: "MCP tool calls in flight", labelNames: ["tool"], registers, collect: collectInFlight })),
      refused: reuseOrCreate(this.registry, `${namespace}_refused_requests_total`, ["reason"], undefined,
        (name) => new Counter({ name, help: "MCP requests refused before they became a call (failed authentication, unknown names)", labelNames: ["reason"], registers })),
      byProtocol: reuseOrCreate(this.registry, `${namespace}_tool_calls_by_protocol_total`, ["tool", "protocol_version"], undefined,
        (name) => new Counter({ name, help: "MCP tool calls by the MCP protocol version they were made with", labelNames: ["tool", "protocol_version"], registers })),
      replicaInfo: reuseOrCreate(this.registry, `${namespace}_replica_info`, ["replica"], undefined,
        (name) => new Gauge({ name, help: "The replica id of this server process (always 1); the other series carry no replica label: a fleet's scrape config adds it as a target label", labelNames: ["replica"], registers })),
    };
    let shared = sharedState.get(this.metrics.inFlight);
    if (!shared) sharedState.set(this.metrics.inFlight, (shared = { counted: Symbol("lantern:prometheus:counted"), sources: new Set() }));
    this.seen = shared.counted;
    shared.sources.add(this.series);
    if (options.defaultMetrics && !this.registry.getSingleMetric(`${namespace}_process_cpu_user_seconds_total`)) {
      collectDefaultMetrics({ register: this.registry, prefix: `${namespace}_` });
    }
    if (options.bearerToken !== undefined) this.tokenDigest = SecretDigest.of(options.bearerToken);
  }

  async handle(ctx: CallContext, next: Next): Promise<unknown> {
    if (ctx.kind !== "tool" || ctx.bag.has(this.seen)) return next();
    ctx.bag.set(this.seen, true);
    // The core runs a tool's chain only for registered tools (tools added after start included).
    const series = this.addSeries(ctx.name);
    series.running++;
    let result: unknown;
    try {
      result = await next();
    } catch (error) {
      this.finish(ctx, series, error, true);
      throw error;
    }
    this.finish(ctx, series, undefined, false);
    return result;
  }

  setup(server: ServerSetup): void {
    this.metrics.replicaInfo.set({ replica: server.replicaId }, 1);
    for (const tool of server.tools()) this.addSeries(tool.name);
    // One child per reason, made once: a flood of refusals costs no label lookups.
    const refused = Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, this.metrics.refused.labels(reason)])) as Record<RefusalEvent["reason"], { inc(value?: number): void }>;
    for (const reason of REFUSAL_REASONS) refused[reason].inc(0);
    server.onRefusal((event) => refused[event.reason].inc());
    const path = this.options.path ?? "/metrics";
    if (path !== false) server.route("GET", path, (req, res) => this.serve(req, res));
    const uri = this.options.resourceUri ?? "metrics://prometheus";
    if (uri !== false) {
      server.addResource(uri, () => this.getMetricsText(), {
        name: "prometheus-metrics",
        title: "Prometheus metrics",
        description: "This server's metrics in the Prometheus text exposition format",
        mimeType: "text/plain; version=0.0.4",
      });
    }
  }

  /**
   * The registry's metrics as Prometheus text (or OpenMetrics), as `/metrics` serves them.
   *
   * @example
   * const text = await prometheus.getMetricsText();
   */
  getMetricsText(format: ExpositionFormat = "prometheus"): Promise<string> {
    return renderExposition(this.registry, format);
  }

  private finish(ctx: CallContext, series: ToolSeries, error: unknown, threw: boolean): void {
    series.running--;
    series.duration.observe(ctx.elapsedMs() / 1000);
    const status = callOutcome(ctx, error, threw).status;
    (status === "ok" ? series.ok : status === "rate_limited" ? series.rateLimited : series.error).inc();
    const reported = ctx.protocolVersion;
    const version = reported !== undefined && KNOWN_PROTOCOL_VERSIONS.has(reported) ? reported : "other";
    let counter = series.byProtocol.get(version);
    if (!counter) series.byProtocol.set(version, (counter = this.metrics.byProtocol.labels(ctx.name, version)));
    counter.inc();
  }

  private addSeries(tool: string): ToolSeries {
    let series = this.series.get(tool);
    if (!series) {
      const { calls, duration } = this.metrics;
      series = {
        ok: calls.labels(tool, "ok"),
        error: calls.labels(tool, "error"),
        rateLimited: calls.labels(tool, "rate_limited"),
        duration: duration.labels(tool),
        byProtocol: new Map(),
        running: 0,
      };
      // Counters exist from the start (at zero), so rate() and sum() see every tool before its first
      // call; inc(0), not zero(), leaves a series shared with another middleware on this registry untouched.
      series.ok.inc(0);
      series.error.inc(0);
      series.rateLimited.inc(0);
      this.series.set(tool, series);
    }
    return series;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.tokenDigest && !this.authorized(req.headers.authorization)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"' });
      res.end("Unauthorized: /metrics needs the header Authorization: Bearer <token> (PrometheusMiddleware bearerToken)\n");
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    let body: string;
    try {
      body = await this.getMetricsText(format);
    } catch (error) {
      writeStderrNotice(`rendering /metrics failed: ${describeError(error)}`);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("Internal error while rendering metrics; details are in the server log\n");
      return;
    }
    res.writeHead(200, { "content-type": contentTypeOf(format), "cache-control": "no-store" });
    res.end(body);
  }

  private authorized(header: string | undefined): boolean {
    const token = bearerTokenOf(header);
    return token !== undefined && this.tokenDigest!.matches(token);
  }
}

/** The metrics PrometheusMiddleware created: only these are shared, never a metric of someone else's. */
const ours = new WeakSet<object>();
/**
 * Per shared set of metrics (keyed by its in-flight gauge), what the middlewares sharing it share:
 * the `ctx.bag` key of "already counted", and the series of every one of them, which the gauge sums
 * when scraped.
 */
const sharedState = new WeakMap<object, { counted: symbol; sources: Set<Map<string, ToolSeries>> }>();

function collectInFlight(this: Gauge<"tool">): void {
  const totals = new Map<string, number>();
  for (const source of sharedState.get(this)?.sources ?? []) {
    for (const [tool, series] of source) totals.set(tool, (totals.get(tool) ?? 0) + series.running);
  }
  for (const [tool, running] of totals) this.set({ tool }, running);
}

/** The registry's metric of that name when a PrometheusMiddleware made it with the same labels (and buckets), else a new one; a clash throws. */
function reuseOrCreate<M extends object>(registry: Registry, name: string, labels: string[], buckets: number[] | undefined, create: (name: string) => M): M {
  const existing = registry.getSingleMetric(name) as unknown as { labelNames?: string[]; upperBounds?: number[] } | undefined;
  if (!existing) {
    const metric = create(name);
    ours.add(metric);
    return metric;
  }
  const sameLabels = existing.labelNames?.length === labels.length && labels.every((l, i) => existing.labelNames![i] === l);
  const sameBuckets = !buckets || (existing.upperBounds?.length === buckets.length && buckets.every((b, i) => existing.upperBounds![i] === b));
  if (ours.has(existing) && sameLabels && sameBuckets) return existing as unknown as M;
  const why = !ours.has(existing) ? "made by someone else" : !sameLabels ? `labels ${JSON.stringify(existing.labelNames)}` : `buckets ${JSON.stringify(existing.upperBounds)}`;
  throw new Error(
    `PrometheusMiddleware: the registry already has a metric "${name}" that this middleware cannot share (${why}); ` +
      "give this middleware another namespace or its own registry (new Registry())",
  );
}
