import type { DashboardSnapshot } from "../telemetry-snapshot.js";

/** What every tab gets: the telemetry and the space it may draw in. */
export interface TabProps {
  snapshot: DashboardSnapshot;
  /** Terminal columns available. */
  width: number;
  /** Lines available for the tab's body. */
  height: number;
  /** Lines scrolled back from the newest (Logs and Raw Logs). */
  scroll: number;
}
