/** Text helpers shared by the tabs: every number the dashboard shows goes through one of these. */

const two = (n: number) => String(n).padStart(2, "0");

/** `HH:MM:SS` in local time. */
export const formatClock = (ms: number): string => {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
};

/** `45s`, `2m 03s`, `1h 02m`, `3d 04h`. */
export const formatUptime = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${two(Math.floor(s / 3600) % 24)}h`;
};

/** `0.42 ms`, `12.3 ms`, `1.24 s`; `-` when nothing was measured. */
export const formatMs = (ms: number): string => {
  if (!Number.isFinite(ms) || ms <= 0) return "-";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
};

/** `1,234`. */
export const formatCount = (n: number): string => Math.round(n).toLocaleString("en-US");

/** `950`, `9,999`, `12k`, `1.5M`: a count in at most 5 columns. */
export const formatShortCount = (n: number): string => {
  if (n < 10_000) return formatCount(n);
  if (n < 1_000_000) return `${Math.floor(n / 1000)}k`;
  return `${Math.floor(n / 100_000) / 10}M`;
};

/** `42s`, `5m`, `7h`, `2d`: a wait in its largest unit, rounded up; `-` when none is left. */
export const formatWait = (ms: number): string => {
  if (!(ms > 0)) return "-";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.ceil(s / 60)}m`;
  if (s < 86_400) return `${Math.ceil(s / 3600)}h`;
  return `${Math.ceil(s / 86_400)}d`;
};

/** `4.2%`. */
export const formatPercent = (fraction: number): string => `${(fraction * 100).toFixed(fraction >= 0.1 ? 0 : 1)}%`;

/** `2.4` calls per second. */
export const formatRate = (perSecond: number): string => (perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1));

/** Cuts `text` to `width` columns (with `…`) and pads it to exactly `width`. */
export const fit = (text: string, width: number, align: "left" | "right" = "left"): string => {
  if (width <= 0) return "";
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === "right" ? cut.padStart(width) : cut.padEnd(width);
};

const BARS = "▂▃▄▅▆▇█";

/**
 * A sparkline of `values` (one character each): `▁` for zero, then seven heights scaled to the
 * largest value, so a single call in an idle minute is still visible.
 */
export const sparkline = (values: readonly number[]): string => {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  let line = "";
  for (const v of values) line += v <= 0 || max === 0 ? "▁" : BARS[Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1)];
  return line;
};

/**
 * Folds a per-second series into at most `columns` points, each covering `step` seconds (the
 * newest second last): how five minutes fit the terminal's width.
 */
export const foldSeries = (values: readonly number[], columns: number, combine: "mean" | "max" = "mean"): { points: number[]; step: number } => {
  const step = Math.max(1, Math.ceil(values.length / Math.max(1, columns)));
  const points: number[] = [];
  for (let end = values.length; end > 0 && points.length < columns; end -= step) {
    let acc = 0;
    const start = Math.max(0, end - step);
    for (let i = start; i < end; i++) acc = combine === "max" ? Math.max(acc, values[i]!) : acc + values[i]!;
    points.push(combine === "max" ? acc : acc / (end - start));
  }
  return { points: points.reverse(), step };
};

/** The color of a call status, the same on every tab. */
export const statusColor = (status: string): string | undefined =>
  status === "ok" ? "green" : status === "error" ? "red" : status === "refused" || status === "rate_limited" ? "yellow" : status === "timeout" ? "magenta" : status === "cancelled" ? "gray" : undefined;

/** Error rates above this fraction are highlighted. */
export const ERROR_RATE_ALERT = 0.05;
