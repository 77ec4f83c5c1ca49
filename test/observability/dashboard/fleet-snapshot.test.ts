import type { DashboardSnapshot } from "lantern-mcp";
import { LatencyHistogram } from "../../../src/observability/metrics/latency-histogram.js";
import { FleetSnapshot } from "../../../src/observability/dashboard/fleet-snapshot.js";
import { mergeDashboardSnapshots } from "../../../src/observability/dashboard/merge-snapshots.js";

// Merging is internal to `lantern dashboard`, so these specs import it by path.

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const SECONDS = 300;

interface ReplicaCalls {
  startedAt?: number;
  takenAt?: number;
  replica?: string;
  /** Per tool: latencies of its calls, and how many of them failed. */
  tools: Record<string, { latencies: number[]; errors?: number }>;
  /** Client id, calls, last active, open sessions. */
  agents?: { clientId: string; requests: number; lastActive: number; connected?: number; toolsUsed?: string[]; protocolVersion?: string }[];
  /** `at` of each logged request (tool name "t"). */
  requestsAt?: number[];
  /** Calls per second, newest last (ending at takenAt). */
  recentCalls?: number[];
  callsPerSecond?: number;
  connectedSessions?: number;
  errorsByType?: Record<string, number>;
  histograms?: boolean;
}

/** A replica's snapshot whose numbers all follow from the calls given (histograms from a real LatencyHistogram). */
function replicaSnapshot(spec: ReplicaCalls): DashboardSnapshot {
  const takenAt = spec.takenAt ?? T0 + 60_000;
  const all = new LatencyHistogram();
  let errors = 0;
  const tools = Object.entries(spec.tools).map(([name, { latencies, errors: failed = 0 }]) => {
    const h = new LatencyHistogram();
    for (const ms of latencies) {
      h.record(ms);
      all.record(ms);
    }
    errors += failed;
    return { name, scopes: [], calls: h.count, errors: failed, avgMs: h.count ? h.sum / h.count : 0, p95Ms: h.percentiles([0.95])[0]!, ...(spec.histograms === false ? {} : { histogram: h.toData() }) };
  });
  const [p50, p90, p95, p99] = all.percentiles([0.5, 0.9, 0.95, 0.99]);
  const calls = new Array<number>(SECONDS).fill(0);
  const recent = spec.recentCalls ?? [];
  recent.forEach((c, i) => { calls[SECONDS - recent.length + i] = c; });
  return {
    version: 1,
    ...(spec.replica ? { replica: spec.replica } : {}),
    server: { name: "hr-api", version: "1.0.0", transport: "http" },
    startedAt: spec.startedAt ?? T0,
    takenAt,
    totals: { calls: all.count, errors },
    callsPerSecond: spec.callsPerSecond ?? 0,
    latency: { p50: p50!, p90: p90!, p95: p95!, p99: p99!, max: all.max, avg: all.count ? all.sum / all.count : 0, ...(spec.histograms === false ? {} : { histogram: all.toData() }) },
    connectedSessions: spec.connectedSessions ?? 0,
    connectedClients: (spec.agents ?? []).filter((a) => (a.connected ?? 0) > 0).length,
    tools,
    agents: (spec.agents ?? []).map((a) => ({ clientId: a.clientId, sessions: a.connected ?? 0, connected: a.connected ?? 0, protocolVersion: a.protocolVersion ?? "2025-11-25", requests: a.requests, errors: 0, rateLimited: 0, toolsUsed: a.toolsUsed ?? [], firstSeen: T0, lastActive: a.lastActive })),
    requests: (spec.requestsAt ?? []).map((at) => ({ at, kind: "tool", name: "t", clientId: `c${at}`, status: "ok", durationMs: 1 })),
    series: { endsAt: Math.floor(takenAt / 1000) * 1000, calls, errors: calls.map(() => 0), latencyMaxMs: calls.map(() => 0) },
    errorsByType: Object.entries(spec.errorsByType ?? {}).map(([type, count]) => ({ type, count })),
    errorsByTool: [],
    rawLogs: (spec.requestsAt ?? []).map((at) => ({ at, source: "stderr", level: "info" as const, text: `line ${at}` })),
  };
}

