import type { CallContext, SessionInfo } from "../../core/call-context.js";
import type { CallStatus } from "../../core/errors.js";
import { callOutcome } from "../../core/outcome.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import type { CallerLimitUsage, ServerSetup, SessionEvent, ToolLimiter } from "../../core/server-setup.js";
import { LatencyHistogram, type LatencyHistogramData } from "../metrics/latency-histogram.js";
import type { DashboardAgentLimit, DashboardAgentRow, DashboardLogLine, DashboardRequest, DashboardSnapshot } from "./telemetry-snapshot.js";

/** The server a dashboard watches: the `ServerSetup` hooks it reads (an `McpServer` has them all). */
export type DashboardServer = Pick<ServerSetup, "info" | "tools" | "observeCalls" | "onSession" | "onShutdown"> & {
  /** Set when an authenticator settles client ids (then a session's client name is not its id). */
  readonly authenticator?: unknown;
  /** Set when the server counts limits: each client's use of them (the Agents tab's LIMIT column). */
  readonly limiter?: Pick<ToolLimiter, "callerKey" | "usageFor">;
  /** The process's replica id (a fleet's dashboard names the replica with it). */
  readonly replicaId?: string;
};

/** Bounds of {@link DashboardTelemetry}; every buffer it keeps has one. */
export interface DashboardTelemetryOptions {
  /** Calls kept for the request log. Default 200. */
  requestLogSize?: number;
  /** Output lines kept for the Raw Logs tab. Default 200. */
  rawLogSize?: number;
  /** Seconds of per-second history for the sparklines. Default 300 (5 minutes). */
  historySeconds?: number;
  /** Client ids tracked; the least recently active is forgotten past it. Default 200. */
  maxAgents?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** The rules of {@link DashboardTelemetryOptions}. */
const DASHBOARD_TELEMETRY_OPTIONS = defineOptions<DashboardTelemetryOptions>("DashboardTelemetry options", {
  requestLogSize: option.integer({ min: 1, max: 100_000 }),
  rawLogSize: option.integer({ min: 1, max: 100_000 }),
  historySeconds: option.integer({ min: 10, max: 86_400, unit: "seconds" }),
  maxAgents: option.integer({ min: 1, max: 100_000 }),
  now: option.function("a clock function () => ms"),
});

/** Limits of one {@link DashboardTelemetry.snapshot}. */
export interface DashboardSnapshotLimits {
  /** Most recent calls included. Default: all those kept (`requestLogSize`). */
  requests?: number;
  /** Most recent raw log lines included. Default: all those kept (`rawLogSize`). */
  rawLogs?: number;
  /**
   * Include the latency histograms (overall and per tool) so that snapshots of several processes
   * can be merged exactly, as `lantern dashboard` does for a fleet. Default false.
   */
  histograms?: boolean;
}

/** The rules of {@link DashboardSnapshotLimits}. */
const SNAPSHOT_LIMITS = defineOptions<DashboardSnapshotLimits>("DashboardTelemetry.snapshot limits", {
  requests: option.integer({ min: 0 }),
  rawLogs: option.integer({ min: 0 }),
  histograms: option.boolean(),
});

interface ToolStats {
  errors: number;
  latency: LatencyHistogram;
}

interface AgentStats {
  clientId: string;
  sessionKeys: Set<number>;
  sessionsSeen: number;
  /** The protocol version of its latest call. */
  protocolVersion: string | undefined;
  requests: number;
  errors: number;
  rateLimited: number;
  /** Most recent last; bounded by MAX_TOOLS_PER_AGENT. */
  toolsUsed: string[];
  firstSeen: number;
  lastActive: number;
  /** The key its latest call was counted under by the server's limits. */
  limitKey: string | undefined;
}

interface OpenSession {
  key: number;
  /** The client id its calls carried (else its initialize name). */
  clientId: string;
}

/** Tool names kept per client id (a fleet's merged rows keep as many). */
export const MAX_TOOLS_PER_AGENT = 32;
/** The default bound of the request log, the raw log and the client ids (a fleet's merge keeps at least as many). */
export const DEFAULT_ROWS = 200;
const MAX_LIMITS_PER_AGENT = 4;
const MAX_SESSION_KEYS_PER_AGENT = 64;
const MAX_ERROR_KEYS = 200;
const MAX_OPEN_SESSIONS = 10_000;
const MAX_ERROR_TEXT = 200;
const MAX_RAW_LINE = 2_000;
const RATE_WINDOW_SECONDS = 10;

const registries = new WeakMap<object, DashboardTelemetry>();

const messageOf = (error: unknown): string => {
  const text = error instanceof Error ? error.message : typeof error === "string" ? error : "";
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text;
};

/**
 * The dashboard's bounded, in-process telemetry: fed by `server.observeCalls` (so it can attach to a
 * server that is already listening), session events and captured output. Recording a call only
 * updates counters and fixed-size buffers; the tabs read a {@link DashboardSnapshot} at most 4×/s.
 *
 * Self-contained on purpose: it does not depend on `MetricsCollector`, so the dashboard works on a
 * server with no metrics middleware.
 *
 * @example
 * const telemetry = DashboardTelemetry.for(server);
 * const detach = telemetry.attach();
 * // ... calls happen ...
 * telemetry.snapshot().totals.calls;
 * detach();
 */
export class DashboardTelemetry {
  readonly startedAt: number;
  private readonly now: () => number;
  private readonly requestLogSize: number;
  private readonly rawLogSize: number;
  private readonly historySeconds: number;
  private readonly maxAgents: number;

