import { PROVIDED_BY } from "../../core/metadata-keys.js";
import type { CallKind } from "../../core/call-context.js";
import type { CallStatus } from "../../core/errors.js";
import type { ServerSetup } from "../../core/server-setup.js";
import { DefinitionError } from "../../core/errors.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { LatencyHistogram } from "./latency-histogram.js";

/**
 * What `metrics://server` and {@link MetricsCollector.snapshot} report for one tool, resource or prompt.
 *
 * @example
 * const { calls, errors, p95_latency_ms }: CallMetrics = metrics.snapshot().tools.search_employees!;
 */
export interface CallMetrics {
  calls: number;
  /** Calls that did not end `ok`: the tool threw or returned `isError`, or the call was refused, timed out or cancelled. */
  errors: number;
  /** Of the errors, calls refused by a rate limit, quota or concurrency cap. */
  rate_limited: number;
  avg_latency_ms: number;
  /** Percentiles are within ±2% of the true value (a fixed log-bucket histogram; see the README). */
  p50_latency_ms: number;
  p95_latency_ms: number;
  p99_latency_ms: number;
  /** ISO 8601 time of the latest call; null when never called. */
  last_called_at: string | null;
}

/**
 * The seed's `metrics://server` document, with resources and prompts in their own sections.
 *
 * @example
 * const snapshot: MetricsSnapshot = JSON.parse(read.contents[0].text);
 */
export interface MetricsSnapshot {
  /** The replica id of the server whose calls these are (once a server set the collector up). */
  replica?: string;
  uptime_seconds: number;
  tools: Record<string, CallMetrics>;
  /** Keyed by the URI read; template reads are folded into their template (`hr://employees/{id}`). */
  resources: Record<string, CallMetrics>;
  prompts: Record<string, CallMetrics>;
}

/**
 * Calls made by one client id (the dashboard's Agents tab).
 *
 * @example
 * const agent: ClientMetrics | undefined = metrics.clients()["claude-desktop"];
 */
export interface ClientMetrics {
  calls: number;
  errors: number;
  last_called_at: string;
}

/**
 * Options of {@link MetricsCollector}.
 *
 * @example
 * new MetricsCollector({ maxClients: 100, maxResources: 50 });
 */
export interface MetricsCollectorOptions {
  /** Client ids tracked by {@link MetricsCollector.clients}; the least recently seen is dropped past it. Default 1,000. */
  maxClients?: number;
  /** Distinct resource keys tracked; reads past it are counted under `"(other)"`. Default 200. */
  maxResources?: number;
}

/** The rules of {@link MetricsCollectorOptions}. */
const METRICS_COLLECTOR_OPTIONS = defineOptions<MetricsCollectorOptions>("MetricsCollector options", {
  maxClients: option.integer({ min: 1 }),
  maxResources: option.integer({ min: 1 }),
});
/** The rules of `metrics.registerResource(server, options)`. */
const REGISTER_RESOURCE_OPTIONS = defineOptions<{ uri?: string }>("metrics.registerResource(server, options)", {
  uri: option.string({ pattern: /^[a-zA-Z][a-zA-Z0-9+.-]*:/, describe: "a URI such as metrics://server" }),
});

/**
 * The key resource reads past `maxResources` share.
 *
 * @example
 * metrics.snapshot().resources[OTHER_RESOURCES]?.calls;
 */
export const OTHER_RESOURCES = "(other)";

const QUANTILES = [0.5, 0.95, 0.99] as const;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

class Entry {
  readonly latency = new LatencyHistogram();
  errors = 0;
  rateLimited = 0;
  lastCalledAt = 0;

  toJSON(): CallMetrics {
    const h = this.latency;
    const [p50, p95, p99] = h.percentiles(QUANTILES);
    return {
      calls: h.count,
      errors: this.errors,
      rate_limited: this.rateLimited,
      avg_latency_ms: h.count ? round3(h.sum / h.count) : 0,
      p50_latency_ms: round3(p50!),
      p95_latency_ms: round3(p95!),
      p99_latency_ms: round3(p99!),
      last_called_at: this.lastCalledAt ? new Date(this.lastCalledAt).toISOString() : null,
    };
  }
}

