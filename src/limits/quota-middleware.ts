import { checkOptions, defineOptions, option } from "../core/options.js";
import type { Registry } from "prom-client";
import { promClientLibrary } from "../core/libraries.js";
import type { CallContext, CallerIdentity } from "../core/call-context.js";
import { RateLimitedError } from "../core/errors.js";
import type { MiddlewareObject, Next } from "../core/middleware.js";
import type { ServerSetup } from "../core/server-setup.js";
import type { BucketState, LimitBucket } from "./limit-bucket.js";
import { Limiter, type LimiterCounts, type LimitUsage, type StoreUnavailablePolicy } from "./limiter.js";
import type { LimitStore } from "./redis-store.js";
import { describeWindow, windowMs, type LimitWindow } from "./window.js";

/** `points` calls per window `per` (`"1s"`, `"1m"`, `"1h"`, `"1d"` or milliseconds, whole seconds). */
export interface LimitSpec {
  points: number;
  per: LimitWindow;
}

/**
 * Options of {@link QuotaMiddleware}. A caller gets one quota: its client id's (`clients`), else
 * that of the first role in `roles` it holds, else of the first scope in `scopes`, else `limit`.
 */
export interface QuotaOptions {
  /** Where counts live: `"memory"` (default; per process) or a {@link RedisStore} shared by replicas. */
  store?: LimitStore;
  /** Tool calls per window for every caller without a more specific quota. */
  limit?: LimitSpec;
  /** Quotas by role (`{ free: { points: 100, per: "1d" }, pro: { points: 10_000, per: "1d" } }`); the first listed role the caller holds applies. */
  roles?: Record<string, LimitSpec>;
  /** Quotas by scope; the first listed scope the caller holds applies (roles are looked at first). */
  scopes?: Record<string, LimitSpec>;
  /** Quotas of named client ids; they win over roles and scopes. */
  clients?: Record<string, LimitSpec>;
  /** At most this many tool calls of one caller in flight at once, on each replica. */
  concurrency?: number;
  /** HTTP requests per caller, checked by the transport with {@link QuotaMiddleware.checkRequest} before dispatch. */
  requests?: LimitSpec;
  /** The key of an anonymous caller (default: its remote address; `local` on stdio and in memory). */
  key?: (ctx: CallContext) => string | undefined;
  /** When the store cannot be reached: `"allow"` (default; calls run uncounted) or `"deny"` (calls are refused). Either is counted. */
  onStoreUnavailable?: StoreUnavailablePolicy;
  /** URI of the resource that tells a caller its own limits (default `quota://me`; false: none). */
  resourceUri?: string | false;
  /** A prom-client registry to count refusals and store failures in (`<namespace>_rate_limit_*_total`). */
  registry?: Registry;
  /** Prefix of those metric names (default `mcp`). */
  namespace?: string;
}

/** What `checkRequest` answers: whether the request may go on, and if not, when to retry. */
export interface RequestDecision {
  allowed: boolean;
  /** 0 when allowed; the `Retry-After` to send (in ms) when not. */
  retryAfterMs: number;
  /** The refusal, with the message and data a JSON-RPC error body carries. */
  error?: RateLimitedError;
}

/** One limit as `quota://me` reports it. */
export interface QuotaStanding {
  limit: string;
  points: number;
  window_ms: number;
  window: string;
  /** Points one call takes (tools' `@RateLimit` cost; 1 for quotas). */
  cost: number;
  remaining: number | null;
  /** null when no window runs (nothing used yet) or the store is unreachable. */
  resets_in_ms: number | null;
  resets_at: string | null;
}

/** The `quota://me` document. */
export interface QuotaReport {
  client_id: string;
  quota: QuotaStanding | null;
  tools: QuotaStanding[];
  concurrency: { max_in_flight: number; in_flight: number } | null;
  requests: QuotaStanding | null;
  /** Set when the store could not be read: figures are null. */
  store_unavailable?: true;
}

const ALLOWED: RequestDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });
/** What a request "runs" once its point is taken: nothing (the transport goes on by itself). */
const nothingNext = (): undefined => undefined;

interface Quota {
  bucket: LimitBucket;
  label: string;
}

/** One caller's calls in flight, with the settle handlers that count one down (made once per caller). */
interface InFlight {
  running: number;
  ended: (value: unknown) => unknown;
  failed: (error: unknown) => never;
}

function inFlightCount(): InFlight {
  const slots: InFlight = {
    running: 0,
    ended: (value) => {
      slots.running--;
      return value;
    },
    failed: (error) => {
      slots.running--;
      throw error;
    },
  };
  return slots;
}

