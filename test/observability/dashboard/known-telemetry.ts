import type { DashboardSnapshot } from "lantern-mcp";

/** A fixed local time, so clock columns read the same in every time zone. */
export const AT = (h: number, m: number, s: number): number => new Date(2025, 0, 15, h, m, s).getTime();

/** Telemetry with known numbers in every tab. */
export function knownTelemetry(overrides: Partial<DashboardSnapshot> = {}): DashboardSnapshot {
  const seconds = 300;
  const calls = Array.from({ length: seconds }, (_, i) => (i >= seconds - 3 ? 8 : i % 60 === 0 ? 2 : 0));
  return {
    version: 1,
    server: { name: "hr-api", version: "1.2.3", transport: "http", endpoint: "http://127.0.0.1:3000/mcp" },
    startedAt: AT(12, 0, 0),
    takenAt: AT(12, 2, 3),
    totals: { calls: 40, errors: 4 },
    callsPerSecond: 2.5,
    latency: { p50: 1.25, p90: 7, p95: 8.5, p99: 20, max: 31, avg: 2.2 },
    connectedSessions: 3,
    connectedClients: 2,
    tools: [
      { name: "search_employees", scopes: [], calls: 30, errors: 1, avgMs: 1.5, p95Ms: 4.25 },
      { name: "create_employee", scopes: ["hr:write"], calls: 10, errors: 3, avgMs: 12.5, p95Ms: 30 },
      { name: "never_called", scopes: ["hr:admin", "hr:read"], calls: 0, errors: 0, avgMs: 0, p95Ms: 0 },
    ],
    agents: [
      { clientId: "claude-desktop", sessions: 2, connected: 1, protocolVersion: "2025-11-25", requests: 25, errors: 3, rateLimited: 2, toolsUsed: ["create_employee", "search_employees"], firstSeen: AT(12, 0, 5), lastActive: AT(12, 2, 1) },
      { clientId: "cursor", sessions: 0, connected: 0, protocolVersion: "2026-07-28", requests: 15, errors: 1, rateLimited: 0, toolsUsed: ["search_employees"], firstSeen: AT(12, 1, 0), lastActive: AT(12, 1, 30) },
    ],
    requests: [
      { at: AT(12, 1, 58), kind: "tool", name: "search_employees", clientId: "cursor", status: "ok", durationMs: 1.25 },
      { at: AT(12, 1, 59), kind: "resource", name: "hr://employees/7", clientId: "cursor", status: "error", durationMs: 0.5, error: "tool_error: No employee with id 7" },
      { at: AT(12, 2, 0), kind: "tool", name: "create_employee", clientId: "claude-desktop", status: "refused", durationMs: 0.75, error: "-32602: Invalid arguments for tool \"create_employee\"" },
      { at: AT(12, 2, 1), kind: "tool", name: "create_employee", clientId: "claude-desktop", status: "ok", durationMs: 12.5 },
    ],
    series: {
      endsAt: AT(12, 2, 3),
      calls,
      errors: calls.map((c) => (c > 4 ? 1 : 0)),
      latencyMaxMs: calls.map((c) => (c ? 9 : 0)),
    },
    errorsByType: [{ type: "tool_error", count: 3 }, { type: "-32602", count: 1 }],
    errorsByTool: [{ name: "create_employee", count: 3 }, { name: "resources/read", count: 1 }],
    rawLogs: [
      { at: AT(12, 1, 0), source: "console.log", level: "info", text: "cache warmed in 12 ms" },
      { at: AT(12, 1, 1), source: "stderr", level: "warn", text: "{\"level\":\"warn\",\"message\":\"slow query\"}" },
    ],
    ...overrides,
  };
}