  private errors = 0;
  private readonly latency = new LatencyHistogram();
  private readonly toolStats = new Map<string, ToolStats>();
  /** Insertion order is recency order: the first entry is the least recently active. */
  private readonly agents = new Map<string, AgentStats>();
  /** The last entry of `agents` (the most recently active), or undefined before the first. */
  private lastAgent: AgentStats | undefined;
  private readonly errorsByType = new Map<string, number>();
  private readonly errorsByName = new Map<string, number>();

  // The request log is columnar so that recording a call allocates nothing.
  private readonly reqAt: Float64Array;
  private readonly reqDuration: Float64Array;
  private readonly reqKind: CallContext["kind"][];
  private readonly reqName: string[];
  private readonly reqClient: string[];
  private readonly reqStatus: CallStatus[];
  private readonly reqError: (string | undefined)[];
  private reqHead = 0;
  private reqCount = 0;

  private readonly secStamp: Float64Array;
  private readonly secCalls: Uint32Array;
  private readonly secErrors: Uint32Array;
  private readonly secLatMax: Float64Array;

  private readonly rawLogs: DashboardLogLine[] = [];
  private rawHead = 0;

  private readonly openSessions = new Map<SessionInfo, OpenSession>();
  private readonly sessionKeys = new WeakMap<SessionInfo, number>();
  private nextSessionKey = 1;

  private transport: string | undefined;
  private endpoint: string | undefined;
  private consumers = 0;
  private stopWatching: (() => void) | undefined;
  private readonly observer = (ctx: CallContext, error: unknown): void => this.recordCall(ctx, error);
  private readonly sessionListener = (event: SessionEvent): void => this.recordSession(event);

  constructor(
    private readonly server: DashboardServer,
    options: DashboardTelemetryOptions = {},
  ) {
    options = checkOptions(DASHBOARD_TELEMETRY_OPTIONS, options);
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.requestLogSize = options.requestLogSize ?? DEFAULT_ROWS;
    this.rawLogSize = options.rawLogSize ?? DEFAULT_ROWS;
    this.historySeconds = options.historySeconds ?? 300;
    this.maxAgents = options.maxAgents ?? DEFAULT_ROWS;
    this.reqAt = new Float64Array(this.requestLogSize);
    this.reqDuration = new Float64Array(this.requestLogSize);
    this.reqKind = new Array(this.requestLogSize);
    this.reqName = new Array(this.requestLogSize);
    this.reqClient = new Array(this.requestLogSize);
    this.reqStatus = new Array(this.requestLogSize);
    this.reqError = new Array(this.requestLogSize);
    this.secStamp = new Float64Array(this.historySeconds).fill(-1);
    this.secCalls = new Uint32Array(this.historySeconds);
    this.secErrors = new Uint32Array(this.historySeconds);
    this.secLatMax = new Float64Array(this.historySeconds);
  }

  /**
   * The one telemetry store of `server` (created on first use), shared by the in-process dashboard
   * and the attach endpoint so both see the same numbers. `options` size the store when it is
   * created; once it exists they could not apply, so giving them then is refused.
   */
  static for(server: DashboardServer, options?: DashboardTelemetryOptions): DashboardTelemetry {
    let telemetry = registries.get(server);
    if (!telemetry) {
      telemetry = new DashboardTelemetry(server, options);
      registries.set(server, telemetry);
    } else if (options !== undefined) {
      throw new Error(`DashboardTelemetry.for: the telemetry store of server "${server.info.name}" already exists, so these options cannot apply; pass them on the first call (before a Dashboard or DashboardEndpoint is made for it)`);
    }
    return telemetry;
  }

