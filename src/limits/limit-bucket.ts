import rateLimiterFlexible from "rate-limiter-flexible";
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClientLike } from "./redis-store.js";

const { RateLimiterMemory, RateLimiterRedis, RateLimiterRes: Res } = rateLimiterFlexible;

/** What one consume says: allowed (with what is left), refused (with when to retry), or the store failed. */
export type BucketVerdict =
  | { kind: "allowed"; remaining: number; resetInMs: number }
  | { kind: "refused"; retryAfterMs: number }
  | { kind: "unavailable"; error: unknown };

/** What a bucket holds for one caller right now, without consuming. */
export interface BucketState {
  remaining: number;
  /** Milliseconds until the window refills; undefined when no window runs (nothing used yet). */
  resetInMs: number | undefined;
}

/**
 * One limit (`points` per `windowMs`) counted per caller key, in memory or Redis, by
 * rate-limiter-flexible (fixed windows; the Redis counters change atomically in one script).
 */
export class LimitBucket {
  private impl: RateLimiterAbstract | undefined;

  constructor(
    /** `tool:search`, `quota:role:free`, `requests`: part of every key, and of refusals. */
    readonly name: string,
    readonly points: number,
    readonly windowMs: number,
  ) {}

  /** Makes the counter, in memory (`client` undefined) or in Redis under `prefix`. */
  bind(client: RedisClientLike | undefined, prefix: string): void {
    const options = { points: this.points, duration: this.windowMs / 1000, keyPrefix: `${prefix}:${this.name}` };
    this.impl = client
      ? new RateLimiterRedis({ ...options, storeClient: client, rejectIfRedisNotReady: true })
      : new RateLimiterMemory(options);
  }

  get bound(): boolean {
    return this.impl !== undefined;
  }

  async consume(key: string, cost: number): Promise<BucketVerdict> {
    try {
      const res = await this.impl!.consume(key, cost);
      return { kind: "allowed", remaining: res.remainingPoints, resetInMs: res.msBeforeNext };
    } catch (error) {
      if (error instanceof Res) return { kind: "refused", retryAfterMs: Math.max(1, (error as RateLimiterRes).msBeforeNext) };
      return { kind: "unavailable", error };
    }
  }

  /** The caller's state without consuming; rejects when the store fails. */
  async peek(key: string): Promise<BucketState> {
    const res = await this.impl!.get(key);
    if (!res) return { remaining: this.points, resetInMs: undefined };
    return { remaining: Math.max(0, this.points - res.consumedPoints), resetInMs: res.msBeforeNext >= 0 ? res.msBeforeNext : undefined };
  }
}