/** Idle callers' in-flight counts are dropped once the map has grown this much past its size after the last drop. */
const MAX_IDLE_IN_FLIGHT = 10_000;

const LIMIT = "a limit { points, per }";
const QUOTA_OPTIONS = defineOptions<QuotaOptions>("QuotaMiddleware options", {
  store: option.any('"memory" or a RedisStore'),
  limit: option.object(undefined, LIMIT),
  roles: option.object(undefined, "limits by role name"),
  scopes: option.object(undefined, "limits by scope"),
  clients: option.object(undefined, "limits by client id"),
  concurrency: option.integer({ min: 1 }),
  requests: option.object(undefined, LIMIT),
  key: option.function("a function (ctx) => string"),
  onStoreUnavailable: option.oneOf("allow", "deny"),
  resourceUri: option.anyOf(option.string({ nonEmpty: true }), option.literal(false)),
  registry: option.withMethods("a prom-client Registry", "registerMetric", "getSingleMetric"),
  namespace: option.string({ nonEmpty: true }),
}, { quota: 'use "limit"', limits: 'use "limit" (one quota for everyone) or "roles", "scopes", "clients"', maxConcurrency: 'use "concurrency"', redis: 'use "store: new RedisStore({ url })"' });

/**
 * Server-wide quotas and concurrency caps, keyed by the caller's identity (settled before the
 * chain runs, so one client is one bucket whatever its sessions, connections or replicas). With a
 * {@link RedisStore} every replica shares the counts; `@RateLimit` counts live in the same store.
 * A refused call is a JSON-RPC -32005 error whose `data.retryAfterMs` says when to retry, and ends
 * with status `rate_limited` in every observability part. Counts tool calls only.
 *
 * @example
 * server.use(new QuotaMiddleware({
 *   store: new RedisStore({ url: "redis://127.0.0.1:6379" }),
 *   roles: { free: { points: 100, per: "1d" }, pro: { points: 10_000, per: "1d" } },
 *   concurrency: 4,
 * }));
 */
export class QuotaMiddleware implements MiddlewareObject {
  private readonly limiter: Limiter;
  private readonly options: QuotaOptions;
  private readonly byClient = new Map<string, Quota>();
  private readonly byRole: [string, Quota][] = [];
  private readonly byScope: [string, Quota][] = [];
  private readonly fallback: Quota | undefined;
  private readonly requestBucket: LimitBucket | undefined;
  private readonly maxInFlight: number | undefined;
  private readonly inFlight = new Map<string, InFlight>();
  /** Size of `inFlight` at which idle callers are dropped (a scan amortised over the callers added since the last one). */
  private dropIdleAbove = MAX_IDLE_IN_FLIGHT;
  /** Each identity's quota, found once (identities are settled once per session or token). */
  private readonly quotaByIdentity = new WeakMap<CallerIdentity, Quota | null>();

  constructor(options: QuotaOptions = {}) {
    options = checkOptions(QUOTA_OPTIONS, options);
    if (options.store !== undefined && options.store !== "memory" && typeof (options.store as { client?: unknown }).client !== "function") {
      throw new TypeError(`QuotaMiddleware: store must be "memory" or a RedisStore, got ${JSON.stringify(options.store)}`);
    }
    this.options = options;
    this.limiter = new Limiter({ store: options.store, key: options.key, onStoreUnavailable: options.onStoreUnavailable });
    const quota = (name: string, label: string, spec: LimitSpec, where: string): Quota => {
      const ms = windowMs(spec?.per);
      if (!Number.isSafeInteger(spec?.points) || spec.points < 1) throw new TypeError(`QuotaMiddleware: ${where}.points must be a positive whole number, got ${JSON.stringify(spec?.points)}`);
      if (typeof ms === "string") throw new TypeError(`QuotaMiddleware: ${where}: ${ms}`);
      const extra = Object.keys(spec).filter((k) => k !== "points" && k !== "per");
      if (extra.length) throw new TypeError(`QuotaMiddleware: ${where} has unknown option "${extra[0]}"; a limit is { points, per }`);
      return { bucket: this.limiter.bucket(name, spec.points, ms), label };
    };
    for (const [id, spec] of Object.entries(options.clients ?? {})) this.byClient.set(id, quota(`quota:client:${id}`, `the quota of client "${id}"`, spec, `clients["${id}"]`));
    for (const [role, spec] of Object.entries(options.roles ?? {})) this.byRole.push([role, quota(`quota:role:${role}`, `role "${role}"`, spec, `roles["${role}"]`)]);
    for (const [scope, spec] of Object.entries(options.scopes ?? {})) this.byScope.push([scope, quota(`quota:scope:${scope}`, `scope "${scope}"`, spec, `scopes["${scope}"]`)]);
    if (options.limit) this.fallback = quota("quota:default", "this server", options.limit, "limit");
    if (options.requests) this.requestBucket = quota("requests", "this server", options.requests, "requests").bucket;
    this.maxInFlight = options.concurrency;
    if (options.registry) this.countIn(options.registry, options.namespace ?? "mcp");
  }

