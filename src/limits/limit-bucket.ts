import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import { rateLimiterFlexibleLibrary } from "../core/libraries.js";
import type { RedisClientLike } from "./redis-store.js";
import { MemoryWindows, type WindowCount } from "./memory-windows.js";

/**
 * True when a Redis consume was rejected because the allowance is spent (not because the store
 * failed). Only Redis buckets reject, and making one loaded the library.
 */
export const isRefusal = (error: unknown): error is RateLimiterRes => error instanceof rateLimiterFlexibleLibrary().RateLimiterRes;

/** What a bucket holds for one caller right now, without consuming. */
export interface BucketState {
  remaining: number;
  /** Milliseconds until the window refills; undefined when no window runs (nothing used yet). */
  resetInMs: number | undefined;
}

/**
 * One limit (`points` per `windowMs`) counted per caller key in fixed windows: in memory
 * ({@link MemoryWindows}, answered synchronously by {@link takeNow}), or in Redis by
 * rate-limiter-flexible (the counters change atomically in one script) through {@link consume}.
 */
export class LimitBucket {
  private memory: MemoryWindows | undefined;
  private redis: RateLimiterAbstract | undefined;

  constructor(
    /** `tool:search`, `quota:role:free`, `requests`: part of every key, and of refusals. */
    readonly name: string,
    readonly points: number,
    readonly windowMs: number,
    /** Position among its limiter's buckets (callers' usage is kept in arrays indexed by it). */
    readonly index: number,
  ) {}

  /** Makes the counter, in memory (`client` undefined) or in Redis under `prefix`. */
  bind(client: RedisClientLike | undefined, prefix: string): void {
    if (!client) {
      this.memory = new MemoryWindows(this.windowMs);
      return;
    }
    const { RateLimiterRedis } = rateLimiterFlexibleLibrary();
    this.redis = new RateLimiterRedis({ points: this.points, duration: this.windowMs / 1000, keyPrefix: `${prefix}:${this.name}`, storeClient: client, rejectIfRedisNotReady: true });
  }

  get bound(): boolean {
    return this.memory !== undefined || this.redis !== undefined;
  }

  /**
   * In memory: takes `cost` points of `key`'s allowance now and returns the window's live count;
   * `consumed` above {@link points} means refused (the points still count). Undefined for a Redis
   * bucket: use {@link consume}.
   */
  takeNow(key: string, cost: number): WindowCount | undefined {
    return this.memory?.take(key, cost);
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
    if (this.memory) {
      const count = this.memory.peek(key);
      return count ? { remaining: Math.max(0, this.points - count.consumed), resetInMs: count.endsAt - Date.now() } : { remaining: this.points, resetInMs: undefined };
    }
    const res = await this.redis!.get(key);
    if (!res) return { remaining: this.points, resetInMs: undefined };
    return { remaining: Math.max(0, this.points - res.consumedPoints), resetInMs: res.msBeforeNext >= 0 ? res.msBeforeNext : undefined };
  }
}