interface ClientEntry {
  calls: number;
  errors: number;
  lastCalledAt: number;
}

/**
 * A read template variable's value, put back as `{name}` so reads of one template share an entry.
 * Only the last occurrence is replaced: template variables sit at the end of most URIs.
 */
function resourceKey(uri: string, variables: Readonly<Record<string, unknown>> | undefined): string {
  if (!variables) return uri;
  let key = uri;
  for (const name in variables) {
    const value = variables[name];
    const text = Array.isArray(value) ? value.join(",") : typeof value === "string" ? value : undefined;
    if (!text) continue;
    const at = key.lastIndexOf(text);
    if (at >= 0) key = `${key.slice(0, at)}{${name}}${key.slice(at + text.length)}`;
  }
  return key;
}

/**
 * Per-tool (and per-resource, per-prompt) call counts, errors and latency percentiles, in memory,
 * with constant memory per entry. Feed it with {@link MetricsMiddleware}; read it with
 * {@link snapshot}, the `metrics://server` resource ({@link registerResource}), or by injecting it
 * into a tool with `@Inject(MetricsCollector)`.
 *
 * @example
 * const metrics = new MetricsCollector();
 * server.use(new MetricsMiddleware(metrics));
 * metrics.registerResource(server);             // metrics://server
 * metrics.snapshot().tools.search_employees;    // { calls, errors, avg_latency_ms, p50_latency_ms, ... }
 */
export class MetricsCollector {
  /** Injected with `@Inject(MetricsCollector)`, it is the one a `MetricsMiddleware` of the server feeds; without one the build fails. */
  static readonly [PROVIDED_BY] = "a MetricsMiddleware (server.use(new MetricsMiddleware(collector)) or @Metered() on the class)";
  private readonly startedAt = performance.now();
  private readonly sections: Record<CallKind, Map<string, Entry>> = { tool: new Map(), resource: new Map(), prompt: new Map() };
  private readonly clientEntries = new Map<string, ClientEntry>();
  private readonly maxClients: number;
  private readonly maxResources: number;
  /** The most recently seen client: already last in `clientEntries`, so no reordering is needed. */
  private lastClientId: string | undefined;
  /** The replica id of the server this collector counts for, once it is known. */
  private replica: string | undefined;

  constructor(options: MetricsCollectorOptions = {}) {
    options = checkOptions(METRICS_COLLECTOR_OPTIONS, options);
    this.maxClients = options.maxClients ?? 1000;
    this.maxResources = options.maxResources ?? 200;
  }

  /**
   * Records one finished call. `status` is how it ended; anything but `ok` counts as an error.
   * For resources pass the template variables, so reads of `hr://employees/{id}` share one entry.
   *
   * @example
   * metrics.record("tool", "search_employees", 12.5, "ok", "agent-7");
   */
  record(
    kind: CallKind,
    name: string,
    durationMs: number,
    status: CallStatus,
    clientId?: string,
    variables?: Readonly<Record<string, unknown>>,
  ): void {
    const now = Date.now();
    const section = this.sections[kind];
    const key = kind === "resource" ? resourceKey(name, variables) : name;
    let entry = section.get(key);
    if (!entry) {
      if (kind === "resource" && section.size >= this.maxResources) entry = this.other(section);
      else section.set(key, (entry = new Entry()));
    }
    const failed = status !== "ok";
    entry.latency.record(durationMs);
    if (failed) entry.errors++;
    if (status === "rate_limited") entry.rateLimited++;
    entry.lastCalledAt = now;
    if (clientId !== undefined) this.recordClient(clientId, failed, now);
  }

