import { LatencyHistogram } from "../metrics/latency-histogram.js";
import { DEFAULT_ROWS, MAX_TOOLS_PER_AGENT, sortedCounts } from "./dashboard-telemetry.js";
import type { DashboardAgentRow, DashboardLatency, DashboardSnapshot, DashboardToolRow } from "./telemetry-snapshot.js";

/** One snapshot to merge, and whether it describes a process that is running now. */
export interface SnapshotPart {
  snapshot: DashboardSnapshot;
  /**
   * False for the last snapshot of a process that stopped or restarted: its counts and history
   * still add up, but it has no open sessions and no current rate.
   */
  live: boolean;
}

/**
 * Merges the snapshots of several processes into one, the way the six tabs show a fleet: totals,
 * per-second series (aligned on their seconds) and error counts summed; tools merged by name and
 * agents by client id (the most recently active replica's protocol, tools and limits lead); the
 * request log and raw log lines merged by time. Agents and log lines are cut to a process's default
 * bound (200), or the longest input's length when that is more. Latency percentiles come from the
 * merged histograms when every part carries them (exact to the histogram's resolution); otherwise
 * they are the call-weighted mean of the parts' percentiles, an approximation.
 *
 * Pure: it reads its arguments only and returns a new object.
 *
 * @example
 * const fleet = mergeDashboardSnapshots([{ snapshot: a, live: true }, { snapshot: b, live: true }], Date.now());
 */
export function mergeDashboardSnapshots(parts: readonly SnapshotPart[], now: number): DashboardSnapshot {
  if (parts.length === 0) throw new RangeError("Cannot merge dashboard snapshots: there are none");
  const live = parts.filter((p) => p.live);
  // The processes running now, or (when none is) the last ones seen.
  const running = live.length > 0 ? live : parts;
  const current = running.reduce((a, b) => (b.snapshot.takenAt > a.snapshot.takenAt ? b : a)).snapshot;
  const all = parts.map((p) => p.snapshot);

  let calls = 0;
  let errors = 0;
  let callsPerSecond = 0;
  let connectedSessions = 0;
  for (const part of parts) {
    calls += part.snapshot.totals.calls;
    errors += part.snapshot.totals.errors;
    if (!part.live) continue;
    callsPerSecond += part.snapshot.callsPerSecond;
    connectedSessions += part.snapshot.connectedSessions;
  }
  const agents = mergeAgents(parts);
  let connectedClients = 0;
  for (const agent of agents) if (agent.connected > 0) connectedClients++;

  return {
    version: 1,
    server: { ...current.server },
    startedAt: Math.min(...running.map((p) => p.snapshot.startedAt)),
    takenAt: live.length > 0 ? current.takenAt : now,
    totals: { calls, errors },
    callsPerSecond,
    latency: mergeLatency(all.map((s) => ({ count: s.totals.calls, latency: s.latency }))),
    connectedSessions,
    // Exact per process; across processes, distinct client ids among the (bounded) agent rows.
    connectedClients: parts.length === 1 ? (parts[0]!.live ? parts[0]!.snapshot.connectedClients : 0) : connectedClients,
    tools: mergeTools(all),
    agents,
    requests: latest(all.map((s) => s.requests)),
    series: mergeSeries(all),
    errorsByType: mergeCounts(all.map((s) => s.errorsByType.map((e) => [e.type, e.count] as const))).map(([type, count]) => ({ type, count })),
    errorsByTool: mergeCounts(all.map((s) => s.errorsByTool.map((e) => [e.name, e.count] as const))).map(([name, count]) => ({ name, count })),
    rawLogs: latest(all.map((s) => s.rawLogs)),
  };
}

/** The exact merge when every part with calls has a histogram; else call-weighted means. */
function mergeLatency(parts: readonly { count: number; latency: DashboardLatency }[]): DashboardLatency {
  const counted = parts.filter((p) => p.count > 0);
  if (counted.every((p) => p.latency.histogram !== undefined)) {
    const histogram = new LatencyHistogram();
    for (const part of parts) if (part.latency.histogram) histogram.add(part.latency.histogram);
    const [p50, p90, p95, p99] = histogram.percentiles([0.5, 0.9, 0.95, 0.99]);
    return { p50: p50!, p90: p90!, p95: p95!, p99: p99!, max: histogram.max, avg: histogram.count > 0 ? histogram.sum / histogram.count : 0, histogram: histogram.toData() };
  }
  let total = 0;
  const sum = { p50: 0, p90: 0, p95: 0, p99: 0, avg: 0 };
  let max = 0;
  for (const { count, latency } of counted) {
    total += count;
    for (const key of ["p50", "p90", "p95", "p99", "avg"] as const) sum[key] += latency[key] * count;
    if (latency.max > max) max = latency.max;
  }
  const mean = (key: keyof typeof sum) => (total > 0 ? sum[key] / total : 0);
  return { p50: mean("p50"), p90: mean("p90"), p95: mean("p95"), p99: mean("p99"), max, avg: mean("avg") };
}

