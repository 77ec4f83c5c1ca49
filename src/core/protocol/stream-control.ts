import { CallContext } from "../call-context.js";

/**
 * SSE polling (SEP-1699) from inside a call: closes the request's SSE stream so the client
 * reconnects later with `Last-Event-ID`; whatever the call sends afterwards (its result included)
 * is replayed on the new stream. Needs Streamable HTTP with an `eventStore` and a client on
 * protocol 2025-11-25 or later; elsewhere it does nothing.
 *
 * @example
 * @Tool({ description: "A long job" })
 * async longJob(@Inject(StreamControl) stream: StreamControl) {
 *   stream.closeStream(); // free the connection; the client polls back for the result
 *   return await this.jobs.run();
 * }
 */
export class StreamControl {
  constructor(private readonly ctx: CallContext | undefined = CallContext.current()) {}

  /** True when this call's stream can be closed and resumed. */
  get resumable(): boolean {
    return this.ctx?.channel.canCloseStream?.() ?? false;
  }

  /** Closes the call's SSE stream; returns false (and does nothing) when it cannot be resumed. */
  closeStream(): boolean {
    if (!this.resumable) return false;
    this.ctx!.channel.closeStream!();
    return true;
  }
}