  handle(ctx: CallContext, next: Next): Promise<unknown> {
    if (ctx.kind !== "tool") return next();
    const identity = ctx.identity;
    const quota = this.quotaOf(identity);
    try {
      // The caller's key only when something counts the call.
      if (this.maxInFlight !== undefined) return this.handleCapped(this.limiter.callerKey(identity, ctx), quota, next);
      return quota ? this.limiter.enforce(quota.bucket, this.limiter.callerKey(identity, ctx), 1, "quota", quota.label, next) : next();
    } catch (refusal) {
      return Promise.reject(refusal);
    }
  }

  /** Runs the call in one of the caller's in-flight slots, or refuses it when all are taken. */
  private handleCapped(key: string, quota: Quota | undefined, next: Next): Promise<unknown> {
    const slots = this.slotsOf(key);
    if (slots.running >= this.maxInFlight!) {
      this.limiter.counts.refused.concurrency++;
      throw new RateLimitedError(
        `Too many calls in flight: this server runs at most ${this.maxInFlight} of one caller's calls at a time; retry when one of yours has finished`,
        { limit: "concurrency", retryAfterMs: 1000, points: this.maxInFlight },
      );
    }
    slots.running++;
    let result: Promise<unknown>;
    try {
      result = quota ? this.limiter.enforce(quota.bucket, key, 1, "quota", quota.label, next) : next();
    } catch (error) {
      slots.running--;
      throw error;
    }
    return result.then(slots.ended, slots.failed);
  }

  /** The caller's in-flight count; kept while idle (bounded) so that steady callers make nothing per call. */
  private slotsOf(key: string): InFlight {
    let slots = this.inFlight.get(key);
    if (slots) return slots;
    if (this.inFlight.size >= this.dropIdleAbove) {
      for (const [k, s] of this.inFlight) if (s.running === 0) this.inFlight.delete(k);
      this.dropIdleAbove = this.inFlight.size + MAX_IDLE_IN_FLIGHT;
    }
    slots = inFlightCount();
    this.inFlight.set(key, slots);
    return slots;
  }

  async setup(server: ServerSetup): Promise<void> {
    server.setToolLimiter(this.limiter);
    if (this.requestBucket) server.setRequestGate((identity, remoteAddress) => this.checkRequest(this.requestKey(identity, remoteAddress)));
    // Registered first: a shutdown while the store connects still closes its client.
    server.onShutdown(() => this.limiter.close());
    await this.limiter.open();
    const uri = this.options.resourceUri ?? "quota://me";
    if (uri !== false) {
      server.addResource(uri, (_vars, ctx) => this.report(ctx).then((r) => JSON.stringify(r)), {
        name: "my-quota",
        title: "My limits",
        description: "Your own rate limits, quotas and concurrency cap on this server: what is left and when it refills",
        mimeType: "application/json",
      });
    }
  }

  /**
   * For a transport, before it dispatches an HTTP request: takes one point of the `requests` limit
   * of `key` (from {@link requestKey}). A refused request should be answered 429 with
   * `Retry-After: ceil(retryAfterMs / 1000)` and `error` as its JSON-RPC error body.
   *
   * @example
   * const decision = await quota.checkRequest(quota.requestKey(identity, req.socket.remoteAddress));
   * if (!decision.allowed) { res.writeHead(429, { "retry-after": String(Math.ceil(decision.retryAfterMs / 1000)) }); ... }
   */
  async checkRequest(key: string): Promise<RequestDecision> {
    if (!this.requestBucket) return ALLOWED;
    try {
      await this.limiter.enforce(this.requestBucket, key, 1, "requests", "this server's HTTP endpoint", nothingNext);
      return ALLOWED;
    } catch (error) {
      const refusal = error as RateLimitedError;
      return { allowed: false, retryAfterMs: refusal.detail.retryAfterMs, error: refusal };
    }
  }

