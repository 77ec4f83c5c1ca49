import type { CallStatus } from "../../core/errors.js";
import type { LatencyHistogramData } from "../metrics/latency-histogram.js";

/** One line of the request log. */
export interface DashboardRequest {
  /** `Date.now()` when the call ended. */
  at: number;
  kind: "tool" | "resource" | "prompt";
  /** Tool or prompt name, or the resource URI. */
  name: string;
  clientId: string;
  status: CallStatus;
  durationMs: number;
  /** `errorType: message` (never argument values), when the call did not succeed. */
  error?: string;
  /** The replica that served it, in a fleet's merged snapshot. */
  replica?: string;
}

/** A registered tool and how it has been called. */
export interface DashboardToolRow {
  name: string;
  scopes: readonly string[];
  calls: number;
  errors: number;
  avgMs: number;
  p95Ms: number;
  /** The tool's latency histogram, when the snapshot was asked for histograms (a fleet view merges them). */
  histogram?: LatencyHistogramData;
}

/** One limit as a client has used it, as last counted by the server that took the snapshot. */
export interface DashboardAgentLimit {
  /** `quota:role:free`, `tool:search`, `requests`. */
  limit: string;
  points: number;
  windowMs: number;
  /** Points used in the current window (0 once it has ended). */
  used: number;
  /** `Date.now()`-based time the window refills. */
  resetsAt: number;
  /** Calls of this client the limit refused. */
  refused: number;
}

/** One client id and what it has done. */
export interface DashboardAgentRow {
  clientId: string;
  /** Distinct sessions seen for this client. */
  sessions: number;
  /** Sessions of this client open right now. */
  connected: number;
  /** The MCP protocol version of its latest call (`-` when unknown). */
  protocolVersion: string;
  requests: number;
  errors: number;
  /** Of its errors, calls a rate limit, quota or concurrency cap refused. */
  rateLimited: number;
  /** Tool names it called, most recent first. */
  toolsUsed: string[];
  /**
   * Its use of the limits it met, tightest first (the largest share used; at most 4). Absent when
   * the server has no limits or none counted this client recently. Self-contained: a row from
   * another replica carries its own.
   */
  limits?: DashboardAgentLimit[];
  firstSeen: number;
  lastActive: number;
}

/** One captured line of the server's own output (console, winston, stderr). */
export interface DashboardLogLine {
  at: number;
  /** `console.warn`, `stdout`, `stderr`, ... */
  source: string;
  level: "debug" | "info" | "warn" | "error";
  text: string;
  /** The replica that wrote it, in a fleet's merged snapshot. */
  replica?: string;
}

/** Per-second series, oldest first, the last element being the current second. */
export interface DashboardSeries {
  /** `Date.now()`-based second (ms) of the last element. */
  endsAt: number;
  calls: number[];
  errors: number[];
  latencyMaxMs: number[];
}

/** Latency percentiles over every call since the dashboard attached, ms. */
export interface DashboardLatency {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  avg: number;
  /** The histogram behind these numbers, when the snapshot was asked for histograms (a fleet view merges them). */
  histogram?: LatencyHistogramData;
}

/** One replica of a fleet watched by `lantern dashboard --url A --url B …` (the Overview's breakdown). */
export interface DashboardReplicaRow {
  /** The replica id its telemetry carries, else the endpoint's `host:port`. */
  name: string;
  /** The attach endpoint polled. */
  url: string;
  /**
   * `up`: its last poll answered; `late`: its last poll timed out but it answered recently; `down`:
   * unreachable (its last known counts stay in the fleet's totals, marked stale).
   */
  state: "up" | "late" | "down";
  /** Every call it served since the dashboard first saw it, across its restarts. */
  calls: number;
  errors: number;
  p95Ms: number;
  /** `Date.now()` of its last answer; absent when it never answered. */
  lastSeen?: number;
  /** Process restarts seen (its counters started again; the fleet's totals carried on). */
  restarts: number;
  /** Why it is late or down. */
  problem?: string;
}

/**
 * Everything the six tabs show, as plain JSON: what `DashboardTelemetry.snapshot()` returns in
 * process and what the attach endpoint serves to `lantern dashboard`.
 *
 * @example
 * const snapshot: DashboardSnapshot = telemetry.snapshot();
 * console.log(snapshot.totals.calls, snapshot.latency.p95);
 */
export interface DashboardSnapshot {
  /** Format version of this object, for `lantern dashboard` talking to another Lantern version. */
  version: 1;
  /** The replica id of the process, when it has one (a fleet view names the replica with it). */
  replica?: string;
  server: { name: string; version: string; transport?: string; endpoint?: string };
  /** When the telemetry started (uptime is measured from here). */
  startedAt: number;
  takenAt: number;
  totals: { calls: number; errors: number };
  /** Mean calls per second over the last 10 seconds. */
  callsPerSecond: number;
  latency: DashboardLatency;
  /** Sessions open right now. */
  connectedSessions: number;
  /** Distinct client ids among the open sessions. */
  connectedClients: number;
  tools: DashboardToolRow[];
  agents: DashboardAgentRow[];
  /** The most recent calls, oldest first. */
  requests: DashboardRequest[];
  series: DashboardSeries;
  errorsByType: { type: string; count: number }[];
  errorsByTool: { name: string; count: number }[];
  /** The most recent captured output lines, oldest first. */
  rawLogs: DashboardLogLine[];
  /** Set on a fleet's merged snapshot: one row per replica, in the order they were given. */
  fleet?: DashboardReplicaRow[];
}
