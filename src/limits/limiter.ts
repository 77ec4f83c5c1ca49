import type { CallContext, CallerIdentity } from "../core/call-context.js";
import type { RateLimitRule } from "../core/definitions.js";
import { describeError, RateLimitedError, type RateLimitedData } from "../core/errors.js";
import type { Middleware } from "../core/middleware.js";
import type { CallerLimitUsage, ToolLimiter } from "../core/server-setup.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import { isRefusal, LimitBucket } from "./limit-bucket.js";
import type { LimitStore, RedisClientLike } from "./redis-store.js";
import { describeWait, describeWindow } from "./window.js";

/** What a limiter does with a call when its store (Redis) cannot be reached. */
export type StoreUnavailablePolicy = "allow" | "deny";

/** Options of {@link Limiter}. */
export interface LimiterOptions {
  store?: LimitStore;
  /** The key of an anonymous caller (default: its remote address, else `local`). */
  key?: (ctx: CallContext) => string | undefined;
  onStoreUnavailable?: StoreUnavailablePolicy;
}

/** Which kind of limit refused a call (the `limit` label of the refusal counter). */
export type LimitKind = "tool" | "quota" | "concurrency" | "requests" | "store";

/** Refusals and store failures a limiter counted since it started. */
export interface LimiterCounts {
  refused: Record<LimitKind, number>;
  /** Calls decided without the store, by `onStoreUnavailable`. */
  storeUnavailable: { allowed: number; denied: number };
}

/** One caller's latest standing against one limit, as the dashboard shows it. */
export interface LimitUsage {
  limit: string;
  points: number;
  windowMs: number;
  remaining: number;
  /** ISO time the window refills. */
  resetsAt: string;
  refused: number;
}

/** One caller's usage, indexed by {@link LimitBucket.index}. */
type CallerUsage = (CallerLimitUsage | undefined)[];

/** A `@RateLimit` member's bucket and the cost of one call, for `quota://me`. */
interface MemberLimit {
  bucket: LimitBucket;
  cost: number;
}

const MAX_TRACKED_CALLERS = 1000;

/**
 * Counts calls per caller in one store and refuses those past a limit with a {@link RateLimitedError}.
 * `QuotaMiddleware` owns one; a server whose `@RateLimit`s have no `QuotaMiddleware` makes one in memory.
 */
export class Limiter implements ToolLimiter {
  private readonly policy: StoreUnavailablePolicy;
  readonly counts: LimiterCounts = {
    refused: { tool: 0, quota: 0, concurrency: 0, requests: 0, store: 0 },
    storeUnavailable: { allowed: 0, denied: 0 },
  };
  private readonly store: LimitStore;
  private readonly key: ((ctx: CallContext) => string | undefined) | undefined;
  private readonly buckets: LimitBucket[] = [];
  private readonly members: MemberLimit[] = [];
  private client: RedisClientLike | undefined;
  private opened = false;
  private storeDown = false;
  private readonly identityKeys = new WeakMap<CallerIdentity, string>();
  /** The last anonymous caller's key, and what it was made from: consecutive calls reuse it. */
  private anonSource: string | undefined;
  private anonKey = "";
  /** Insertion order is recency order: the first entry is the least recently counted caller. */
  private readonly usageByCaller = new Map<string, CallerUsage>();
  /** The most recently counted caller (the last entry of `usageByCaller`): its calls skip the reordering. */
  private lastKey: string | undefined;
  private lastUsage: CallerUsage | undefined;

  constructor(options: LimiterOptions = {}) {
    this.store = options.store ?? "memory";
    this.key = options.key;
    this.policy = options.onStoreUnavailable ?? "allow";
    if (this.store === "memory") this.opened = true;
  }

  /** Connects the store (Redis: loads ioredis and makes the client) and makes every bucket's counter. */
  async open(): Promise<void> {
    if (this.opened) return;
    if (this.store !== "memory") this.client = await this.store.client();
    this.opened = true;
    for (const bucket of this.buckets) if (!bucket.bound) bucket.bind(this.client, this.prefix);
  }