  /** The key a request is counted under: `id:<client id>` when authenticated, else `anon:<remote address>`. */
  requestKey(identity: CallerIdentity | undefined, remoteAddress: string | undefined): string {
    return identity ? this.limiter.callerKey(identity) : `anon:${remoteAddress ?? "local"}`;
  }

  /** The `quota://me` document for the caller of `ctx`. */
  async report(ctx: CallContext): Promise<QuotaReport> {
    const key = this.limiter.callerKey(ctx.identity, ctx);
    const quota = this.quotaOf(ctx.identity);
    const base = {
      client_id: ctx.clientId,
      concurrency: this.maxInFlight === undefined ? null : { max_in_flight: this.maxInFlight, in_flight: this.inFlight.get(key)?.running ?? 0 },
    };
    const members = this.limiter.memberLimits();
    try {
      const [quotaState, memberStates, requestState] = await Promise.all([
        quota ? quota.bucket.peek(key) : undefined,
        Promise.all(members.map((m) => m.bucket.peek(key))),
        this.requestBucket ? this.requestBucket.peek(key) : undefined,
      ]);
      return {
        ...base,
        quota: quota ? standing(quota.bucket, 1, quotaState!) : null,
        tools: members.map((m, i) => standing(m.bucket, m.cost, memberStates[i])),
        requests: this.requestBucket ? standing(this.requestBucket, 1, requestState!) : null,
      };
    } catch {
      const blank = (bucket: LimitBucket, cost: number) => standing(bucket, cost, undefined);
      return {
        ...base,
        quota: quota ? blank(quota.bucket, 1) : null,
        tools: members.map((m) => blank(m.bucket, m.cost)),
        requests: this.requestBucket ? blank(this.requestBucket, 1) : null,
        store_unavailable: true,
      };
    }
  }

  /**
   * Refusals by kind of limit, and calls decided without the store, since the server started.
   *
   * @example
   * quota.counts.storeUnavailable; // { allowed: 0, denied: 3 }
   */
  get counts(): LimiterCounts {
    return this.limiter.counts;
  }

  /**
   * Each recently seen caller's latest standing against each limit (the data of the dashboard's
   * Agents tab), keyed like the counts (`id:<client id>`, `anon:<key>`).
   *
   * @example
   * quota.usage()["id:alice"]; // [{ limit: "quota:role:free", points: 100, remaining: 12, resetsAt, refused: 0 }]
   */
  usage(): Record<string, LimitUsage[]> {
    return this.limiter.usage();
  }

  private quotaOf(identity: CallerIdentity | undefined): Quota | undefined {
    if (!identity) return this.fallback;
    let quota = this.quotaByIdentity.get(identity);
    if (quota === undefined) this.quotaByIdentity.set(identity, (quota = this.findQuota(identity) ?? null));
    return quota ?? undefined;
  }

  private findQuota(identity: CallerIdentity): Quota | undefined {
    const own = this.byClient.get(identity.clientId);
    if (own) return own;
    for (const [role, quota] of this.byRole) if (identity.roles.includes(role)) return quota;
    for (const [scope, quota] of this.byScope) if (identity.scopes.includes(scope)) return quota;
    return this.fallback;
  }

  private countIn(registry: Registry, namespace: string): void {
    const { Counter } = promClientLibrary();
    const counts = this.limiter.counts;
    new Counter({
      name: `${namespace}_rate_limit_refused_total`,
      help: "Calls refused by a rate limit, quota or concurrency cap, by kind of limit",
      labelNames: ["limit"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [limit, n] of Object.entries(counts.refused)) this.inc({ limit }, n);
      },
    });
    new Counter({
      name: `${namespace}_rate_limit_store_unavailable_total`,
      help: "Calls decided without the limit store (unreachable), by what onStoreUnavailable did",
      labelNames: ["action"],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ action: "allowed" }, counts.storeUnavailable.allowed);
        this.inc({ action: "denied" }, counts.storeUnavailable.denied);
      },
    });
  }
}

function standing(bucket: LimitBucket, cost: number, state: BucketState | undefined): QuotaStanding {
  const reset = state?.resetInMs;
  return {
    limit: bucket.name,
    points: bucket.points,
    window_ms: bucket.windowMs,
    window: describeWindow(bucket.windowMs),
    cost,
    remaining: state ? state.remaining : null,
    resets_in_ms: reset ?? null,
    resets_at: reset === undefined ? null : new Date(Date.now() + reset).toISOString(),
  };
}
