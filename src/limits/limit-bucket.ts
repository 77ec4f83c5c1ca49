import { createRequire } from "node:module";
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClientLike } from "./redis-store.js";

type Library = typeof import("rate-limiter-flexible");
/** rate-limiter-flexible's in-memory counters (what its `RateLimiterMemory` counts in), answering synchronously. */
interface MemoryCounters {
  /** Adds `points` to `key`'s count, starting a window of `durationSec` when none runs. */
  incrby(key: string, points: number, durationSec: number): RateLimiterRes;
  get(key: string): RateLimiterRes | null;
}
type MemoryCountersClass = new () => MemoryCounters;

let library: Library | undefined;
let memoryCounters: MemoryCountersClass | undefined;
const load = createRequire(import.meta.url);
// Loaded when the first limit is made, so servers without limits never load it.
const rateLimiterFlexible = (): Library => (library ??= load("rate-limiter-flexible") as Library);
// The memory store is used directly rather than through `RateLimiterMemory.consume`: that wraps each
// synchronous count in a promise, which costs a limited call more than the counting itself.
const memoryCountersClass = (): MemoryCountersClass =>
  (memoryCounters ??= load("rate-limiter-flexible/lib/component/MemoryStorage/MemoryStorage.js") as MemoryCountersClass);

/** True when a consume was rejected because the allowance is spent (not because the store failed). */
export const isRefusal = (error: unknown): error is RateLimiterRes => library !== undefined && error instanceof library.RateLimiterRes;

/** What a bucket holds for one caller right now, without consuming. */
export interface BucketState {
  remaining: number;
  /** Milliseconds until the window refills; undefined when no window runs (nothing used yet). */
  resetInMs: number | undefined;
}

/**
 * One limit (`points` per `windowMs`) counted per caller key, in memory or Redis, by
 * rate-limiter-flexible (fixed windows; the Redis counters change atomically in one script).
 * In memory a count is answered synchronously ({@link takeNow}); in Redis through {@link consume}.
 */
export class LimitBucket {
  /** Position among its limiter's buckets (callers' usage is kept in arrays indexed by it). */
  readonly index: number;
  private memory: MemoryCounters | undefined;
  private redis: RateLimiterAbstract | undefined;
  private readonly windowSec: number;

  constructor(
    /** `tool:search`, `quota:role:free`, `requests`: part of every key, and of refusals. */
    readonly name: string,
    readonly points: number,
    readonly windowMs: number,
    index = 0,
  ) {
    this.index = index;
    this.windowSec = windowMs / 1000;
  }

  /** Makes the counter, in memory (`client` undefined) or in Redis under `prefix`. */
  bind(client: RedisClientLike | undefined, prefix: string): void {
    if (!client) {
      const Counters = memoryCountersClass();
      this.memory = new Counters();
      return;
    }
    const { RateLimiterRedis } = rateLimiterFlexible();
    this.redis = new RateLimiterRedis({ points: this.points, duration: this.windowSec, keyPrefix: `${prefix}:${this.name}`, storeClient: client, rejectIfRedisNotReady: true });
  }

  get bound(): boolean {
    return this.memory !== undefined || this.redis !== undefined;
  }

  /**
   * In memory: takes `cost` points of `key`'s allowance now and returns the count; `consumedPoints`
   * above {@link points} means refused (the points are still counted, as rate-limiter-flexible does).
   * Undefined for a Redis bucket: use {@link consume}.
   */
  takeNow(key: string, cost: number): RateLimiterRes | undefined {
    return this.memory?.incrby(key, cost, this.windowSec);
  }

  /**
   * In Redis: takes `cost` points of `key`'s allowance: resolves with what is left; rejects with a
   * `RateLimiterRes` when the allowance is spent (see {@link isRefusal}), or with the store's error.
   */
  consume(key: string, cost: number): Promise<RateLimiterRes> {
    return this.redis!.consume(key, cost);
  }

  /** The caller's state without consuming; rejects when the store fails. */
  async peek(key: string): Promise<BucketState> {
    const res = this.memory ? this.memory.get(key) : await this.redis!.get(key);
    if (!res || (this.memory && res.msBeforeNext <= 0)) return { remaining: this.points, resetInMs: undefined };
    return { remaining: Math.max(0, this.points - res.consumedPoints), resetInMs: res.msBeforeNext >= 0 ? res.msBeforeNext : undefined };
  }
}
