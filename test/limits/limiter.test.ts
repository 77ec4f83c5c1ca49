import { jest } from "@jest/globals";
import { RateLimitedError } from "../../src/core/errors.js";
import { Limiter } from "../../src/limits/limiter.js";
import { MemoryWindows } from "../../src/limits/memory-windows.js";

// The limiter's in-memory path, below the wire specs: what a limited call costs and what it keeps.

test("in memory a counted call returns what the rest of the chain returned: no promise of its own", () => {
  const limiter = new Limiter();
  const bucket = limiter.bucket("tool:echo", 2, 60_000);
  const rest = Promise.resolve("done");
  expect(limiter.enforce(bucket, "id:alice", 1, "tool", 'tool "echo"', () => rest)).toBe(rest);
  expect(limiter.enforce(bucket, "id:alice", 1, "tool", 'tool "echo"', () => rest)).toBe(rest);
});

test("in memory a call past the allowance is refused at once, with the limit and when to retry, and the chain does not run", () => {
  const limiter = new Limiter();
  const bucket = limiter.bucket("tool:echo", 1, 60_000);
  let ran = 0;
  const next = () => ++ran;
  limiter.enforce(bucket, "id:alice", 1, "tool", 'tool "echo"', next);
  let refusal: unknown;
  try {
    limiter.enforce(bucket, "id:alice", 1, "tool", 'tool "echo"', next);
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeInstanceOf(RateLimitedError);
  const { detail, message } = refusal as RateLimitedError;
  // 60 s, or 1 min when no millisecond passed since the window started.
  expect(message).toMatch(/^Rate limited: tool "echo" allows 1 call per minute for each caller; retry in (60 s|1 min)$/);
  expect(detail).toMatchObject({ limit: "tool:echo", points: 1, windowMs: 60_000 });
  expect(detail.retryAfterMs).toBeGreaterThan(59_000);
  expect(detail.retryAfterMs).toBeLessThanOrEqual(60_000);
  expect(ran).toBe(1);
  expect(limiter.counts.refused.tool).toBe(1);
  // Another caller has its own allowance.
  expect(limiter.enforce(bucket, "id:bob", 1, "tool", 'tool "echo"', next)).toBe(2);
});

test("a cost takes that many points; usage shows what is left, per caller and limit", () => {
  const limiter = new Limiter();
  const quota = limiter.bucket("quota:default", 10, 3_600_000);
  const report = limiter.bucket("tool:report", 10, 86_400_000);
  limiter.enforce(quota, "id:alice", 1, "quota", "this server", () => undefined);
  limiter.enforce(report, "id:alice", 4, "tool", 'tool "report"', () => undefined);
  limiter.enforce(report, "id:alice", 4, "tool", 'tool "report"', () => undefined);
  const usage = limiter.usageFor("id:alice")!;
  expect(usage.map((u) => [u.limit, u.points, u.remaining, u.refused])).toEqual([
    ["quota:default", 10, 9, 0],
    ["tool:report", 10, 2, 0],
  ]);
  const now = Date.now();
  expect(usage[0]!.resetsAt).toBeGreaterThan(now);
  expect(usage[0]!.resetsAt).toBeLessThanOrEqual(now + 3_600_000);
  expect(usage[1]!.resetsAt).toBeGreaterThan(now + 3_600_000);
  expect(limiter.usageFor("id:nobody")).toBeUndefined();
});

test("usage keeps the 1,000 most recently counted callers: a caller counted again is kept, the least recent is dropped", () => {
  const limiter = new Limiter();
  const bucket = limiter.bucket("quota:default", 100, 60_000);
  const count = (key: string) => limiter.enforce(bucket, key, 1, "quota", "this server", () => undefined);
  for (let i = 0; i < 1000; i++) count(`anon:10.0.${i >> 8}.${i & 255}`);
  count("anon:10.0.0.0"); // the first caller calls again
  count("anon:192.168.0.1"); // one caller too many: the least recently counted goes
  expect(limiter.usageFor("anon:10.0.0.0")?.[0]?.remaining).toBe(98);
  expect(limiter.usageFor("anon:10.0.0.1")).toBeUndefined();
  expect(limiter.usageFor("anon:10.0.0.2")?.[0]?.remaining).toBe(99);
  expect(limiter.usageFor("anon:192.168.0.1")?.[0]?.remaining).toBe(99);
  expect(Object.keys(limiter.usage())).toHaveLength(1000);
});

test("an anonymous caller's key is its key function's answer, else its remote address, else local", () => {
  const byHeader = new Limiter({ key: (ctx) => (ctx.remoteAddress === "10.0.0.9" ? "tenant-9" : undefined) });
  const ctx = (remoteAddress: string | undefined) => ({ remoteAddress }) as Parameters<Limiter["callerKey"]>[1];
  expect(byHeader.callerKey(undefined, ctx("10.0.0.9"))).toBe("anon:tenant-9");
  expect(byHeader.callerKey(undefined, ctx("10.0.0.8"))).toBe("anon:10.0.0.8");
  expect(byHeader.callerKey(undefined, ctx("10.0.0.8"))).toBe("anon:10.0.0.8");
  expect(byHeader.callerKey(undefined, ctx(undefined))).toBe("anon:local");
  expect(byHeader.callerKey(undefined, ctx("10.0.0.9"))).toBe("anon:tenant-9");
});

describe("MemoryWindows", () => {
  afterEach(() => jest.restoreAllMocks());

  it("counts per key in fixed windows, says when a take opened one, and drops ended windows as the map grows", () => {
    let now = 1_000_000;
    jest.spyOn(Date, "now").mockImplementation(() => now);
    const windows = new MemoryWindows(40);
    const first = windows.take("a", 2);
    expect(first).toEqual({ consumed: 2, endsAt: now + 40, opened: true });
    expect(windows.take("a", 1)).toMatchObject({ consumed: 3, opened: false });
    expect(windows.take("b", 1)).toMatchObject({ consumed: 1, opened: true });
    expect(windows.peek("a")?.consumed).toBe(3);
    expect(windows.peek("missing")).toBeUndefined();
    now = first.endsAt - 1;
    expect(windows.peek("a")?.consumed).toBe(3);
    now = first.endsAt;
    expect(windows.peek("a")).toBeUndefined();
    expect(windows.take("a", 1)).toEqual({ consumed: 1, endsAt: now + 40, opened: true });
    // 2,000 callers whose windows ended, then new ones: the ended ones are swept, not kept.
    const many = new MemoryWindows(1);
    for (let i = 0; i < 2000; i++) many.take(`old-${i}`, 1);
    now += 2;
    for (let i = 0; i < 1100; i++) many.take(`new-${i}`, 1);
    expect((many as unknown as { counts: Map<string, unknown> }).counts.size).toBe(1100);
  });
});