  /** Closes the store's connection, if the store made it. */
  async close(): Promise<void> {
    if (this.store !== "memory") await this.store.close();
  }

  /** A limit of `points` per `windowMs` named `name` (`quota:role:free`), counted in this limiter's store. */
  bucket(name: string, points: number, windowMs: number): LimitBucket {
    const bucket = new LimitBucket(name, points, windowMs, this.buckets.length);
    if (this.opened) bucket.bind(this.client, this.prefix);
    this.buckets.push(bucket);
    return bucket;
  }

  limitStep(rule: RateLimitRule, member: { kind: "tool" | "resource" | "prompt"; name: string }): Middleware {
    const bucket = this.bucket(`${member.kind}:${member.name}`, rule.points, rule.windowMs);
    const label = `${member.kind} "${member.name}"`;
    const cost = rule.cost;
    this.members.push({ bucket, cost });
    // A refusal in memory throws: the composed chain turns it into a rejection.
    return (ctx, next) => this.enforce(bucket, this.callerKey(ctx.identity, ctx), cost, "tool", label, next);
  }

  /**
   * The key a caller is counted under: `id:<client id>` when authenticated, else `anon:<key>` (the
   * `key` option, else the remote address). One client is one key whatever its sessions or replicas.
   */
  callerKey(identity: CallerIdentity | undefined, ctx?: CallContext): string {
    if (identity) {
      // Identities are settled once per session or token: build each one's key once.
      let key = this.identityKeys.get(identity);
      if (key === undefined) this.identityKeys.set(identity, (key = `id:${identity.clientId}`));
      return key;
    }
    const source = (ctx && this.key ? this.key(ctx) : undefined) ?? ctx?.remoteAddress ?? "local";
    if (source !== this.anonSource) {
      this.anonSource = source;
      this.anonKey = `anon:${source}`;
    }
    return this.anonKey;
  }

  /**
   * Takes `cost` points from `bucket` for `key`, then runs `next`; or throws (memory) or rejects
   * (Redis) with {@link RateLimitedError}. When the store fails, `onStoreUnavailable` decides (and
   * the decision is counted). This runs on every limited call: in memory it answers synchronously and
   * returns what `next` returns, adding no promise; in Redis it is one promise chain.
   */
  enforce<R>(bucket: LimitBucket, key: string, cost: number, kind: LimitKind, label: string, next: () => R): R | Promise<Awaited<R>> {
    const count = bucket.takeNow(key, cost);
    if (count === undefined) return this.enforceInStore(bucket, key, cost, kind, label, next);
    const points = bucket.points;
    if (count.consumed > points) this.refuse(bucket, key, kind, label, count.endsAt - Date.now());
    const usage = this.usageOf(key, bucket);
    usage.remaining = points - count.consumed;
    // The refill time changes only when a window starts (or the caller was not tracked).
    if (count.opened || usage.resetsAt === 0) usage.resetsAt = count.endsAt;
    return next();
  }

  private enforceInStore<R>(bucket: LimitBucket, key: string, cost: number, kind: LimitKind, label: string, next: () => R): Promise<Awaited<R>> {
    return bucket.consume(key, cost).then<Awaited<R>, Awaited<R>>(
      (res) => {
        if (this.storeDown) this.storeBack();
        this.track(key, bucket, res.remainingPoints, res.msBeforeNext);
        return next() as Awaited<R>;
      },
      (error: unknown) => {
        if (isRefusal(error)) {
          if (this.storeDown) this.storeBack();
          this.refuse(bucket, key, kind, label, error.msBeforeNext);
        }
        this.storeUnavailable(error);
        return next() as Awaited<R>;
      },
    );
  }

  /** Counts and throws the refusal of a call past `bucket`'s allowance. */
  private refuse(bucket: LimitBucket, key: string, kind: LimitKind, label: string, msBeforeNext: number): never {
    const retryAfterMs = Math.max(1, msBeforeNext);
    this.counts.refused[kind]++;
    this.track(key, bucket, 0, retryAfterMs).refused++;
    throw this.refusal(bucket, kind, label, retryAfterMs);
  }

