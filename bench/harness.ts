import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** One measured system: per-call latency percentiles and throughput. */
export interface Measurement {
  name: string;
  p50Us: number;
  p99Us: number;
  callsPerSec: number;
  /** Extra numbers a section wants in the table and the JSON (µs per call, bytes, ms...). */
  extra?: Record<string, number | string>;
}

/** What a section prints: a titled table of rows, each with its ratio to the section's baseline. */
export interface SectionResult {
  title: string;
  baseline?: string;
  rows: Measurement[];
  notes?: string[];
}

export interface MeasureOptions {
  /** Calls made before measuring (JIT warm-up). */
  warmup?: number;
  /** Calls measured per round. */
  iterations?: number;
  /** Rounds; each system's figures are the median over rounds. */
  rounds?: number;
  /** Calls in flight at once (1 = sequential latency); the warm-up runs with as many. */
  concurrency?: number;
  /** Called once every system is warmed up, before the first measured round (to snapshot counters). */
  afterWarmup?: () => void;
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
/** The middle value of `values` (the upper one of an even count). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * One round: `iterations` calls made by `concurrency` workers, each one call at a time; `call` is
 * told which worker makes it and the call's index. Throughput and per-call latency (µs).
 */
export async function measureRound(
  call: (worker: number, i: number) => Promise<unknown>,
  iterations: number,
  concurrency: number,
): Promise<{ p50: number; p99: number; rate: number }> {
  const samples = new Float64Array(iterations);
  let next = 0;
  const started = performance.now();
  const worker = async (_: unknown, w: number) => {
    while (next < iterations) {
      const i = next++;
      const t0 = performance.now();
      await call(w, i);
      samples[i] = (performance.now() - t0) * 1000;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  samples.sort();
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), rate: (iterations / elapsed) * 1000 };
}

/**
 * Measures several systems in one process, alternating them round by round so drift (GC, JIT,
 * thermal) hits all alike, and reports each one's median over rounds.
 */
export async function measureAlternating(
  systems: { name: string; call: () => Promise<unknown> }[],
  options: MeasureOptions = {},
): Promise<Measurement[]> {
  const { warmup = 2000, iterations = 5000, rounds = 5, concurrency = 1 } = options;
  for (const system of systems) if (warmup > 0) await measureRound(system.call, warmup, concurrency);
  options.afterWarmup?.();
  const results = systems.map(() => ({ p50: [] as number[], p99: [] as number[], rate: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (let s = 0; s < systems.length; s++) {
      const r = await measureRound(systems[s]!.call, iterations, concurrency);
      results[s]!.p50.push(r.p50);
      results[s]!.p99.push(r.p99);
      results[s]!.rate.push(r.rate);
    }
  }
  return systems.map((system, s) => ({
    name: system.name,
    p50Us: median(results[s]!.p50),
    p99Us: median(results[s]!.p99),
    callsPerSec: median(results[s]!.rate),
  }));
}

/** Prints a section as a table, each row's p50 ratio against the baseline row. */
export function printSection(section: SectionResult): void {
  const base = section.rows.find((r) => r.name === section.baseline);
  console.log(`\n## ${section.title}`);
  const header = ["system", "p50 µs", "p99 µs", "calls/s", base ? `p50 ratio vs ${base.name}` : "", "extra"];
  const lines = section.rows.map((r) => [
    r.name,
    r.p50Us.toFixed(1),
    r.p99Us.toFixed(1),
    r.callsPerSec.toFixed(0),
    base ? `${(r.p50Us / base.p50Us).toFixed(3)}×` : "",
    r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === "number" ? v.toFixed(2) : v}`).join(" ") : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(fmt(line));
  for (const note of section.notes ?? []) console.log(`  ${note}`);
}

/**
 * Lets the event loop run every 100 calls, for every system alike: the in-memory transport runs
 * on microtasks only, so without it work a system defers to the event loop (a file transport's
 * writes, a "none"-mode audit's signing) would never run inside the system's own rounds, and would
 * be charged to whichever system runs next. With concurrent callers, each one waits for the turn
 * after its current call: one caller alone pausing would leave the others' microtasks running.
 */
export function yielding(call: () => Promise<unknown>): () => Promise<unknown> {
  let n = 0;
  let turn: Promise<void> | undefined;
  return async () => {
    const result = await call();
    if (++n % 100 === 0) {
      turn ??= new Promise<void>((resolve) => setImmediate(() => {
        turn = undefined;
        resolve();
      }));
    }
    if (turn) await turn;
    return result;
  };
}

/**
 * A size from the environment (`BENCH_*`), `fallback` when unset, so a quick run and the full one
 * share the code; a value that is not an integer of at least `min` is refused, naming the variable.
 */
export function envInteger(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU time of a process so far, in seconds (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Microbenchmark of a synchronous or async function: mean ns per call over `iterations`. */
export async function nsPerCall(fn: () => unknown, iterations = 200_000): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return ((performance.now() - t0) * 1e6) / iterations;
}
