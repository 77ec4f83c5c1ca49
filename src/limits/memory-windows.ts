/** One caller's count in the window that runs now. */
export interface WindowCount {
  /** Points taken in this window (past the allowance when the last take was refused: they still count). */
  consumed: number;
  /** `Date.now()` when the window ends and the allowance refills. */
  endsAt: number;
  /** True when the last take opened this window. */
  opened: boolean;
}

/** Expired windows are swept once the map has grown this much past its size after the last sweep. */
const SWEEP_GROWTH = 1024;

/**
 * Fixed-window counts per caller key, in this process's memory: a count is a synchronous map
 * update (no promise, no timer per key). Ended windows are dropped in sweeps amortised over the
 * takes that grow the map, so memory follows the callers active within one window.
 *
 * @example
 * const windows = new MemoryWindows(60_000);
 * const count = windows.take("client:agent-7", 1);
 * if (count.consumed > 100) refuse(count.endsAt - Date.now());
 */
export class MemoryWindows {
  private readonly counts = new Map<string, WindowCount>();
  private sweepAbove = SWEEP_GROWTH;

  constructor(private readonly windowMs: number) {}

  /** Adds `points` to `key`'s count, starting a window when none runs; the count is live (read it before the next take). */
  take(key: string, points: number): WindowCount {
    const now = Date.now();
    let count = this.counts.get(key);
    if (count === undefined || count.endsAt <= now) {
      if (count === undefined && this.counts.size >= this.sweepAbove) this.sweep(now);
      count = { consumed: points, endsAt: now + this.windowMs, opened: true };
      this.counts.set(key, count);
      return count;
    }
    count.consumed += points;
    count.opened = false;
    return count;
  }

  /** `key`'s count in the window that runs now, without taking; undefined when none runs. */
  peek(key: string): WindowCount | undefined {
    const count = this.counts.get(key);
    return count !== undefined && count.endsAt > Date.now() ? count : undefined;
  }

  private sweep(now: number): void {
    for (const [key, count] of this.counts) if (count.endsAt <= now) this.counts.delete(key);
    this.sweepAbove = this.counts.size + SWEEP_GROWTH;
  }
}
