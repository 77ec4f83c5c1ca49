/**
 * Relative accuracy of every percentile the histogram reports: an estimate is within ±2% of the
 * latency of the sample at that rank, for latencies between {@link MIN_LATENCY_MS} and
 * {@link MAX_LATENCY_MS}.
 *
 * @example
 * const bound = p95 * PERCENTILE_RELATIVE_ERROR; // the true p95 is within ± bound
 */
export const PERCENTILE_RELATIVE_ERROR = 0.02;
/**
 * Latencies at or below this (1 µs) share the first bucket.
 *
 * @example
 * if (latencyMs < MIN_LATENCY_MS) console.warn("below the histogram's resolution");
 */
export const MIN_LATENCY_MS = 0.001;
/**
 * Latencies at or above this (1 h) share the last bucket.
 *
 * @example
 * if (latencyMs > MAX_LATENCY_MS) console.warn("percentiles above 1 h are clamped");
 */
export const MAX_LATENCY_MS = 3_600_000;

// Logarithmic buckets as in DDSketch: bucket i holds (MIN·γ^(i-1), MIN·γ^i]; reporting
// 2·MIN·γ^i/(γ+1) for it is off by at most α = (γ-1)/(γ+1) of any value inside.
const GAMMA = (1 + PERCENTILE_RELATIVE_ERROR) / (1 - PERCENTILE_RELATIVE_ERROR);
const LN_GAMMA = Math.log(GAMMA);
const BUCKETS = Math.ceil(Math.log(MAX_LATENCY_MS / MIN_LATENCY_MS) / LN_GAMMA) + 1;
const ESTIMATES = Float64Array.from({ length: BUCKETS }, (_, i) => (2 * MIN_LATENCY_MS * GAMMA ** i) / (GAMMA + 1));

/**
 * A latency histogram of fixed size (≈550 counters, 4.4 KB) whatever the number of samples: the
 * collector's memory per tool stays constant. Percentiles are exact to {@link PERCENTILE_RELATIVE_ERROR}
 * and never outside the smallest and largest latency seen.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  record(ms: number): void {
    // NaN or a negative duration (a clock step) counts as the fastest possible call.
    const value = ms > 0 ? ms : 0;
    let index = value <= MIN_LATENCY_MS ? 0 : Math.ceil(Math.log(value / MIN_LATENCY_MS) / LN_GAMMA);
    if (index >= BUCKETS) index = BUCKETS - 1;
    this.counts[index]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /**
   * The nearest-rank percentiles for each of `quantiles` (ascending, in 0..1), in one pass over the
   * buckets. All zero when nothing was recorded.
   */
  percentiles(quantiles: readonly number[]): number[] {
    const out = quantiles.map(() => 0);
    if (this.count === 0) return out;
    const ranks = quantiles.map((quantile) => Math.max(1, Math.ceil(quantile * this.count)));
    let q = 0;
    let seen = 0;
    for (let i = 0; i < BUCKETS && q < quantiles.length; i++) {
      seen += this.counts[i]!;
      while (q < quantiles.length && seen >= ranks[q]!) {
        out[q++] = Math.min(this.max, Math.max(this.min, ESTIMATES[i]!));
      }
    }
    return out;
  }
}
