import type { CallStatus } from "../../core/errors.js";

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
}

/** A registered tool and how it has been called. */
export interface DashboardToolRow {
  name: string;
  scopes: readonly string[];
  calls: number;
  errors: number;
  avgMs: number;
  p95Ms: number;
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
}