const live = (snapshot: DashboardSnapshot) => ({ snapshot, live: true });
const range = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe("mergeDashboardSnapshots", () => {
  test("sums totals, rates, sessions, tools by name and error counts by type", () => {
    const a = replicaSnapshot({ tools: { search: { latencies: [1, 2, 3], errors: 1 }, create: { latencies: [10] } }, callsPerSecond: 1.5, connectedSessions: 2, errorsByType: { tool_error: 1 } });
    const b = replicaSnapshot({ tools: { search: { latencies: [4, 5] }, create: { latencies: [20, 30], errors: 2 } }, callsPerSecond: 2, connectedSessions: 1, errorsByType: { tool_error: 1, "-32602": 1 } });
    const fleet = mergeDashboardSnapshots([live(a), live(b)], T0 + 60_000);
    expect(fleet.totals).toEqual({ calls: 8, errors: 3 });
    expect(fleet.callsPerSecond).toBe(3.5);
    expect(fleet.connectedSessions).toBe(3);
    expect(fleet.tools.map((t) => [t.name, t.calls, t.errors])).toEqual([["search", 5, 1], ["create", 3, 2]]);
    expect(fleet.tools[0]!.avgMs).toBeCloseTo(3, 10);
    expect(fleet.errorsByType).toEqual([{ type: "tool_error", count: 2 }, { type: "-32602", count: 1 }]);
  });

  test("percentiles come from the merged histograms: the same as one histogram of every call", () => {
    // Two replicas with very different latencies: averaging their p95s would say ~50 ms.
    const fast = range(1, 95).map((i) => i / 100);
    const slow = range(100, 104);
    const a = replicaSnapshot({ tools: { t: { latencies: fast } } });
    const b = replicaSnapshot({ tools: { t: { latencies: slow } } });
    const together = new LatencyHistogram();
    for (const ms of [...fast, ...slow]) together.record(ms);
    const [p50, p95, p99] = together.percentiles([0.5, 0.95, 0.99]);
    const fleet = mergeDashboardSnapshots([live(a), live(b)], T0);
    expect(fleet.latency).toMatchObject({ p50, p95, p99, max: 104 });
    expect(fleet.latency.avg).toBeCloseTo(together.sum / together.count, 10);
    expect(fleet.tools[0]!.p95Ms).toBe(p95);
    expect(fleet.latency.p95).toBeLessThan(1);
  });

  test("without histograms (an older server), percentiles are the call-weighted mean", () => {
    const a = replicaSnapshot({ tools: { t: { latencies: [1, 1, 1] } }, histograms: false });
    const b = replicaSnapshot({ tools: { t: { latencies: [9] } }, histograms: false });
    const fleet = mergeDashboardSnapshots([live(a), live(b)], T0);
    expect(fleet.latency.histogram).toBeUndefined();
    expect(fleet.latency.p95).toBeCloseTo((3 * a.latency.p95 + b.latency.p95) / 4, 10);
    expect(fleet.latency.max).toBe(b.latency.max);
  });

  test("request and raw log lines merge by time, the newest kept: 200 (a process's default), or the longest log when longer", () => {
    const a = replicaSnapshot({ tools: {}, requestsAt: [T0 + 1, T0 + 4] });
    const b = replicaSnapshot({ tools: {}, requestsAt: [T0 + 2, T0 + 3] });
    let fleet = mergeDashboardSnapshots([live(a), live(b)], T0);
    expect(fleet.requests.map((r) => r.at - T0)).toEqual([1, 2, 3, 4]);
    expect(fleet.rawLogs.map((l) => l.text)).toEqual([1, 2, 3, 4].map((k) => `line ${T0 + k}`));
    // Two full logs of 150 (odd and even milliseconds): the newest 200 of the 300.
    const odd = replicaSnapshot({ tools: {}, requestsAt: range(1, 299, 2).map((k) => T0 + k) });
    const even = replicaSnapshot({ tools: {}, requestsAt: range(2, 300, 2).map((k) => T0 + k) });
    fleet = mergeDashboardSnapshots([live(odd), live(even)], T0);
    expect(fleet.requests.map((r) => r.at - T0)).toEqual(range(101, 300));
    const long = replicaSnapshot({ tools: {}, requestsAt: range(1, 250).map((k) => T0 + k) });
    fleet = mergeDashboardSnapshots([live(long), live(b)], T0);
    // 252 rows, the longest log holds 250: the 2 oldest go.
    expect(fleet.requests.map((r) => r.at - T0)).toEqual([2, 3, 3, ...range(4, 250)]);
  });

  test("per-second series add up on their own seconds, even when the snapshots were taken at different times", () => {
    const a = replicaSnapshot({ tools: {}, takenAt: T0 + 10_000, recentCalls: [1, 2, 3] });
    // Taken 2 s earlier: its last second is the fleet's third-last one.
    const b = replicaSnapshot({ tools: {}, takenAt: T0 + 8_000, recentCalls: [10, 20] });
    const fleet = mergeDashboardSnapshots([live(a), live(b)], T0 + 10_000);
    expect(fleet.series.endsAt).toBe(T0 + 10_000);
    expect(fleet.series.calls.slice(-5)).toEqual([0, 10, 21, 2, 3]);
  });

  test("agents merge by client id: counts summed, the most recently active replica's protocol and tools lead", () => {
    const a = replicaSnapshot({ tools: {}, agents: [{ clientId: "cursor", requests: 3, lastActive: T0 + 5, connected: 1, toolsUsed: ["a", "b"], protocolVersion: "2025-06-18" }, { clientId: "zed", requests: 1, lastActive: T0 + 1 }] });
    const b = replicaSnapshot({ tools: {}, agents: [{ clientId: "cursor", requests: 4, lastActive: T0 + 9, connected: 1, toolsUsed: ["c", "a"], protocolVersion: "2026-07-28" }] });
    const fleet = mergeDashboardSnapshots([live(a), live(b)], T0);
    expect(fleet.agents.map((x) => [x.clientId, x.requests, x.connected, x.lastActive, x.protocolVersion, x.toolsUsed])).toEqual([
      ["cursor", 7, 2, T0 + 9, "2026-07-28", ["c", "a", "b"]],
      ["zed", 1, 0, T0 + 1, "2025-11-25", []],
    ]);
    expect(fleet.connectedClients).toBe(1);
  });

  test("a client's limits in the merged row are those the most recently active replica counted", () => {
    const limit = (used: number) => [{ limit: "requests", points: 10, windowMs: 60_000, used, resetsAt: T0 + 60_000, refused: 0 }];
    const older = replicaSnapshot({ tools: {}, agents: [{ clientId: "cursor", requests: 3, lastActive: T0 + 5 }] });
    const newer = replicaSnapshot({ tools: {}, agents: [{ clientId: "cursor", requests: 4, lastActive: T0 + 9 }] });
    const quiet = replicaSnapshot({ tools: {}, agents: [{ clientId: "cursor", requests: 1, lastActive: T0 + 12 }] });
    older.agents[0]!.limits = limit(3);
    newer.agents[0]!.limits = limit(7);
    expect(mergeDashboardSnapshots([live(older), live(newer)], T0).agents[0]!.limits).toEqual(limit(7));
    expect(mergeDashboardSnapshots([live(newer), live(older)], T0).agents[0]!.limits).toEqual(limit(7));
    // A replica that did not count it recently leaves the last standing seen.
    expect(mergeDashboardSnapshots([live(older), live(newer), live(quiet)], T0).agents[0]!.limits).toEqual(limit(7));
  });

  test("a part that is not live adds its counts but no sessions, rate or connections", () => {
    const a = replicaSnapshot({ tools: { t: { latencies: [1] } }, callsPerSecond: 1, connectedSessions: 1 });
    const gone = replicaSnapshot({ tools: { t: { latencies: [2, 3] } }, callsPerSecond: 5, connectedSessions: 4, agents: [{ clientId: "x", requests: 2, lastActive: T0, connected: 4 }] });
    const fleet = mergeDashboardSnapshots([live(a), { snapshot: gone, live: false }], T0);
    expect(fleet.totals.calls).toBe(3);
    expect(fleet.callsPerSecond).toBe(1);
    expect(fleet.connectedSessions).toBe(1);
    expect(fleet.agents[0]).toMatchObject({ clientId: "x", requests: 2, connected: 0 });
  });

  test("histograms that cannot come from this Lantern are refused, not merged wrongly", () => {
    const a = replicaSnapshot({ tools: { t: { latencies: [1] } } });
    a.latency.histogram = { count: 1, sum: 1, min: 1, max: 1, buckets: [[100_000, 1]] };
    expect(() => mergeDashboardSnapshots([live(a), live(a)], T0)).toThrow(/bucket \[100000, 1\] is not a bucket index/);
  });
});

