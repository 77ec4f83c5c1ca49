import { MetricsCollector, OTHER_RESOURCES } from "lantern-mcp";
import { PERCENTILE_RELATIVE_ERROR } from "../../../src/observability/metrics/latency-histogram.js";

const within = (actual: number, expected: number) => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * PERCENTILE_RELATIVE_ERROR + 1e-9);
};

describe("MetricsCollector", () => {
  test("snapshot has exactly the seed's shape, plus percentiles and the other sections", () => {
    const metrics = new MetricsCollector();
    metrics.record("tool", "search", 10, "ok");
    metrics.record("tool", "search", 30, "error");
    const snapshot = metrics.snapshot();
    expect(Object.keys(snapshot)).toEqual(["uptime_seconds", "tools", "resources", "prompts"]);
    expect(typeof snapshot.uptime_seconds).toBe("number");
    expect(snapshot.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(Object.keys(snapshot.tools.search!)).toEqual([
      "calls", "errors", "rate_limited", "avg_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "last_called_at",
    ]);
    expect(snapshot.tools.search).toMatchObject({ calls: 2, errors: 1, avg_latency_ms: 20 });
    within(snapshot.tools.search!.p50_latency_ms, 10);
    within(snapshot.tools.search!.p99_latency_ms, 30);
    expect(Date.parse(snapshot.tools.search!.last_called_at!)).toBeLessThanOrEqual(Date.now());
    expect(snapshot.resources).toEqual({});
    expect(snapshot.prompts).toEqual({});
  });

  test("percentiles of known latencies are within the documented relative error", () => {
    const metrics = new MetricsCollector();
    // 1..1000 ms, shuffled deterministically: order must not matter.
    for (let i = 0; i < 1000; i++) metrics.record("tool", "t", ((i * 367) % 1000) + 1, "ok");
    const t = metrics.snapshot().tools.t!;
    expect(t.calls).toBe(1000);
    expect(t.avg_latency_ms).toBe(500.5);
    within(t.p50_latency_ms, 500);
    within(t.p95_latency_ms, 950);
    within(t.p99_latency_ms, 990);
  });

  test("a skewed distribution: the tail shows in p99, not in p50", () => {
    const metrics = new MetricsCollector();
    for (let i = 0; i < 980; i++) metrics.record("tool", "t", 2, "ok");
    for (let i = 0; i < 20; i++) metrics.record("tool", "t", 800, "ok");
    const t = metrics.snapshot().tools.t!;
    within(t.p50_latency_ms, 2);
    within(t.p95_latency_ms, 2);
    within(t.p99_latency_ms, 800);
  });

  test("every status but ok counts as an error", () => {
    const metrics = new MetricsCollector();
    for (const status of ["ok", "error", "timeout", "cancelled", "refused"] as const) metrics.record("tool", "t", 1, status);
    expect(metrics.snapshot().tools.t).toMatchObject({ calls: 5, errors: 4 });
  });

  test("declared entries show zero calls and a null last_called_at", () => {
    const metrics = new MetricsCollector();
    metrics.declare("tool", "never_called");
    expect(metrics.snapshot().tools.never_called).toEqual({
      calls: 0, errors: 0, rate_limited: 0, avg_latency_ms: 0, p50_latency_ms: 0, p95_latency_ms: 0, p99_latency_ms: 0, last_called_at: null,
    });
  });

  test("reads of one resource template share an entry; distinct keys are capped", () => {
    const metrics = new MetricsCollector({ maxResources: 3 });
    metrics.record("resource", "hr://employees/1", 1, "ok", undefined, { id: "1" });
    metrics.record("resource", "hr://employees/22", 1, "ok", undefined, { id: "22" });
    metrics.record("resource", "metrics://server", 1, "ok");
    metrics.record("resource", "a://x", 1, "ok");
    metrics.record("resource", "b://y", 1, "error");
    const resources = metrics.snapshot().resources;
    expect(resources["hr://employees/{id}"]!.calls).toBe(2);
    expect(resources[OTHER_RESOURCES]).toMatchObject({ calls: 1, errors: 1 });
    expect(resources["a://x"]!.calls).toBe(1);
    expect(Object.keys(resources)).toHaveLength(4);
  });

  test("per-client figures keep the most recently seen clients, at most maxClients", () => {
    const metrics = new MetricsCollector({ maxClients: 2 });
    metrics.record("tool", "t", 1, "ok", "a");
    metrics.record("tool", "t", 1, "ok", "b");
    metrics.record("tool", "t", 1, "error", "a");
    metrics.record("tool", "t", 1, "ok", "c"); // drops b, the least recently seen
    const clients = metrics.clients();
    expect(Object.keys(clients)).toEqual(["c", "a"]);
    expect(clients.a).toMatchObject({ calls: 2, errors: 1 });
  });

  test("bad options fail with a message naming the option", () => {
    expect(() => new MetricsCollector({ maxClients: 0 })).toThrow(/"maxClients" must be a whole number of at least 1, got the number 0/);
  });
});