function mergeTools(snapshots: readonly DashboardSnapshot[]): DashboardToolRow[] {
  const byName = new Map<string, { row: DashboardToolRow; parts: { count: number; latency: DashboardLatency }[]; scopes: Set<string> }>();
  for (const snapshot of snapshots) {
    for (const tool of snapshot.tools) {
      let entry = byName.get(tool.name);
      if (!entry) {
        entry = { row: { name: tool.name, scopes: [], calls: 0, errors: 0, avgMs: 0, p95Ms: 0 }, parts: [], scopes: new Set() };
        byName.set(tool.name, entry);
      }
      entry.row.calls += tool.calls;
      entry.row.errors += tool.errors;
      for (const scope of tool.scopes) entry.scopes.add(scope);
      // Only the p95 and the mean matter for a tool; the other percentiles are filled to reuse the merge.
      const p = tool.p95Ms;
      entry.parts.push({ count: tool.calls, latency: { p50: p, p90: p, p95: p, p99: p, max: p, avg: tool.avgMs, ...(tool.histogram ? { histogram: tool.histogram } : {}) } });
    }
  }
  return [...byName.values()].map(({ row, parts, scopes }) => {
    const latency = mergeLatency(parts);
    const merged: DashboardToolRow = { ...row, scopes: [...scopes].sort(), avgMs: latency.avg, p95Ms: latency.p95 };
    if (latency.histogram) merged.histogram = latency.histogram;
    return merged;
  });
}

function mergeAgents(parts: readonly SnapshotPart[]): DashboardAgentRow[] {
  const byId = new Map<string, DashboardAgentRow>();
  let bound = DEFAULT_ROWS;
  for (const { snapshot, live } of parts) {
    bound = Math.max(bound, snapshot.agents.length);
    for (const agent of snapshot.agents) {
      const connected = live ? agent.connected : 0;
      const seen = byId.get(agent.clientId);
      if (!seen) {
        byId.set(agent.clientId, { ...agent, connected, toolsUsed: [...agent.toolsUsed] });
        continue;
      }
      const newer = agent.lastActive > seen.lastActive;
      seen.sessions += agent.sessions;
      seen.connected += connected;
      seen.requests += agent.requests;
      seen.errors += agent.errors;
      seen.rateLimited += agent.rateLimited;
      seen.firstSeen = Math.min(seen.firstSeen, agent.firstSeen);
      // Tools most recent first: the more recently active replica's list leads.
      seen.toolsUsed = [...new Set(newer ? [...agent.toolsUsed, ...seen.toolsUsed] : [...seen.toolsUsed, ...agent.toolsUsed])].slice(0, MAX_TOOLS_PER_AGENT);
      if (newer) {
        seen.lastActive = agent.lastActive;
        seen.protocolVersion = agent.protocolVersion;
        // Its standing as last counted: by the replica it called last, when that one counted it.
        if (agent.limits !== undefined) seen.limits = agent.limits;
      }
    }
  }
  return [...byId.values()].sort((a, b) => b.lastActive - a.lastActive).slice(0, bound);
}

/** The newest `at`-stamped rows of all lists, oldest first, at most the default bound or the longest list. */
function latest<Row extends { at: number }>(lists: readonly (readonly Row[])[]): Row[] {
  if (lists.length === 1) return [...lists[0]!];
  let bound = DEFAULT_ROWS;
  const rows: Row[] = [];
  for (const list of lists) {
    bound = Math.max(bound, list.length);
    rows.push(...list);
  }
  // Stable: rows of the same millisecond keep the order of their process's log.
  rows.sort((a, b) => a.at - b.at);
  return rows.slice(Math.max(0, rows.length - bound));
}

/** Sums per-second series on their seconds, ending at the newest part's last second. */
function mergeSeries(snapshots: readonly DashboardSnapshot[]): DashboardSnapshot["series"] {
  const endsAt = Math.max(...snapshots.map((s) => s.series.endsAt));
  const length = Math.max(...snapshots.map((s) => s.series.calls.length));
  const calls = new Array<number>(length).fill(0);
  const errors = new Array<number>(length).fill(0);
  const latencyMaxMs = new Array<number>(length).fill(0);
  for (const { series } of snapshots) {
    const shift = Math.round((endsAt - series.endsAt) / 1000);
    const n = series.calls.length;
    for (let k = 0; k < n; k++) {
      const target = length - n + k - shift;
      if (target < 0) continue;
      calls[target]! += series.calls[k]!;
      errors[target]! += series.errors[k]!;
      if (series.latencyMaxMs[k]! > latencyMaxMs[target]!) latencyMaxMs[target] = series.latencyMaxMs[k]!;
    }
  }
  return { endsAt, calls, errors, latencyMaxMs };
}

/** Sums counts by key, largest first (ties by key), as the snapshot lists them. */
function mergeCounts(lists: readonly (readonly (readonly [string, number])[])[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const list of lists) for (const [key, count] of list) counts.set(key, (counts.get(key) ?? 0) + count);
  return sortedCounts(counts);
}