describe("FleetSnapshot", () => {
  const A = "http://127.0.0.1:4501";
  const B = "http://127.0.0.1:4502";
  const C = "http://127.0.0.1:4503";

  test("rows follow the order given, named by replica id or host:port, with calls, errors and p95 of each", () => {
    const fleet = new FleetSnapshot([A, B, C]);
    fleet.record(C, replicaSnapshot({ tools: { t: { latencies: [5, 6], errors: 1 } }, replica: "hr-c", requestsAt: [T0 + 2] }), T0);
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [1, 2, 3] } }, requestsAt: [T0 + 1, T0 + 3] }), T0);
    fleet.recordFailure(B, "unreachable (ECONNREFUSED)", T0, false);
    const snapshot = fleet.snapshot(T0);
    expect(snapshot.totals).toEqual({ calls: 5, errors: 1 });
    expect(snapshot.server.endpoint).toBe("2 of 3 replicas up");
    expect(snapshot.fleet!.map((r) => [r.name, r.state, r.calls, r.errors, r.lastSeen, r.problem])).toEqual([
      ["127.0.0.1:4501", "up", 3, 0, T0, undefined],
      ["127.0.0.1:4502", "down", 0, 0, undefined, "unreachable (ECONNREFUSED)"],
      ["hr-c", "up", 2, 1, T0, undefined],
    ]);
    // Each call and output line names the replica it came from.
    expect(snapshot.requests.map((r) => [r.at - T0, r.replica])).toEqual([[1, "127.0.0.1:4501"], [2, "hr-c"], [3, "127.0.0.1:4501"]]);
    expect(snapshot.rawLogs.map((l) => l.replica)).toEqual(["127.0.0.1:4501", "hr-c", "127.0.0.1:4501"]);
    expect(snapshot.fleet![2]!.p95Ms).toBe(replicaSnapshot({ tools: { t: { latencies: [5, 6] } } }).latency.p95);
  });

  test("a replica that goes down keeps its last counts in the totals and shows as down", () => {
    const fleet = new FleetSnapshot([A, B]);
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [1, 1] } }, connectedSessions: 2, callsPerSecond: 2 }), T0);
    fleet.record(B, replicaSnapshot({ tools: { t: { latencies: [1, 1, 1] } }, connectedSessions: 1, callsPerSecond: 3 }), T0);
    fleet.recordFailure(B, "unreachable (ECONNREFUSED)", T0 + 1_000, false);
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [1, 1, 1, 1] } }, connectedSessions: 2, callsPerSecond: 2 }), T0 + 1_000);
    const snapshot = fleet.snapshot(T0 + 1_000);
    expect(snapshot.totals.calls).toBe(7);
    expect(snapshot.connectedSessions).toBe(2);
    expect(snapshot.callsPerSecond).toBe(2);
    expect(snapshot.fleet!.map((r) => [r.state, r.calls, r.lastSeen])).toEqual([["up", 4, T0 + 1_000], ["down", 3, T0]]);
  });

  test("a timed-out poll makes a replica late, then down once it has not answered for downAfterMs", () => {
    const fleet = new FleetSnapshot([A], 2_000);
    fleet.record(A, replicaSnapshot({ tools: {} }), T0);
    fleet.recordFailure(A, "no answer within 200 ms", T0 + 500, true);
    expect(fleet.snapshot(T0 + 500).fleet![0]).toMatchObject({ state: "late", problem: "no answer within 200 ms" });
    fleet.recordFailure(A, "no answer within 200 ms", T0 + 2_000, true);
    expect(fleet.snapshot(T0 + 2_000).fleet![0]!.state).toBe("down");
  });

  test("a restart (new startedAt) does not make the totals go back nor count a call twice", () => {
    const fleet = new FleetSnapshot([A, B]);
    fleet.record(B, replicaSnapshot({ tools: { t: { latencies: [1] } } }), T0);
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [1, 2, 3, 4, 5] } }, startedAt: T0 }), T0);
    // The same process polled again: no change, nothing added twice.
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [1, 2, 3, 4, 5] } }, startedAt: T0 }), T0 + 250);
    expect(fleet.snapshot(T0 + 250).totals.calls).toBe(6);
    fleet.recordFailure(A, "unreachable (ECONNREFUSED)", T0 + 500, false);
    expect(fleet.snapshot(T0 + 500).totals.calls).toBe(6);
    // Back with fresh counters: 2 new calls.
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [100, 200] } }, startedAt: T0 + 600 }), T0 + 750);
    const snapshot = fleet.snapshot(T0 + 750);
    expect(snapshot.totals.calls).toBe(8);
    expect(snapshot.tools[0]!.calls).toBe(8);
    expect(snapshot.latency.max).toBe(200);
    expect(snapshot.fleet![0]).toMatchObject({ state: "up", calls: 7, restarts: 1 });
    expect(snapshot.server.endpoint).toBe("2 of 2 replicas up");
    // A second restart found only by the count going back (same startedAt is not to be trusted).
    fleet.record(A, replicaSnapshot({ tools: { t: { latencies: [7] } }, startedAt: T0 + 600 }), T0 + 1_000);
    expect(fleet.snapshot(T0 + 1_000).fleet![0]).toMatchObject({ calls: 8, restarts: 2 });
  });

  test("until one replica answers, reading says why each failed; a replica listed twice is refused", () => {
    const fleet = new FleetSnapshot([A, B]);
    fleet.recordFailure(A, "token refused", T0, false);
    fleet.recordFailure(B, "unreachable (ECONNREFUSED)", T0, false);
    expect(() => fleet.snapshot(T0)).toThrow(`No replica answered yet: ${A} token refused; ${B} unreachable (ECONNREFUSED)`);
    expect(() => new FleetSnapshot([A, B, A])).toThrow(`The fleet lists ${A} twice`);
    expect(() => fleet.record(C, replicaSnapshot({ tools: {} }), T0)).toThrow(`${C} is not a replica of this fleet`);
  });
});
