import { render } from "ink-testing-library";
import type { DashboardSnapshot } from "lantern-mcp";
import { DashboardApp, TABS, type TelemetrySource } from "../../../src/observability/dashboard/components/dashboard-app.js";
import { AT, knownTelemetry } from "./known-telemetry.js";

// The UI is not public API (it loads with a dashboard), so these specs import it by path.

const KEYS = { tab: "\t", shiftTab: "\u001B[Z", left: "\u001B[D", right: "\u001B[C", up: "\u001B[A", down: "\u001B[B" };

const source = (snapshot: DashboardSnapshot): TelemetrySource => ({ label: "in-process", read: () => snapshot });

let mounted: ReturnType<typeof render> | undefined;
afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

function show(snapshot: DashboardSnapshot, initialTab = 0) {
  mounted = render(<DashboardApp source={source(snapshot)} initialTab={initialTab} columns={120} rows={30} />);
  return mounted;
}

/** Waits (bounded) until the frame satisfies `check`: input is handled on the next turns of the event loop. */
async function frameWhere(app: ReturnType<typeof render>, check: (frame: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const frame = app.lastFrame() ?? "";
    if (check(frame)) return frame;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`The frame never matched; last frame:\n${app.lastFrame()}`);
}

const activeTab = (frame: string): string | undefined => /\[(\d) ([A-Za-z ]+?)\]/.exec(frame)?.[2];

const rowOf = (frame: string, start: string): string => frame.split("\n").find((line) => line.includes(start)) ?? "";

test("the header names the server, its transport and endpoint and its uptime; the tab bar marks Overview", () => {
  const frame = show(knownTelemetry()).lastFrame()!;
  expect(frame).toContain("hr-api 1.2.3");
  expect(frame).toContain("http http://127.0.0.1:3000/mcp");
  expect(frame).toContain("up 2m 03s");
  expect(activeTab(frame)).toBe("Overview");
  for (const t of TABS) expect(frame).toContain(t.title);
});

test("Overview shows calls, errors, error rate, calls/s, p50/p95, connected clients and the last requests", () => {
  const frame = show(knownTelemetry()).lastFrame()!;
  expect(frame).toMatch(/Calls\s+40\b/);
  expect(frame).toMatch(/Errors\s+4\b/);
  expect(frame).toMatch(/Error rate\s+10% ▲ >5%/);
  expect(frame).toMatch(/Calls\/s\s+2\.5/);
  expect(frame).toMatch(/p50\s+1\.25 ms/);
  expect(frame).toMatch(/p95\s+8\.50 ms/);
  expect(frame).toMatch(/Clients\s+2 connected/);
  expect(frame).toMatch(/Sessions\s+3/);
  expect(rowOf(frame, "12:02:01")).toMatch(/claude-desktop\s+create_employee\s+ok\s+12\.5 ms/);
  expect(rowOf(frame, "12:01:59")).toMatch(/cursor\s+resource hr:\/\/employees\/7\s+error/);
});

test("an error rate at or under 5% is not flagged", () => {
  const frame = show(knownTelemetry({ totals: { calls: 100, errors: 5 } })).lastFrame()!;
  expect(frame).toMatch(/Error rate\s+5\.0%/);
  expect(frame).not.toContain("▲");
});

