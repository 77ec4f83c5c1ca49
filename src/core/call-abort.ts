import { CancelledError } from "./errors.js";

/**
 * How one call ends early: the client cancels (the SDK's signal), its time limit passes, or the
 * server shuts down. The call's own `AbortSignal` is made only when something reads it (a handler
 * injecting `AbortSignal`, a request to the client): an `AbortSignal` costs microseconds to create,
 * more than the rest of a trivial call, and most calls never look at theirs.
 */
export class CallAbort {
  private controller: AbortController | undefined;
  private ended: { reason: unknown } | undefined;
  private watcher: ((reason: unknown) => void) | undefined;
  private onUpstream: (() => void) | undefined;

  constructor(
    /** The client's signal for this request (the SDK aborts it on `notifications/cancelled`). */
    private readonly upstream: AbortSignal,
    private readonly name: string,
  ) {}

  get aborted(): boolean {
    return this.ended !== undefined || this.upstream.aborted;
  }

  /** Why the call ended early; undefined while it has not. */
  get reason(): unknown {
    if (this.ended) return this.ended.reason;
    return this.upstream.aborted ? this.cancelled() : undefined;
  }

  /** The call's signal, aborted with the reason of whichever came first; made on first read. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      this.follow();
      if (this.ended) this.controller.abort(this.ended.reason);
    }
    return this.controller.signal;
  }

  /** Ends the call early (first reason wins). */
  abort(reason: unknown): void {
    if (this.ended) return;
    this.ended = { reason };
    this.controller?.abort(reason);
    this.watcher?.(reason);
  }

  /** Calls `watcher` once when the call ends early (one watcher: the call runner's). */
  watch(watcher: (reason: unknown) => void): void {
    this.watcher = watcher;
    this.follow();
  }

  /** The call finished: stops following the client's signal. */
  release(): void {
    this.watcher = undefined;
    if (this.onUpstream) this.upstream.removeEventListener("abort", this.onUpstream);
    this.onUpstream = undefined;
  }

  private follow(): void {
    if (this.onUpstream || this.ended) return;
    if (this.upstream.aborted) {
      this.abort(this.cancelled());
      return;
    }
    this.onUpstream = () => this.abort(this.cancelled());
    this.upstream.addEventListener("abort", this.onUpstream, { once: true });
  }

  private cancelled(): CancelledError {
    return new CancelledError(`"${this.name}" was cancelled by the client`);
  }
}

/**
 * The time limits of calls in flight. Calls with the same limit expire in the order they started,
 * so each limit keeps its calls in one ordered set with one timer for the oldest: a call costs a
 * set insertion and deletion, not a timer of its own.
 */
export class CallDeadlines {
  private readonly queues = new Map<number, DeadlineQueue>();

  /** Aborts `call` with `expired()` once `limitMs` passed, unless {@link CallDeadlines.clear} came first. */
  add(call: CallAbort, limitMs: number, expired: () => unknown): Deadline {
    let queue = this.queues.get(limitMs);
    if (!queue) this.queues.set(limitMs, (queue = new DeadlineQueue(limitMs)));
    return queue.add(call, expired);
  }

  clear(deadline: Deadline): void {
    deadline.queue.remove(deadline);
  }
}

export interface Deadline {
  readonly queue: DeadlineQueue;
  readonly call: CallAbort;
  readonly at: number;
  readonly expired: () => unknown;
}

class DeadlineQueue {
  private readonly pending = new Set<Deadline>();
  /**
   * Armed for the oldest call's deadline (or earlier: never later than any pending one). It stays
   * armed when the queue empties, only unref'd, so back-to-back calls do not each make a timer.
   */
  private timer: NodeJS.Timeout | undefined;
  private idle = false;

  constructor(private readonly limitMs: number) {}

  add(call: CallAbort, expired: () => unknown): Deadline {
    const deadline: Deadline = { queue: this, call, at: Date.now() + this.limitMs, expired };
    this.pending.add(deadline);
    // Referenced while calls are pending: a call in flight keeps the process up until its limit.
    if (!this.timer) this.timer = setTimeout(this.fire, this.limitMs);
    else if (this.idle) this.timer.ref();
    this.idle = false;
    return deadline;
  }

  remove(deadline: Deadline): void {
    this.pending.delete(deadline);
    if (this.pending.size === 0 && this.timer && !this.idle) {
      this.timer.unref();
      this.idle = true;
    }
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.idle = false;
    const now = Date.now();
    for (const deadline of this.pending) {
      if (deadline.at > now) {
        this.timer = setTimeout(this.fire, deadline.at - now);
        return;
      }
      this.pending.delete(deadline);
      deadline.call.abort(deadline.expired());
    }
  };
}