  /**
   * Starts watching calls and sessions; returns a function that stops. Several consumers may
   * attach: calls and sessions are observed while at least one is attached, so a stopped dashboard
   * costs nothing.
   */
  attach(): () => void {
    if (this.consumers++ === 0) {
      const stopCalls = this.server.observeCalls(this.observer);
      const stopSessions = this.server.onSession(this.sessionListener);
      this.stopWatching = () => {
        stopCalls();
        stopSessions();
        // Sessions that close while detached would otherwise stay open.
        this.openSessions.clear();
      };
    }
    let detached = false;
    return () => {
      if (detached) return;
      detached = true;
      if (--this.consumers === 0) {
        this.stopWatching?.();
        this.stopWatching = undefined;
      }
    };
  }

  /** Says how the server is reached, for the Overview header. */
  setEndpoint(transport: string, endpoint?: string): void {
    this.transport = transport;
    this.endpoint = endpoint;
  }

  /** Records one ended call (the `observeCalls` observer). */
  recordCall(ctx: CallContext, error: unknown): void {
    const now = this.now();
    const outcome = callOutcome(ctx, error);
    const failed = outcome.status !== "ok";
    const durationMs = ctx.elapsedMs();
    const clientId = ctx.clientId;
    this.transport ??= ctx.transport;

    this.latency.record(durationMs);
    let errorText: string | undefined;
    if (failed) {
      this.errors++;
      const type = outcome.errorType ?? outcome.status;
      bump(this.errorsByType, type);
      bump(this.errorsByName, ctx.kind === "resource" ? "resources/read" : ctx.name);
      const message = messageOf(outcome.error);
      errorText = message ? `${type}: ${message}` : type;
    }

    if (ctx.kind === "tool") {
      let stats = this.toolStats.get(ctx.name);
      if (!stats) {
        stats = { errors: 0, latency: new LatencyHistogram() };
        this.toolStats.set(ctx.name, stats);
      }
      if (failed) stats.errors++;
      stats.latency.record(durationMs);
    }

    const agent = this.touchAgent(clientId, now);
    agent.requests++;
    if (failed) agent.errors++;
    agent.protocolVersion = ctx.protocolVersion;
    if (outcome.status === "rate_limited") agent.rateLimited++;
    if (ctx.kind === "tool") useTool(agent.toolsUsed, ctx.name);
    const limiter = this.server.limiter;
    if (limiter !== undefined) agent.limitKey = limiter.callerKey(ctx.identity, ctx);
    // A 2026-era request has no session: only 2025-era connections count as sessions.
    if (ctx.era === "legacy") {
      const open = this.openSessions.get(ctx.session);
      if (open) open.clientId = clientId;
      this.addSessionKey(agent, open ? open.key : this.sessionKey(ctx.session));
    }

    const i = this.reqHead;
    this.reqAt[i] = now;
    this.reqDuration[i] = durationMs;
    this.reqKind[i] = ctx.kind;
    this.reqName[i] = ctx.name;
    this.reqClient[i] = clientId;
    this.reqStatus[i] = outcome.status;
    this.reqError[i] = errorText;
    this.reqHead = (i + 1) % this.requestLogSize;
    if (this.reqCount < this.requestLogSize) this.reqCount++;

    const second = Math.floor(now / 1000);
    const slot = second % this.historySeconds;
    if (this.secStamp[slot] !== second) {
      this.secStamp[slot] = second;
      this.secCalls[slot] = 0;
      this.secErrors[slot] = 0;
      this.secLatMax[slot] = 0;
    }
    this.secCalls[slot]!++;
    if (failed) this.secErrors[slot]!++;
    if (durationMs > this.secLatMax[slot]!) this.secLatMax[slot] = durationMs;
  }

  /** Records one line of the server's own output (the Raw Logs tab). */
  recordRawLog(source: string, level: DashboardLogLine["level"], text: string): void {
    const line = text.length > MAX_RAW_LINE ? `${text.slice(0, MAX_RAW_LINE - 1)}…` : text;
    const record: DashboardLogLine = { at: this.now(), source, level, text: line };
    if (this.rawLogs.length < this.rawLogSize) this.rawLogs.push(record);
    else {
      this.rawLogs[this.rawHead] = record;
      this.rawHead = (this.rawHead + 1) % this.rawLogSize;
    }
  }

