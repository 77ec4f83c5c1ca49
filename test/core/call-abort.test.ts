import { jest } from "@jest/globals";
import { CallAbort, CallDeadlines } from "../../src/core/call-abort.js";
import { CancelledError, TimeoutError } from "../../src/core/errors.js";

afterEach(() => {
  jest.useRealTimers();
});

test("calls with the same limit expire each at its own deadline, from one queue", () => {
  jest.useFakeTimers();
  const deadlines = new CallDeadlines();
  const first = new CallAbort(new AbortController().signal, "first");
  const second = new CallAbort(new AbortController().signal, "second");
  deadlines.add(first, 50, () => new TimeoutError("first", 50));
  jest.advanceTimersByTime(30);
  deadlines.add(second, 50, () => new TimeoutError("second", 50));
  jest.advanceTimersByTime(20);
  expect(first.aborted).toBe(true);
  expect(first.reason).toBeInstanceOf(TimeoutError);
  expect(second.aborted).toBe(false);
  jest.advanceTimersByTime(29);
  expect(second.aborted).toBe(false);
  jest.advanceTimersByTime(1);
  expect((second.reason as Error).message).toBe('"second" timed out after 50 ms');
});

test("a call that finished in time is never aborted, and later calls still get their own deadline", () => {
  jest.useFakeTimers();
  const deadlines = new CallDeadlines();
  const quick = new CallAbort(new AbortController().signal, "quick");
  deadlines.clear(deadlines.add(quick, 50, () => new TimeoutError("quick", 50)));
  jest.advanceTimersByTime(40);
  const late = new CallAbort(new AbortController().signal, "late");
  deadlines.add(late, 50, () => new TimeoutError("late", 50));
  jest.advanceTimersByTime(20);
  expect(quick.aborted).toBe(false);
  expect(late.aborted).toBe(false);
  jest.advanceTimersByTime(30);
  expect(late.aborted).toBe(true);
});

test("the signal is made only when read, carries the first reason, and follows the client's cancel", () => {
  const client = new AbortController();
  const call = new CallAbort(client.signal, "tool");
  const seen: unknown[] = [];
  call.watch((reason) => seen.push(reason));
  client.abort();
  expect(seen).toHaveLength(1);
  expect(seen[0]).toBeInstanceOf(CancelledError);
  call.abort(new Error("later"));
  expect(call.signal.aborted).toBe(true);
  expect(call.signal.reason).toBeInstanceOf(CancelledError);
  expect(seen).toHaveLength(1);
});
