/** A rate limit's window: `"1s"`, `"1m"`, `"1h"`, `"1d"`, or milliseconds (whole seconds). */
export type LimitWindow = "1s" | "1m" | "1h" | "1d" | number;

const NAMED: Readonly<Record<string, number>> = { "1s": 1_000, "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000 };

/**
 * The window in milliseconds, or a sentence saying why `per` is not one. Windows are whole
 * seconds because Redis expires the shared counters in seconds.
 *
 * @example
 * windowMs("1m"); // 60000
 */
export function windowMs(per: unknown): number | string {
  if (typeof per === "string") {
    const ms = NAMED[per];
    return ms ?? `per ${JSON.stringify(per)} is not a window; use "1s", "1m", "1h", "1d" or a number of milliseconds`;
  }
  if (typeof per === "number" && Number.isSafeInteger(per) && per >= 1000 && per % 1000 === 0) return per;
  if (typeof per === "number") return `per ${per} is not a window; a number of milliseconds must be a whole number of seconds (1000, 90000, ...)`;
  return `per ${String(per)} is not a window; use "1s", "1m", "1h", "1d" or a number of milliseconds`;
}

/** `"1 min"`, `"90 s"`: a window as people read it. */
export function describeWindow(ms: number): string {
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? "day" : `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "hour" : `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return ms === 60_000 ? "minute" : `${ms / 60_000} minutes`;
  return ms === 1000 ? "second" : `${ms / 1000} seconds`;
}

/** `"42 s"`, `"3 min"`, `"2 h"`: how long until a retry, rounded up. */
export function describeWait(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.ceil(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.ceil(ms / 60_000)} min`;
  return `${Math.ceil(ms / 3_600_000)} h`;
}