test("a fleet's Overview has a row per replica: state, calls, errors, p95, last seen and why it is down", () => {
  const frame = show(knownTelemetry({
    server: { name: "hr-api", version: "1.2.3", transport: "http", endpoint: "2 of 3 replicas up" },
    fleet: [
      { name: "hr-api-a", url: "http://127.0.0.1:4501", state: "up", calls: 25, errors: 1, p95Ms: 4.5, lastSeen: AT(12, 2, 3), restarts: 1 },
      { name: "127.0.0.1:4502", url: "http://127.0.0.1:4502", state: "down", calls: 15, errors: 3, p95Ms: 12.5, lastSeen: AT(12, 1, 3), restarts: 0, problem: "unreachable (ECONNREFUSED)" },
      { name: "127.0.0.1:4503", url: "http://127.0.0.1:4503", state: "late", calls: 0, errors: 0, p95Ms: 0, lastSeen: AT(12, 2, 1), restarts: 0, problem: "no answer within 200 ms" },
    ],
  })).lastFrame()!;
  expect(frame).toContain("http 2 of 3 replicas up");
  expect(frame).toContain("Replicas (2 of 3 up)");
  expect(frame).toMatch(/REPLICA\s+STATE\s+CALLS\s+ERRORS\s+P95\s+LAST SEEN\s+NOTE/);
  expect(rowOf(frame, "hr-api-a")).toMatch(/hr-api-a\s+up\s+25\s+1\s+4\.50 ms\s+0s ago\s+restarted 1×$/);
  expect(rowOf(frame, "127.0.0.1:4502")).toMatch(/127\.0\.0\.1:4502\s+down\s+15\s+3\s+12\.5 ms\s+1m 00s ago\s+stale counts · unreachable \(ECONNREFUSED\)/);
  expect(rowOf(frame, "127.0.0.1:4503")).toMatch(/127\.0\.0\.1:4503\s+late\s+0\s+0\s+-\s+2s ago\s+no answer within 200 ms/);
  // The request log still fits below.
  expect(rowOf(frame, "12:02:01")).toMatch(/claude-desktop\s+create_employee\s+ok/);
});

test("in a fleet's merged logs, the Logs and Raw Logs tabs name the replica of each line", () => {
  const base = knownTelemetry();
  const telemetry = knownTelemetry({
    requests: base.requests.map((r, i) => ({ ...r, replica: i % 2 ? "hr-api-b" : "hr-api-a" })),
    rawLogs: base.rawLogs.map((l) => ({ ...l, replica: "hr-api-b" })),
  });
  let frame = show(telemetry, 3).lastFrame()!;
  expect(frame).toMatch(/TIME\s+REPLICA\s+CLIENT\s+TOOL/);
  expect(rowOf(frame, "12:01:59")).toMatch(/hr-api-b\s+cursor\s+resource hr:\/\/employees\/7\s+error/);
  expect(rowOf(frame, "12:02:01")).toMatch(/hr-api-b\s+claude-desktop\s+create_employee\s+ok/);
  mounted?.unmount();
  frame = show(telemetry, 5).lastFrame()!;
  expect(rowOf(frame, "cache warmed")).toMatch(/12:01:00 hr-api-b\s+console\.log\s+cache warmed in 12 ms/);
  // Without replicas (one process), no such column.
  mounted?.unmount();
  frame = show(knownTelemetry(), 3).lastFrame()!;
  expect(frame).toMatch(/TIME\s+CLIENT\s+TOOL/);
  expect(frame).not.toContain("REPLICA");
});

test("Tools lists every registered tool with scopes, calls, errors, avg and p95", () => {
  const frame = show(knownTelemetry(), 1).lastFrame()!;
  expect(activeTab(frame)).toBe("Tools");
  expect(frame).toMatch(/TOOL\s+CALLS\s+ERRORS\s+AVG\s+P95\s+SCOPES/);
  expect(rowOf(frame, "search_employees")).toMatch(/search_employees\s+30\s+1\s+1\.50 ms\s+4\.25 ms\s+-/);
  expect(rowOf(frame, "create_employee")).toMatch(/create_employee\s+10\s+3\s+12\.5 ms\s+30\.0 ms\s+hr:write/);
  expect(rowOf(frame, "never_called")).toMatch(/never_called\s+0\s+0\s+-\s+-\s+hr:admin hr:read/);
});

