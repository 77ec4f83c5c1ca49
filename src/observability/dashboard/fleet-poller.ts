import type { TelemetrySource } from "./components/dashboard-app.js";
import { DashboardAttachError, fetchDashboardSnapshot } from "./dashboard-endpoint.js";
import { FleetSnapshot } from "./fleet-snapshot.js";
import type { DashboardSnapshot } from "./telemetry-snapshot.js";

/** How a {@link FleetPoller} polls. */
export interface FleetPollerTiming {
  /** The dashboard's refresh period, ms: each replica's request gets 80% of it before it counts as timed out. */
  refreshMs: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Polls every replica's attach endpoint at once and reads the fleet as one snapshot (what
 * `lantern dashboard --url A --url B …` draws). Each request is cut off before the next refresh is
 * due, so one slow or dead replica never holds up the next read.
 *
 * @example
 * const poller = new FleetPoller(["http://127.0.0.1:4501", "http://127.0.0.1:4502"], token, { refreshMs: 250 });
 * const snapshot = await poller.read(); // snapshot.fleet: one row per replica
 */
export class FleetPoller implements TelemetrySource {
  readonly label: string;
  private readonly fleet: FleetSnapshot;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly urls: readonly string[],
    private readonly token: string,
    timing: FleetPollerTiming,
  ) {
    this.timeoutMs = Math.max(1, Math.floor(timing.refreshMs * 0.8));
    this.now = timing.now ?? Date.now;
    // A replica that answered within the last few refreshes is only late when one request times out.
    this.fleet = new FleetSnapshot(urls, Math.max(2_000, 4 * timing.refreshMs));
    this.label = `attached to ${urls.length} replicas`;
  }

  /** Polls every replica and returns the merged fleet. */
  async read(): Promise<DashboardSnapshot> {
    await Promise.all(this.urls.map((url) => this.poll(url)));
    return this.fleet.snapshot(this.now());
  }

  private poll(url: string): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    return fetchDashboardSnapshot(url, this.token, signal).then(
      (snapshot) => this.fleet.record(url, snapshot, this.now()),
      (error: unknown) => {
        const timedOut = signal.aborted;
        const problem = timedOut ? `no answer within ${this.timeoutMs} ms` : error instanceof DashboardAttachError ? error.summary : error instanceof Error ? error.message : String(error);
        this.fleet.recordFailure(url, problem, this.now(), timedOut);
      },
    );
  }
}