  /** Everything the tabs show, as plain JSON-safe data. */
  snapshot(limits?: DashboardSnapshotLimits): DashboardSnapshot {
    limits = limits === undefined ? {} : checkOptions(SNAPSHOT_LIMITS, limits);
    const now = this.now();
    const second = Math.floor(now / 1000);
    const n = this.historySeconds;
    const series = { endsAt: second * 1000, calls: new Array<number>(n), errors: new Array<number>(n), latencyMaxMs: new Array<number>(n) };
    for (let k = 0; k < n; k++) {
      const s = second - (n - 1) + k;
      const slot = ((s % n) + n) % n;
      const live = this.secStamp[slot] === s;
      series.calls[k] = live ? this.secCalls[slot]! : 0;
      series.errors[k] = live ? this.secErrors[slot]! : 0;
      series.latencyMaxMs[k] = live ? this.secLatMax[slot]! : 0;
    }
    const windowSeconds = Math.min(RATE_WINDOW_SECONDS, Math.max(1, (now - this.startedAt) / 1000));
    let recent = 0;
    for (let k = n - RATE_WINDOW_SECONDS; k < n; k++) recent += series.calls[k]!;

    const connectedByClient = new Map<string, number>();
    for (const open of this.openSessions.values()) connectedByClient.set(open.clientId, (connectedByClient.get(open.clientId) ?? 0) + 1);

    const limiter = this.server.limiter;
    const agents: DashboardAgentRow[] = [];
    for (const agent of this.agents.values()) {
      const usage = limiter && agent.limitKey !== undefined ? limiter.usageFor(agent.limitKey) : undefined;
      agents.push({
        clientId: agent.clientId,
        sessions: agent.sessionsSeen,
        connected: connectedByClient.get(agent.clientId) ?? 0,
        protocolVersion: agent.protocolVersion ?? "-",
        requests: agent.requests,
        errors: agent.errors,
        rateLimited: agent.rateLimited,
        toolsUsed: [...agent.toolsUsed].reverse(),
        firstSeen: agent.firstSeen,
        lastActive: agent.lastActive,
        ...(usage?.length ? { limits: tightestLimits(usage) } : {}),
      });
    }
    agents.reverse();

    const [p50, p90, p95, p99] = this.latency.percentiles([0.5, 0.9, 0.95, 0.99]);
    const mean = (h: LatencyHistogram | undefined): number => (h && h.count > 0 ? h.sum / h.count : 0);
    const histograms = limits.histograms === true;
    return {
      version: 1,
      server: { name: this.server.info.name, version: this.server.info.version, transport: this.transport, endpoint: this.endpoint },
      ...(this.server.replicaId !== undefined ? { replica: this.server.replicaId } : {}),
      startedAt: this.startedAt,
      takenAt: now,
      totals: { calls: this.latency.count, errors: this.errors },
      callsPerSecond: recent / windowSeconds,
      latency: {
        p50: p50!,
        p90: p90!,
        p95: p95!,
        p99: p99!,
        max: this.latency.max,
        avg: mean(this.latency),
        ...(histograms ? { histogram: this.latency.toData() } : {}),
      },
      connectedSessions: this.openSessions.size,
      connectedClients: connectedByClient.size,
      tools: this.server.tools().map((tool) => {
        const stats = this.toolStats.get(tool.name);
        return {
          name: tool.name,
          scopes: [...tool.scopes],
          calls: stats?.latency.count ?? 0,
          errors: stats?.errors ?? 0,
          avgMs: mean(stats?.latency),
          p95Ms: stats ? stats.latency.percentiles([0.95])[0]! : 0,
          ...(histograms ? { histogram: stats ? stats.latency.toData() : emptyHistogram() } : {}),
        };
      }),
      agents,
      requests: this.recentRequests(limits.requests ?? this.requestLogSize),
      series,
      errorsByType: sortedCounts(this.errorsByType).map(([type, count]) => ({ type, count })),
      errorsByTool: sortedCounts(this.errorsByName).map(([name, count]) => ({ name, count })),
      rawLogs: this.recentRawLogs(limits.rawLogs ?? this.rawLogSize),
    };
  }