  /** Throws the refusal, or returns when `onStoreUnavailable: "allow"` lets the call run uncounted. */
  private storeUnavailable(error: unknown): void {
    this.storeFailed(error);
    if (this.policy === "allow") {
      this.counts.storeUnavailable.allowed++;
      return;
    }
    this.counts.storeUnavailable.denied++;
    this.counts.refused.store++;
    throw new RateLimitedError("Rate limits cannot be checked right now (the limit store is unreachable); retry shortly", { limit: "store", retryAfterMs: 1000 });
  }

  /** Every `@RateLimit` of the server: its bucket and the cost of one call. */
  memberLimits(): readonly MemberLimit[] {
    return this.members;
  }

  /** Each recently counted caller's latest standing against each limit it met (bounded: the last 1,000 callers). */
  usage(): Record<string, LimitUsage[]> {
    const out: Record<string, LimitUsage[]> = {};
    for (const key of this.usageByCaller.keys()) out[key] = this.usageFor(key)!.map((u) => ({ ...u, resetsAt: new Date(u.resetsAt).toISOString() }));
    return out;
  }

  /**
   * `key`'s latest standing against each limit it met, as counted on this replica (a window that
   * has ended since shows its full allowance); undefined when the caller was not counted recently.
   */
  usageFor(key: string): CallerLimitUsage[] | undefined {
    const usage = this.usageByCaller.get(key);
    if (!usage) return undefined;
    const now = Date.now();
    const out: CallerLimitUsage[] = [];
    for (const u of usage) if (u) out.push({ ...u, remaining: u.resetsAt <= now ? u.points : u.remaining });
    return out;
  }

  private refusal(bucket: LimitBucket, kind: LimitKind, label: string, retryAfterMs: number): RateLimitedError {
    const data: RateLimitedData = { limit: bucket.name, retryAfterMs, points: bucket.points, windowMs: bucket.windowMs };
    const head = kind === "quota" ? "Quota exceeded" : "Rate limited";
    return new RateLimitedError(`${head}: ${label} allows ${bucket.points} ${bucket.points === 1 ? "call" : "calls"} per ${describeWindow(bucket.windowMs)} for each caller; retry in ${describeWait(retryAfterMs)}`, data);
  }

  private get prefix(): string {
    return this.store === "memory" ? "lantern:limits" : this.store.keyPrefix;
  }

  /** `key`'s usage of `bucket`, made when first counted; marks `key` the most recently counted caller. */
  private usageOf(key: string, bucket: LimitBucket): CallerLimitUsage {
    let usage = this.lastUsage;
    if (key !== this.lastKey || usage === undefined) {
      usage = this.usageByCaller.get(key);
      if (usage) this.usageByCaller.delete(key);
      else if (this.usageByCaller.size >= MAX_TRACKED_CALLERS) this.usageByCaller.delete(this.usageByCaller.keys().next().value!);
      this.usageByCaller.set(key, (usage ??= []));
      this.lastKey = key;
      this.lastUsage = usage;
    }
    return (usage[bucket.index] ??= { limit: bucket.name, points: bucket.points, windowMs: bucket.windowMs, remaining: bucket.points, resetsAt: 0, refused: 0 });
  }

  private track(key: string, bucket: LimitBucket, remaining: number, resetInMs: number): CallerLimitUsage {
    const usage = this.usageOf(key, bucket);
    usage.remaining = remaining;
    usage.resetsAt = Date.now() + resetInMs;
    return usage;
  }

  private storeFailed(error: unknown): void {
    if (this.storeDown) return;
    this.storeDown = true;
    const action = this.policy === "allow" ? "allowed without counting" : "refused";
    writeStderrNotice(`the rate-limit store is unreachable (${describeError(error)}); calls are ${action} until it returns (onStoreUnavailable: "${this.policy}")`);
  }

  private storeBack(): void {
    this.storeDown = false;
    writeStderrNotice("the rate-limit store is reachable again; limits apply");
  }
}