test("Agents shows one row per client id: sessions, protocol version, requests, errors, rate-limited calls, first seen, last active, tools used", () => {
  const frame = show(knownTelemetry(), 2).lastFrame()!;
  expect(activeTab(frame)).toBe("Agents");
  expect(frame).toMatch(/CLIENT\s+SESSIONS\s+OPEN\s+PROTOCOL\s+REQUESTS\s+ERRORS\s+LIMITED\s+FIRST SEEN/);
  expect(rowOf(frame, "claude-desktop")).toMatch(/claude-desktop\s+2\s+1\s+2025-11-25\s+25\s+3\s+2\s+12:00:05\s+12:02:01\s+create_/);
  expect(rowOf(frame, "cursor")).toMatch(/cursor\s+0\s+0\s+2026-07-28\s+15\s+1\s+0\s+12:01:00\s+12:01:30\s+search_/);
});

test("Agents shows, when the server counts limits, each client's tightest limit: points used of its allowance and when it refills", () => {
  const base = knownTelemetry();
  const [desktop, cursor] = base.agents as [DashboardSnapshot["agents"][number], DashboardSnapshot["agents"][number]];
  const resetsIn = (ms: number) => base.takenAt + ms;
  const agents = [
    { ...desktop, limits: [
      { limit: "quota:role:free", points: 100, windowMs: 86_400_000, used: 100, resetsAt: resetsIn(7 * 3_600_000 - 5), refused: 2 },
      { limit: "tool:create_employee", points: 10, windowMs: 60_000, used: 3, resetsAt: resetsIn(42_000), refused: 0 },
    ] },
    { ...cursor, limits: [{ limit: "quota:default", points: 20_000, windowMs: 86_400_000, used: 12_500, resetsAt: resetsIn(90_000), refused: 0 }] },
  ];
  const frame = show(knownTelemetry({ agents }), 2).lastFrame()!;
  expect(frame).toMatch(/ERRORS\s+LIMITED\s+LIMIT\s+FIRST SEEN/);
  expect(rowOf(frame, "claude-desktop")).toMatch(/\b3\s+2\s+100\/100 ↻7h\s+12:00:05/);
  expect(rowOf(frame, "cursor")).toMatch(/\b1\s+0\s+12k\/20k ↻2m\s+12:01:00/);
});

test("Agents has no LIMIT column when no client was counted by a limit", () => {
  const frame = show(knownTelemetry(), 2).lastFrame()!;
  expect(frame).toMatch(/ERRORS\s+LIMITED\s+FIRST SEEN/);
  expect(frame).not.toMatch(/\bLIMIT\b/);
});

test("Logs shows the request log with time, client, tool, status, duration and error, newest last", () => {
  const frame = show(knownTelemetry(), 3).lastFrame()!;
  expect(activeTab(frame)).toBe("Logs");
  expect(frame).toMatch(/TIME\s+CLIENT\s+TOOL\s+STATUS\s+DURATION\s+ERROR/);
  expect(rowOf(frame, "12:02:00")).toMatch(/claude-desktop\s+create_employee\s+refused\s+0\.75 ms\s+-32602: Invalid arguments/);
  expect(rowOf(frame, "12:01:59")).toContain("tool_error: No employee with id 7");
  const lines = frame.split("\n");
  expect(lines.findIndex((l) => l.includes("12:01:58"))).toBeLessThan(lines.findIndex((l) => l.includes("12:02:01")));
});

test("Logs scrolls back with ↑ and follows again with ↓", async () => {
  const requests = Array.from({ length: 60 }, (_, i) => ({
    at: AT(12, 0, i % 60), kind: "tool" as const, name: `tool_${i}`, clientId: "c", status: "ok" as const, durationMs: 1,
  }));
  const app = show(knownTelemetry({ requests }), 3);
  expect(app.lastFrame()).toContain("tool_59");
  app.stdin.write(KEYS.up);
  app.stdin.write(KEYS.up);
  const back = await frameWhere(app, (f) => f.includes("scrolled back 2"));
  expect(back).not.toContain("tool_59");
  expect(back).toContain("tool_57");
  app.stdin.write(KEYS.down);
  app.stdin.write(KEYS.down);
  expect(await frameWhere(app, (f) => f.includes("tool_59"))).toContain("60 recent calls");
});