  private recentRequests(limit: number): DashboardRequest[] {
    const count = Math.min(limit, this.reqCount);
    const rows: DashboardRequest[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const i = (this.reqHead - count + k + this.requestLogSize) % this.requestLogSize;
      const row: DashboardRequest = {
        at: this.reqAt[i]!,
        kind: this.reqKind[i]!,
        name: this.reqName[i]!,
        clientId: this.reqClient[i]!,
        status: this.reqStatus[i]!,
        durationMs: this.reqDuration[i]!,
      };
      if (this.reqError[i] !== undefined) row.error = this.reqError[i];
      rows[k] = row;
    }
    return rows;
  }

  private recentRawLogs(limit: number): DashboardLogLine[] {
    const size = this.rawLogs.length;
    const count = Math.min(limit, size);
    // The oldest line is at rawHead (0 until the buffer is full), the newest just before it.
    const end = this.rawHead + size;
    const lines: DashboardLogLine[] = new Array(count);
    for (let k = 0; k < count; k++) lines[k] = this.rawLogs[(end - count + k) % size]!;
    return lines;
  }

  private recordSession(event: SessionEvent): void {
    const session = event.session;
    if (event.type === "close") {
      this.openSessions.delete(session);
      return;
    }
    if (this.openSessions.size >= MAX_OPEN_SESSIONS) return;
    const name = session.clientInfo?.name ?? "anonymous";
    const key = this.sessionKey(session);
    this.openSessions.set(session, { key, clientId: name });
    // With an authenticator the client id comes from the token, not the initialize name: the
    // client's row appears with its first call instead.
    if (!this.server.authenticator) this.addSessionKey(this.touchAgent(name, this.now()), key);
  }

  private sessionKey(session: SessionInfo): number {
    let key = this.sessionKeys.get(session);
    if (key === undefined) {
      key = this.nextSessionKey++;
      this.sessionKeys.set(session, key);
    }
    return key;
  }

  private addSessionKey(agent: AgentStats, key: number): void {
    if (agent.sessionKeys.has(key)) return;
    if (agent.sessionKeys.size >= MAX_SESSION_KEYS_PER_AGENT) agent.sessionKeys.delete(agent.sessionKeys.values().next().value!);
    agent.sessionKeys.add(key);
    agent.sessionsSeen++;
  }

  private touchAgent(clientId: string, now: number): AgentStats {
    const last = this.lastAgent;
    if (last !== undefined && last.clientId === clientId) {
      // Already the most recent: the common case of one client making many calls.
      last.lastActive = now;
      return last;
    }
    let agent = this.agents.get(clientId);
    if (agent) {
      // Move to the end: the Map's order is the LRU order.
      this.agents.delete(clientId);
    } else {
      agent = { clientId, sessionKeys: new Set(), sessionsSeen: 0, protocolVersion: undefined, requests: 0, errors: 0, rateLimited: 0, toolsUsed: [], firstSeen: now, lastActive: now, limitKey: undefined };
      if (this.agents.size >= this.maxAgents) {
        this.agents.delete(this.agents.keys().next().value!);
      }
    }
    agent.lastActive = now;
    this.agents.set(clientId, agent);
    this.lastAgent = agent;
    return agent;
  }
}

const emptyHistogram = (): LatencyHistogramData => ({ count: 0, sum: 0, min: 0, max: 0, buckets: [] });

function bump(counts: Map<string, number>, key: string): void {
  const current = counts.get(key);
  if (current !== undefined) counts.set(key, current + 1);
  else if (counts.size < MAX_ERROR_KEYS) counts.set(key, 1);
  else counts.set("other", (counts.get("other") ?? 0) + 1);
}

/** A client's limits as the Agents tab shows them: the largest share used first, then the soonest refill. */
function tightestLimits(usage: readonly CallerLimitUsage[]): DashboardAgentLimit[] {
  return usage
    .map((u) => ({ limit: u.limit, points: u.points, windowMs: u.windowMs, used: u.points - u.remaining, resetsAt: u.resetsAt, refused: u.refused }))
    .sort((a, b) => b.used / b.points - a.used / a.points || a.resetsAt - b.resetsAt)
    .slice(0, MAX_LIMITS_PER_AGENT);
}

function useTool(tools: string[], name: string): void {
  if (tools[tools.length - 1] === name) return;
  const index = tools.indexOf(name);
  if (index >= 0) tools.splice(index, 1);
  else if (tools.length >= MAX_TOOLS_PER_AGENT) tools.shift();
  tools.push(name);
}

/** Counts by key, largest first (ties by key), as a snapshot lists them. */
export const sortedCounts = (counts: ReadonlyMap<string, number>): [string, number][] => [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
