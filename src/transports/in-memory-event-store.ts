import type { EventStore } from "@modelcontextprotocol/server";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { checkOptions, defineOptions, option } from "../core/options.js";

/** Options of {@link InMemoryEventStore}. */
export interface InMemoryEventStoreOptions {
  /** Most events kept, across all streams; the oldest go first. Default 10,000. */
  maxEvents?: number;
}

const EVENT_STORE_OPTIONS = defineOptions<InMemoryEventStoreOptions>("InMemoryEventStore options", { maxEvents: option.integer({ min: 1 }) });

interface StoredEvent {
  streamId: string;
  sequence: number;
  message: JSONRPCMessage;
}

/**
 * Keeps the latest SSE events in memory so a Streamable HTTP client that lost its stream (or was
 * asked to poll) resumes with `Last-Event-ID` and misses nothing. Bounded: past `maxEvents` the
 * oldest are forgotten, and a client resuming from one of those gets HTTP 400 and starts over.
 * One process only; several replicas need a shared store.
 *
 * @example
 * await server.listen({ transport: "http", port: 3000, eventStore: new InMemoryEventStore(), retryIntervalMs: 1000 });
 */
export class InMemoryEventStore implements EventStore {
  private readonly events = new Map<string, StoredEvent>();
  private readonly maxEvents: number;
  private sequence = 0;

  constructor(options: InMemoryEventStoreOptions = {}) {
    const maxEvents = checkOptions(EVENT_STORE_OPTIONS, options).maxEvents ?? 10_000;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) throw new RangeError(`InMemoryEventStore needs maxEvents >= 1, got ${maxEvents}`);
    this.maxEvents = maxEvents;
  }

  /** Events held right now. */
  get size(): number {
    return this.events.size;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    // Stream ids are random UUIDs, so event ids of another session's streams cannot be guessed.
    const sequence = ++this.sequence;
    const eventId = `${streamId}_${sequence}`;
    this.events.set(eventId, { streamId, sequence, message });
    if (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next().value as string;
      this.events.delete(oldest);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error(`Unknown or expired event id; the client must start over`);
    for (const [eventId, event] of this.events) {
      if (event.streamId !== last.streamId || event.sequence <= last.sequence) continue;
      // Priming events carry no message: nothing to replay.
      if (Object.keys(event.message).length === 0) continue;
      await send(eventId, event.message);
    }
    return last.streamId;
  }
}
