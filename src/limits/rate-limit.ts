import type { RateLimitOptions } from "../core/definitions.js";
import { METADATA } from "../core/metadata-keys.js";
import { recordListEntry } from "../core/metadata-store.js";

/** A recorded `@RateLimit`: on a class (`method` undefined) or on one method. */
export interface RateLimitBinding {
  method: string | undefined;
  options: RateLimitOptions;
}

/**
 * Limits how often each caller may call a tool (or read a resource, get a prompt): `points` per
 * window, one call taking `cost` points. On a class it limits each of its tools separately; a
 * method's own `@RateLimit` replaces the class's. The caller is its verified client id (anonymous
 * callers: the server's `key`, by default the remote address). The limit is kept in the store of
 * the server's `QuotaMiddleware` (Redis: shared by every replica), else in process memory.
 * A bad `per` fails when the server is built, naming class and method.
 *
 * @example
 * @RateLimit({ points: 10, per: "1m" })
 * @Tool({ description: "Search employees" }) search(input: SearchEmployees) { ... }
 */
export function RateLimit(options: RateLimitOptions): ClassDecorator & MethodDecorator {
  return ((target: object, key?: string | symbol) => {
    const owner = key === undefined ? target : (target as { constructor: object }).constructor;
    recordListEntry<RateLimitBinding>(METADATA.rateLimits, owner, { method: key === undefined ? undefined : String(key), options: { ...options } });
  }) as ClassDecorator & MethodDecorator;
}
