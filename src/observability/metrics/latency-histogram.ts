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
 * A {@link LatencyHistogram} as plain JSON: its non-empty buckets as `[index, count]` pairs, ascending,
 * so that another process can merge histograms exactly instead of averaging percentiles.
 *
 * @example
 * const total = new LatencyHistogram();
 * for (const data of perReplica) total.add(data);
 */
export interface LatencyHistogramData {
  count: number;
  sum: number;
  /** 0 when nothing was recorded. */
  min: number;
  max: number;
  buckets: [index: number, count: number][];
}

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

  /** The non-empty buckets and the totals, as plain JSON (a few hundred bytes for a typical tool). */
  toData(): LatencyHistogramData {
    const buckets: [number, number][] = [];
    const counts = this.counts;
    for (let i = 0; i < BUCKETS; i++) if (counts[i] !== 0) buckets.push([i, counts[i]!]);
    return { count: this.count, sum: this.sum, min: this.count > 0 ? this.min : 0, max: this.max, buckets };
  }

  /**
   * Adds another histogram's samples (from {@link toData}, possibly of another process). Refuses
   * data that cannot come from a histogram of this resolution rather than merging it wrongly.
   */
  add(data: LatencyHistogramData): void {
    let total = 0;
    for (const [index, count] of data.buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= BUCKETS || !(count >= 0)) {
        throw new RangeError(`Cannot merge latency histogram: bucket [${String(index)}, ${String(count)}] is not a bucket index in 0..${BUCKETS - 1} with a count >= 0 (is the data from another Lantern version?)`);
      }
      total += count;
    }
    if (total !== data.count) throw new RangeError(`Cannot merge latency histogram: its buckets hold ${total} samples but its count says ${data.count}`);
    for (const [index, count] of data.buckets) this.counts[index]! += count;
    if (data.count === 0) return;
    this.count += data.count;
    this.sum += data.sum;
    if (data.min < this.min) this.min = data.min;
    if (data.max > this.max) this.max = data.max;
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