  /** Lists a tool, resource or prompt with zero calls, so the snapshot shows what was never called. */
  declare(kind: CallKind, name: string): void {
    const section = this.sections[kind];
    if (!section.has(name) && (kind !== "resource" || section.size < this.maxResources)) section.set(name, new Entry());
  }

  /**
   * The seed's `metrics://server` document: uptime, then per-tool calls, errors, average and
   * percentile latency and the time of the latest call; resources and prompts in their own sections.
   */
  snapshot(): MetricsSnapshot {
    return {
      ...(this.replica !== undefined ? { replica: this.replica } : {}),
      uptime_seconds: Math.round(performance.now() - this.startedAt) / 1000,
      tools: sectionJSON(this.sections.tool),
      resources: sectionJSON(this.sections.resource),
      prompts: sectionJSON(this.sections.prompt),
    };
  }

  /** Calls and errors per client id, most recently seen first (at most `maxClients` of them). */
  clients(): Record<string, ClientMetrics> {
    const out: [string, ClientMetrics][] = [];
    for (const [id, c] of this.clientEntries) out.push([id, { calls: c.calls, errors: c.errors, last_called_at: new Date(c.lastCalledAt).toISOString() }]);
    return Object.fromEntries(out.reverse());
  }

  /**
   * Says which replica the counts belong to (`metrics://server`'s `replica`): the middleware feeding
   * the collector and {@link registerResource} call it with their server's id.
   */
  serveReplica(replicaId: string): void {
    if (this.replica !== undefined && this.replica !== replicaId) {
      throw new DefinitionError(`One MetricsCollector cannot count for two replicas ("${this.replica}" and "${replicaId}"): metrics://server says which replica its counts are from; give each server its own collector`);
    }
    this.replica = replicaId;
  }

  /** Forgets every count (uptime keeps running). */
  reset(): void {
    for (const section of Object.values(this.sections)) section.clear();
    this.clientEntries.clear();
    this.lastClientId = undefined;
  }

  /**
   * Adds the `metrics://server` resource (application/json, the {@link snapshot} document) to a
   * server, for agents to read. Per-client figures are not in it: one agent should not learn
   * which others use the server.
   *
   * @example
   * metrics.registerResource(server);
   */
  registerResource(server: Pick<ServerSetup, "addResource"> & { readonly replicaId?: string }, options: { uri?: string } = {}): void {
    options = checkOptions(REGISTER_RESOURCE_OPTIONS, options);
    if (server.replicaId !== undefined) this.serveReplica(server.replicaId);
    server.addResource(options.uri ?? "metrics://server", () => JSON.stringify(this.snapshot()), {
      name: "server-metrics",
      title: "Server metrics",
      description: "Per-tool calls, errors and latency percentiles (ms) of this server, its uptime and replica id",
      mimeType: "application/json",
    });
  }

  private other(section: Map<string, Entry>): Entry {
    let other = section.get(OTHER_RESOURCES);
    if (!other) {
      other = new Entry();
      section.set(OTHER_RESOURCES, other);
    }
    return other;
  }

  private recordClient(id: string, failed: boolean, now: number): void {
    let client = this.clientEntries.get(id);
    if (client) {
      if (id !== this.lastClientId) {
        // Re-inserting keeps the Map in least-recently-seen order, so the first key is the one to drop.
        this.clientEntries.delete(id);
        this.clientEntries.set(id, client);
      }
    } else {
      client = { calls: 0, errors: 0, lastCalledAt: now };
      if (this.clientEntries.size >= this.maxClients) this.clientEntries.delete(this.clientEntries.keys().next().value!);
      this.clientEntries.set(id, client);
    }
    client.calls++;
    if (failed) client.errors++;
    client.lastCalledAt = now;
    this.lastClientId = id;
  }
}

function sectionJSON(section: Map<string, Entry>): Record<string, CallMetrics> {
  const out: [string, CallMetrics][] = [];
  for (const [name, entry] of section) out.push([name, entry.toJSON()]);
  return Object.fromEntries(out);
}