test("Metrics shows sparklines of throughput and latency, the percentiles and errors by type and tool", () => {
  const frame = show(knownTelemetry(), 4).lastFrame()!;
  expect(activeTab(frame)).toBe("Metrics");
  expect(frame).toMatch(/Throughput calls\/s, last 5m \(3s per column\) · peak 8\.0\/s · now 2\.5\/s/);
  expect(frame).toMatch(/Latency slowest call per column, last 5m · peak 9\.00 ms/);
  const sparks = frame.split("\n").filter((l) => /^[▁▂▃▄▅▆▇█]{20,}/.test(l));
  expect(sparks).toHaveLength(2);
  expect(sparks[0]!.endsWith("█")).toBe(true);
  expect(frame).toMatch(/p50 1\.25 ms\s+p90 7\.00 ms\s+p95 8\.50 ms\s+p99 20\.0 ms\s+max 31\.0 ms\s+avg 2\.20 ms/);
  expect(rowOf(frame, "tool_error")).toMatch(/tool_error\s+3/);
  expect(rowOf(frame, "-32602")).toMatch(/-32602\s+1/);
  expect(rowOf(frame, "tool_error")).toMatch(/create_employee\s+3/);
  expect(rowOf(frame, "-32602")).toMatch(/resources\/read\s+1/);
});

test("Raw Logs shows the captured output lines with their source", () => {
  const frame = show(knownTelemetry(), 5).lastFrame()!;
  expect(activeTab(frame)).toBe("Raw Logs");
  expect(rowOf(frame, "12:01:00")).toMatch(/console\.log\s+cache warmed in 12 ms/);
  expect(rowOf(frame, "12:01:01")).toMatch(/stderr\s+\{"level":"warn","message":"slow query"\}/);
});

test("keys 1–6 pick each tab; Tab, → go forward and Shift+Tab, ← go back, wrapping around", async () => {
  const app = show(knownTelemetry());
  for (const [key, title] of [["2", "Tools"], ["3", "Agents"], ["4", "Logs"], ["5", "Metrics"], ["6", "Raw Logs"], ["1", "Overview"]] as const) {
    app.stdin.write(key);
    expect(activeTab(await frameWhere(app, (f) => activeTab(f) === title))).toBe(title);
  }
  app.stdin.write(KEYS.tab);
  await frameWhere(app, (f) => activeTab(f) === "Tools");
  app.stdin.write(KEYS.right);
  await frameWhere(app, (f) => activeTab(f) === "Agents");
  app.stdin.write(KEYS.left);
  await frameWhere(app, (f) => activeTab(f) === "Tools");
  app.stdin.write(KEYS.shiftTab);
  await frameWhere(app, (f) => activeTab(f) === "Overview");
  app.stdin.write(KEYS.left);
  expect(activeTab(await frameWhere(app, (f) => activeTab(f) === "Raw Logs"))).toBe("Raw Logs");
});

test("q quits the app: Ink lets go of the keyboard", async () => {
  const app = show(knownTelemetry());
  expect(app.stdin.listenerCount("readable")).toBeGreaterThan(0);
  app.stdin.write("q");
  for (let i = 0; i < 200 && app.stdin.listenerCount("readable") > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(app.stdin.listenerCount("readable")).toBe(0);
});

test("an attach source that fails shows its message and keeps the last telemetry", async () => {
  let fail = false;
  const app = render(
    <DashboardApp
      columns={120}
      rows={30}
      refreshMs={250}
      source={{ label: "attached to http://127.0.0.1:1", read: async () => { if (fail) throw new Error("Cannot reach the endpoint"); return knownTelemetry(); } }}
    />,
  );
  mounted = app;
  expect(app.lastFrame()).toContain("connecting (attached to http://127.0.0.1:1)");
  await frameWhere(app, (f) => f.includes("hr-api 1.2.3"));
  fail = true;
  const frame = await frameWhere(app, (f) => f.includes("Cannot reach the endpoint"));
  expect(frame).toContain("hr-api 1.2.3");
});
