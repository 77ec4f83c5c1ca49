/** Smallest bucket bound in ms; faster calls land in the first bucket. */
const MIN_MS = 0.05;
/** Each bucket is this much wider than the one before (about ±6% error on a percentile). */
const GROWTH = 1.12;
const LOG_GROWTH = Math.log(GROWTH);
/** 0.05 ms · 1.12^BUCKETS ≈ 2.4 hours: everything slower lands in the last bucket. */
const BUCKETS = 150;

/** Upper bound (ms) of every bucket, computed once for all histograms. */
const BOUNDS: Float64Array = (() => {
  const bounds = new Float64Array(BUCKETS);
  for (let i = 0; i < BUCKETS; i++) bounds[i] = MIN_MS * GROWTH ** (i + 1);
  return bounds;
})();

/**
 * A fixed-size, log-bucketed latency histogram: constant memory and an O(1) `record`, so
 * percentiles never need the raw samples.
 *
 * @example
 * const h = new LatencyHistogram();
 * h.record(12.5);
 * h.percentile(0.95); // ≈ 12.5
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  /** Calls recorded. */
  count = 0;
  /** Sum of recorded durations, ms. */
  sum = 0;
  /** Largest recorded duration, ms. */
  max = 0;

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[index]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** Mean duration, ms (0 when empty). */
  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /**
   * The duration below which a fraction `q` (0..1) of calls fell, ms: the geometric middle of the
   * bucket it lands in, never more than the largest duration seen.
   */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const lower = i === 0 ? 0 : BOUNDS[i - 1]!;
        const middle = i === 0 ? BOUNDS[0]! / 2 : Math.sqrt(lower * BOUNDS[i]!);
        return Math.min(middle, this.max);
      }
    }
    return this.max;
  }
}
