import { checkOptions, defineOptions, option } from "../../core/options.js";
import { isEntryShaped } from "./audit-entry.js";
import { auditFileLines, MAX_AUDIT_LINE_BYTES } from "./verify-audit-log.js";

/**
 * One line of a fleet's merged audit timeline: when, which replica, which entry of its chain, what
 * was called, how it ended and by whom.
 *
 * @example
 * for await (const e of new AuditFleetTimeline(fleet.chains)) console.log(e.time, e.replica, e.seq, e.tool, e.status);
 */
export interface AuditTimelineEntry {
  /** The entry's `timestamp`: when the call started (ISO 8601). */
  time: string;
  replica: string;
  seq: number;
  /** `tool`, `resource`, `prompt`, or a record of the log itself (`chain-recovery`, `retention`). */
  kind: string;
  /** The tool or prompt name, or the resource URI; empty for the log's own records. */
  tool: string;
  status: string;
  client_id: string;
}

/** A chain to read: its replica and its files in chain order (what a fleet verification reports). */
export interface AuditTimelineChain {
  replica: string;
  files: readonly string[];
}

/**
 * Options of {@link AuditFleetTimeline}.
 *
 * @example
 * new AuditFleetTimeline(fleet.chains, { window: 50_000 } satisfies AuditFleetTimelineOptions);
 */
export interface AuditFleetTimelineOptions {
  /** Entries held per chain to put it in time order (memory is bounded by it). Default 10,000. */
  window?: number;
}

const TIMELINE_OPTIONS = defineOptions<AuditFleetTimelineOptions>("AuditFleetTimeline options", { window: option.integer({ min: 1 }) }, { windowSize: 'use "window"' });

interface Item extends AuditTimelineEntry {
  /** `time` as milliseconds (unparsable times sort last). */
  ms: number;
}

const before = (a: Item, b: Item): boolean => a.ms < b.ms || (a.ms === b.ms && (a.replica < b.replica || (a.replica === b.replica && a.seq < b.seq)));

/** A binary min-heap: the k-way merge and the per-chain reordering window. */
class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < items.length && this.less(items[l]!, items[least]!)) least = l;
        if (r < items.length && this.less(items[r]!, items[least]!)) least = r;
        if (least === i) break;
        [items[i], items[least]] = [items[least]!, items[i]!];
        i = least;
      }
    }
    return top;
  }
}

/** The entries of one chain, in file order, reduced to what a timeline line shows. */
async function* chainEntries(chain: AuditTimelineChain): AsyncGenerator<Item> {
  for (const file of chain.files) {
    for await (const { text, terminated, tooLong } of auditFileLines(file, MAX_AUDIT_LINE_BYTES)) {
      if (!terminated || tooLong || text.length === 0) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue;
      }
      if (!isEntryShaped(parsed)) continue;
      const time = typeof parsed.timestamp === "string" ? parsed.timestamp : "";
      const ms = Date.parse(time);
      yield {
        time,
        replica: typeof parsed.replica === "string" ? parsed.replica : chain.replica,
        seq: parsed.seq,
        kind: String(parsed.kind ?? ""),
        tool: typeof parsed.tool === "string" ? parsed.tool : "",
        status: typeof parsed.status === "string" ? parsed.status : "",
        client_id: typeof parsed.client_id === "string" ? parsed.client_id : "",
        ms: Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms,
      };
    }
  }
}

/**
 * The merged timeline of several replicas' audit chains, ordered by time, then replica, then seq.
 * A chain is written in the order calls end while entries carry the time they started, so each
 * chain is put in time order through a window of `window` entries; the chains are then merged
 * k-way. Memory stays bounded by `window` entries per chain, whatever the size of the files. An
 * entry more than the window out of order comes out late and is counted in {@link late}.
 *
 * @example
 * const timeline = new AuditFleetTimeline(fleet.chains);
 * for await (const e of timeline) console.log(`${e.time} ${e.replica} #${e.seq} ${e.tool} ${e.status}`);
 */
export class AuditFleetTimeline implements AsyncIterable<AuditTimelineEntry> {
  /** Entries that came out after a later one of their chain (more than the window out of order). */
  late = 0;
  /** Entries held per chain to put it in time order. */
  readonly window: number;

  constructor(
    private readonly chains: readonly AuditTimelineChain[],
    options: AuditFleetTimelineOptions = {},
  ) {
    this.window = checkOptions(TIMELINE_OPTIONS, options).window ?? 10_000;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AuditTimelineEntry> {
    const cursors = new MinHeap<{ head: Item; rest: AsyncGenerator<Item> }>((a, b) => before(a.head, b.head));
    const opened: AsyncGenerator<Item>[] = [];
    try {
      for (const chain of this.chains) {
        if (chain.files.length === 0) continue;
        const rest = this.inTimeOrder(chainEntries(chain));
        opened.push(rest);
        const first = await rest.next();
        if (!first.done) cursors.push({ head: first.value, rest });
      }
      for (let cursor = cursors.pop(); cursor; cursor = cursors.pop()) {
        const { ms: _ms, ...entry } = cursor.head;
        yield entry;
        const next = await cursor.rest.next();
        if (!next.done) cursors.push({ head: next.value, rest: cursor.rest });
      }
    } finally {
      // A reader that stops early (or a chain that fails) leaves no other chain's file open.
      await Promise.allSettled(opened.map((rest) => rest.return(undefined)));
    }
  }

  /** The items of one chain in time order, through a window of `window` items. */
  private async *inTimeOrder(source: AsyncIterable<Item>): AsyncGenerator<Item> {
    const pending = new MinHeap<Item>(before);
    let last: Item | undefined;
    const out = (item: Item): Item => {
      if (last && before(item, last)) this.late += 1;
      else last = item;
      return item;
    };
    for await (const item of source) {
      pending.push(item);
      if (pending.size > this.window) yield out(pending.pop()!);
    }
    while (pending.size > 0) yield out(pending.pop()!);
  }
}
