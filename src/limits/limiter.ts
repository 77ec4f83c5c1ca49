import type { CallContext, CallerIdentity } from "../core/call-context.js";
import type { RateLimitRule } from "../core/definitions.js";
import { describeError, RateLimitedError, type RateLimitedData } from "../core/errors.js";
import type { Middleware } from "../core/middleware.js";
import type { ToolLimiter } from "../core/server-setup.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import { isRefusal, LimitBucket, type BucketState } from "./limit-bucket.js";
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

/** {@link LimitUsage} as kept: the refill time as a number, turned into text only when read. */
type TrackedUsage = Omit<LimitUsage, "resetsAt"> & { resetsAt: number };

/** A `@RateLimit` member and its bucket, for `quota://me`. */
interface MemberLimit {
  bucket: LimitBucket;
  cost: number;
  label: string;
}

const MAX_TRACKED_CALLERS = 1000;

/**
 * Counts calls per caller in one store and refuses those past a limit with a {@link RateLimitedError}.
 * `QuotaMiddleware` owns one; a server whose `@RateLimit`s have no `QuotaMiddleware` makes one in memory.
 */
export class Limiter implements ToolLimiter {
  readonly policy: StoreUnavailablePolicy;
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
  private readonly usageByCaller = new Map<string, Map<string, TrackedUsage>>();

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
    const bucket = new LimitBucket(name, points, windowMs);
    if (this.opened) bucket.bind(this.client, this.prefix);
    this.buckets.push(bucket);
    return bucket;
  }

  limitStep(rule: RateLimitRule, member: { kind: "tool" | "resource" | "prompt"; name: string }): Middleware {
    const bucket = this.bucket(`${member.kind}:${member.name}`, rule.points, rule.windowMs);
    const label = `${member.kind} "${member.name}"`;
    const cost = rule.cost;
    this.members.push({ bucket, cost, label });
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
    const custom = ctx && this.key ? this.key(ctx) : undefined;
    return `anon:${custom ?? ctx?.remoteAddress ?? "local"}`;
  }

  /**
   * Takes `cost` points from `bucket` for `key`, then runs `next`; or rejects with
   * {@link RateLimitedError}. When the store fails, `onStoreUnavailable` decides (and the decision
   * is counted). One promise chain, no async frames: this runs on every limited call.
   */
  enforce<T>(bucket: LimitBucket, key: string, cost: number, kind: LimitKind, label: string, next: () => T | Promise<T>): Promise<T> {
    return bucket.consume(key, cost).then(
      (res) => {
        if (this.storeDown) this.storeBack();
        this.track(key, bucket, res.remainingPoints, res.msBeforeNext, false);
        return next();
      },
      (error: unknown) => {
        this.rejected(error, bucket, key, kind, label);
        return next();
      },
    );
  }

  /** Throws the refusal, or returns when `onStoreUnavailable: "allow"` lets the call run uncounted. */
  private rejected(error: unknown, bucket: LimitBucket, key: string, kind: LimitKind, label: string): void {
    if (isRefusal(error)) {
      if (this.storeDown) this.storeBack();
      const retryAfterMs = Math.max(1, error.msBeforeNext);
      this.counts.refused[kind]++;
      this.track(key, bucket, 0, retryAfterMs, true);
      throw this.refusal(bucket, kind, label, retryAfterMs);
    }
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
  memberLimits(): readonly { bucket: LimitBucket; cost: number }[] {
    return this.members;
  }

  /** The caller's standing against every `@RateLimit` of the server (for `quota://me`). */
  async memberStates(key: string): Promise<{ label: string; bucket: LimitBucket; cost: number; state: BucketState }[]> {
    return Promise.all(this.members.map(async (m) => ({ label: m.label, bucket: m.bucket, cost: m.cost, state: await m.bucket.peek(key) })));
  }

  /** Each recently seen caller's latest standing against each limit it met (bounded: the last 1,000 callers). */
  usage(): Record<string, LimitUsage[]> {
    const out: Record<string, LimitUsage[]> = {};
    for (const [caller, limits] of this.usageByCaller) out[caller] = [...limits.values()].map((u) => ({ ...u, resetsAt: new Date(u.resetsAt).toISOString() }));
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

  private track(key: string, bucket: LimitBucket, remaining: number, resetInMs: number, refused: boolean): void {
    let limits = this.usageByCaller.get(key);
    if (!limits) {
      if (this.usageByCaller.size >= MAX_TRACKED_CALLERS) this.usageByCaller.delete(this.usageByCaller.keys().next().value!);
      this.usageByCaller.set(key, (limits = new Map()));
    }
    let usage = limits.get(bucket.name);
    if (!usage) limits.set(bucket.name, (usage = { limit: bucket.name, points: bucket.points, windowMs: bucket.windowMs, remaining, resetsAt: 0, refused: 0 }));
    usage.remaining = remaining;
    usage.resetsAt = Date.now() + resetInMs;
    if (refused) usage.refused++;
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
