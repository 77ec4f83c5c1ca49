import { mergeDashboardSnapshots, type SnapshotPart } from "./merge-snapshots.js";
import type { DashboardReplicaRow, DashboardSnapshot } from "./telemetry-snapshot.js";

interface ReplicaState {
  url: string;
  /** `host:port` of the endpoint: the name until the telemetry carries a replica id. */
  address: string;
  /** The latest snapshot of the process running now (or last seen), its lines tagged with its name. */
  current: DashboardSnapshot | undefined;
  /** Everything earlier processes at this address served, merged: what a restart must not lose. */
  retired: DashboardSnapshot | undefined;
  restarts: number;
  lastSeen: number | undefined;
  state: DashboardReplicaRow["state"];
  problem: string | undefined;
}

/**
 * What `lantern dashboard` knows of a fleet, fed with each replica's poll results, read as one
 * {@link DashboardSnapshot} with a per-replica breakdown (`fleet`).
 *
 * - A replica that stops answering is `down`; its last known counts stay in the fleet's totals (the
 *   calls did happen) and its row says how long ago it was seen. A poll that only timed out makes it
 *   `late` until `downAfterMs` have passed since its last answer.
 * - A restart (a snapshot whose `startedAt` or replica id differs, or whose call count went back)
 *   retires the old process's counts into the replica's history, so the fleet's totals never go
 *   backwards and nothing is counted twice.
 *
 * Pure: no I/O and no clock of its own (the caller passes `now`).
 *
 * @example
 * const fleet = new FleetSnapshot(["http://127.0.0.1:4501", "http://127.0.0.1:4502"]);
 * fleet.record("http://127.0.0.1:4501", snapshotA, Date.now());
 * fleet.recordFailure("http://127.0.0.1:4502", "unreachable (ECONNREFUSED)", Date.now(), false);
 * fleet.snapshot(Date.now()).fleet; // [{ state: "up", … }, { state: "down", … }]
 */
export class FleetSnapshot {
  private readonly replicas = new Map<string, ReplicaState>();

  constructor(
    urls: readonly string[],
    private readonly downAfterMs = 2_000,
  ) {
    for (const url of urls) {
      if (this.replicas.has(url)) throw new RangeError(`The fleet lists ${url} twice; give each replica's endpoint once`);
      const parsed = new URL(url);
      this.replicas.set(url, { url, address: parsed.host, current: undefined, retired: undefined, restarts: 0, lastSeen: undefined, state: "down", problem: "not polled yet" });
    }
  }

  /** Records a snapshot a replica answered. */
  record(url: string, snapshot: DashboardSnapshot, now: number): void {
    const replica = this.replicaOf(url);
    const previous = replica.current;
    if (previous && restarted(previous, snapshot)) {
      replica.retired = mergeDashboardSnapshots(replica.retired ? [retiredPart(replica.retired), retiredPart(previous)] : [retiredPart(previous)], now);
      replica.restarts++;
    }
    // Tagged once here, not on every read: a retired process's lines keep the name it answered with.
    replica.current = taggedWith(snapshot.replica ?? replica.address, snapshot);
    replica.lastSeen = now;
    replica.state = "up";
    replica.problem = undefined;
  }

  /** Records a poll that failed: `timedOut` when the replica was reached but did not answer in time. */
  recordFailure(url: string, problem: string, now: number, timedOut: boolean): void {
    const replica = this.replicaOf(url);
    const recent = replica.lastSeen !== undefined && now - replica.lastSeen < this.downAfterMs;
    replica.state = timedOut && recent ? "late" : "down";
    replica.problem = problem;
  }

  /**
   * The fleet as one snapshot, with one `fleet` row per replica in the order given. Throws while no
   * replica has ever answered (the message lists why each failed).
   */
  snapshot(now: number): DashboardSnapshot {
    const parts: SnapshotPart[] = [];
    const rows: DashboardReplicaRow[] = [];
    let up = 0;
    for (const replica of this.replicas.values()) {
      const { current, retired } = replica;
      if (replica.state !== "down") up++;
      if (!current) {
        rows.push({ name: replica.address, url: replica.url, state: replica.state, calls: 0, errors: 0, p95Ms: 0, restarts: 0, ...(replica.problem ? { problem: replica.problem } : {}) });
        continue;
      }
      const running: SnapshotPart = { snapshot: current, live: replica.state !== "down" };
      const own = retired ? [retiredPart(retired), running] : [running];
      const total = own.length === 1 ? current : mergeDashboardSnapshots(own, now);
      const name = current.replica ?? replica.address;
      const row: DashboardReplicaRow = {
        name,
        url: replica.url,
        state: replica.state,
        calls: total.totals.calls,
        errors: total.totals.errors,
        p95Ms: total.latency.p95,
        restarts: replica.restarts,
      };
      if (replica.lastSeen !== undefined) row.lastSeen = replica.lastSeen;
      if (replica.problem !== undefined) row.problem = replica.problem;
      rows.push(row);
      parts.push(...own);
    }
    if (parts.length === 0) {
      throw new Error(`No replica answered yet: ${rows.map((r) => `${r.url} ${r.problem ?? "no answer"}`).join("; ")}`);
    }
    const merged = mergeDashboardSnapshots(parts, now);
    merged.server.endpoint = `${up} of ${rows.length} replicas up`;
    merged.fleet = rows;
    return merged;
  }

  private replicaOf(url: string): ReplicaState {
    const replica = this.replicas.get(url);
    if (!replica) throw new RangeError(`${url} is not a replica of this fleet`);
    return replica;
  }
}

/** The snapshot with its request and output lines naming the replica (the Logs tabs show it). */
const taggedWith = (replica: string, snapshot: DashboardSnapshot): DashboardSnapshot => ({
  ...snapshot,
  requests: snapshot.requests.map((r) => (r.replica === undefined ? { ...r, replica } : r)),
  rawLogs: snapshot.rawLogs.map((l) => (l.replica === undefined ? { ...l, replica } : l)),
});

const retiredPart = (snapshot: DashboardSnapshot): SnapshotPart => ({ snapshot, live: false });

/** Another process answered at the same address: its counters started from zero. */
const restarted = (previous: DashboardSnapshot, next: DashboardSnapshot): boolean =>
  next.startedAt !== previous.startedAt || next.replica !== previous.replica || next.totals.calls < previous.totals.calls;
