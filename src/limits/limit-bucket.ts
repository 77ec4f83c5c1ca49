import { createRequire } from "node:module";
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { RedisClientLike } from "./redis-store.js";

type Library = typeof import("rate-limiter-flexible");
let library: Library | undefined;
// Loaded when the first limit is made, so servers without limits never load it.
const rateLimiterFlexible = (): Library => (library ??= createRequire(import.meta.url)("rate-limiter-flexible") as Library);

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
    const { RateLimiterMemory, RateLimiterRedis } = rateLimiterFlexible();
    this.impl = client
      ? new RateLimiterRedis({ ...options, storeClient: client, rejectIfRedisNotReady: true })
      : new RateLimiterMemory(options);
  }

  get bound(): boolean {
    return this.impl !== undefined;
  }

  /**
   * Takes `cost` points of `key`'s allowance: resolves with what is left; rejects with a
   * `RateLimiterRes` when the allowance is spent (see {@link isRefusal}), or with the store's error.
   */
  consume(key: string, cost: number): Promise<RateLimiterRes> {
    return this.impl!.consume(key, cost);
  }

  /** The caller's state without consuming; rejects when the store fails. */
  async peek(key: string): Promise<BucketState> {
    const res = await this.impl!.get(key);
    if (!res) return { remaining: this.points, resetInMs: undefined };
    return { remaining: Math.max(0, this.points - res.consumedPoints), resetInMs: res.msBeforeNext >= 0 ? res.msBeforeNext : undefined };
  }
}
