import { constants as fsConstants, writeSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { describeError, LanternError, LanternErrorCode } from "../../core/errors.js";
import {
  epochOf,
  ENTRY_KEYS,
  EntrySigner,
  EpochKeys,
  GENESIS_HASH,
  HEAD_FORMAT,
  isEntryShaped,
  isHeadShaped,
  nextEpochKey,
  RECOVERY_KIND,
  RETENTION_KIND,
  signCanonical,
  unsignedHead,
  unsignedPart,
  type AuditEntry,
  type AuditHead,
  type AuditKey,
  type AuditRecovery,
} from "./audit-entry.js";
import type { AuditWitness } from "./audit-witness.js";
import { canonicalJson } from "../canonical-json.js";

/**
 * When an entry counts as written:
 * - `fsync`: on stable storage before the call answers (the file is opened with O_DSYNC, so each
 *   write returns once its data is durable, like write + fdatasync); survives power loss.
 * - `flush`: handed to the operating system (`write(2)` returned) before the call answers; survives a
 *   crash or SIGKILL of the process, not a power loss. The write is one `write(2)` per batch made on
 *   the main thread: a copy into the page cache takes a few µs, where a round trip through libuv's
 *   thread pool would add 100–200 µs to every call waiting on it.
 * - `none`: queued; written shortly after the call answers. Entries still land in order with an
 *   unbroken chain, but the last ones are lost if the process dies, and a failed write cannot fail
 *   the call any more (it is reported instead).
 */
export type AuditDurability = "fsync" | "flush" | "none";

/** An entry before the log numbers, chains and signs it. */
export type AuditRecord = Omit<AuditEntry, "seq" | "key_id" | "epoch" | "prev_hash" | "hmac">;

/**
 * How the signing key moves forward (forward security): a new epoch starts after `entries` entries,
 * after `intervalMs` (even when no call comes) and at every start; its key is HMAC-SHA256(previous
 * key, "lantern-audit-next-epoch") and the previous key's bytes are overwritten. A key taken from a
 * running server therefore cannot sign entries of earlier epochs.
 */
export interface AuditKeyEvolution {
  /** Entries per epoch; default 10,000. */
  entries?: number;
  /** Longest life of one key; default one hour. */
  intervalMs?: number;
}

/** How a server may resume a chain its head file does not vouch for. */
export type AuditRecoverMode = "accept-tail";

/** Removal of rotated files; a file is kept until the head (and every witness) covers its last entry. */
export interface AuditRetentionPolicy {
  /** Keep at most this many rotated files. */
  keep?: number;
  /** Remove rotated files last written longer ago than this. */
  maxAgeMs?: number;
}

/** Settings of an {@link AuditLog}. */
export interface AuditLogOptions {
  path: string;
  key: AuditKey;
  durability: AuditDurability;
  /** Start a new file when the current one would grow past this many bytes. */
  rotateBytes?: number;
  /** The signed head file; false writes none (tail truncation is then undetectable). */
  headPath: string | false;
  /** Warnings (torn line set aside, gap after a restart) and write failures, for the operator. */
  report: (message: string) => void;
  /** Key evolution; false signs every entry with the secret itself (epoch 0, the format before epochs). */
  keyEvolution?: AuditKeyEvolution | false;
  /** Resume even when the head file does not vouch for the log's end, recording a signed `chain-recovery` entry. */
  recover?: AuditRecoverMode;
  /** Where the signed head is also sent, every `witnessIntervalMs` and at close. */
  witnesses?: readonly AuditWitness[];
  /** Default 60,000 ms. */
  witnessIntervalMs?: number;
  /** Removal of old rotated files (with `rotateBytes`). */
  retention?: AuditRetentionPolicy;
}

/**
 * The log cannot be resumed safely: its head file does not vouch for its end (entries may have been
 * cut). `kind` is the verifier's problem kind; the message names the files and the way out.
 */
export class AuditChainError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = "AuditChainError";
  }
}

/**
 * The audit entry of a call could not be written, so the call fails: a result must not reach the
 * caller unaudited. The client sees only the error code; the path and reason go to the server log.
 */
export class AuditWriteError extends LanternError {
  constructor(reason: string) {
    super(LanternErrorCode.InternalError, `The call could not be recorded in the audit log (${reason}), so it failed; the server operator has the details`);
  }
}

interface Pending {
  record: AuditRecord;
  resolve: (entry: AuditEntry) => void;
  reject: (error: unknown) => void;
}

/** Largest group commit: bounds the buffer of one write. */
const MAX_BATCH_ENTRIES = 4096;
/** In `none` mode, appends wait once this many entries are queued (backpressure, bounded memory). */
const MAX_QUEUED = 8192;
/** The head is rewritten at most this often while entries keep coming. */
const HEAD_INTERVAL_MS = 25;
/** Reads of the file's tail grow by this much until a whole line is found. */
const TAIL_CHUNK = 64 * 1024;
/** How far back from the end a start checks the entries written after a lagging head. */
const MAX_LAG_SCAN_BYTES = 64 * 1024 * 1024;
const DEFAULT_EPOCH_ENTRIES = 10_000;
const DEFAULT_EPOCH_MS = 60 * 60_000;
const DEFAULT_WITNESS_MS = 60_000;

/**
 * The append-only, hash-chained, group-committed audit file behind {@link AuditMiddleware}.
 *
 * One writer loop: entries queued while a write (and its fsync) is in flight go out together in the
 * next write, numbered and chained in queue order. Seq and chain advance only when a write succeeded;
 * a failed write is cut back off the file (truncate to the size before it) so no partial line stays.
 *
 * @example
 * const log = new AuditLog({ path: "audit.jsonl", key: { id: "k1", secret }, durability: "fsync", headPath: "audit.jsonl.head.json", report: console.error });
 * await log.open();
 * const entry = await log.append(record);
 */
export class AuditLog {
  private fh: FileHandle | undefined;
  private size = 0;
  private seq = 0;
  private prevHash = GENESIS_HASH;
  private queue: Pending[] = [];
  private draining: Promise<void> | undefined;
  /**
   * Flush mode: the last write found its caller alone, so the next starts without waiting a turn of
   * the event loop; cleared when several such writes fall in one turn (see {@link turnEnded}).
   */
  private alone = false;
  private writesThisTurn = 0;
  private headWriting: Promise<void> | undefined;
  private headDirty = false;
  private opened: Promise<void> | undefined;
  private ready = false;
  private broken: string | undefined;
  private closed = false;
  private closing = false;
  private rotations = 0;
  private readonly evolving: boolean;
  private readonly epochLimit: number;
  private epoch = 0;
  /** The only key the writer holds: the current epoch's; overwritten when the epoch moves on. */
  private epochKey: Buffer = Buffer.alloc(0);
  /** Signs entries under {@link epochKey}; replaced (and wiped) with it. */
  private signer = new EntrySigner(this.epochKey);
  private epochEntries = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The next head written is the last one (a clean close). */
  private finalHead = false;
  /** The seq the head file on disk records. */
  private headCoveredSeq = 0;
  private readonly witnessedSeq = new Map<AuditWitness, number>();
  private witnessing: Promise<void> | undefined;
  private recovery: AuditRecovery | undefined;
  private retaining: Promise<void> | undefined;
  /**
   * A retention pass stopped at a file whose last entry (this seq) was not covered yet: the pass is
   * retried once the head and every witness cover it, not at every head update before that.
   */
  private retentionWaitsFor: number | undefined;
  /**
   * Writes made and entries written by this process (entries / writes is the group-commit factor);
   * heads handed to witnesses and failed witness deliveries.
   */
  readonly stats = { writes: 0, entries: 0, witnessed: 0, witnessFailures: 0 };
  /**
   * The replica id the log's own entries (chain recovery, retention) carry, like every call's entry:
   * set by the {@link AuditMiddleware} when its server is built, before the log opens.
   */
  replica: string | undefined;

  constructor(readonly options: AuditLogOptions) {
    const evolution = options.keyEvolution ?? {};
    this.evolving = evolution !== false;
    this.epochLimit = evolution === false ? Number.POSITIVE_INFINITY : (evolution.entries ?? DEFAULT_EPOCH_ENTRIES);
  }

  get path(): string {
    return this.options.path;
  }

  /** The seq of the last entry written (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The key epoch entries are being signed in (0 without key evolution). */
  get currentEpoch(): number {
    return this.epoch;
  }

  /**
   * Opens the file and resumes the chain from its last whole entry, after checking that the signed
   * head vouches for that end (else it rejects with {@link AuditChainError}, unless `recover` is
   * set); safe to call more than once.
   */
  open(): Promise<void> {
    return (this.opened ??= this.openOnce().then(
      async () => {
        this.ready = true;
        this.startTimers();
        if (this.recovery) {
          const recovery = { timestamp: new Date().toISOString(), replica: this.replica, kind: RECOVERY_KIND, recovery: this.recovery } as unknown as AuditRecord;
          await this.append(recovery);
        }
        // A fresh head at once: a clean-close head must not stay on disk while entries follow it.
        this.scheduleHead();
        await this.flush();
        if (this.options.retention) this.scheduleRetention();
      },
      async (error: unknown) => {
        // A refused start keeps no file handle open until a close that may never come.
        const fh = this.fh;
        this.fh = undefined;
        await fh?.close().catch(() => undefined);
        if (error instanceof AuditChainError) throw error;
        if ((error as NodeJS.ErrnoException)?.code) {
          throw new Error(`Cannot open the audit log ${this.path}: ${describeError(error)}; make sure its folder is writable by this process`);
        }
        throw error;
      },
    ));
  }

  /**
   * Queues an entry; resolves once it is written as `durability` says (at once in `none` mode,
   * unless the queue is full). Rejects with {@link AuditWriteError} when the write failed.
   */
  append(record: AuditRecord): Promise<AuditEntry | undefined> {
    if (this.closed) return Promise.reject(new AuditWriteError("the audit log is closed"));
    if (!this.ready) return this.open().then(() => this.append(record));
    if (this.options.durability === "none" && this.queue.length < MAX_QUEUED) {
      this.queue.push({ record, resolve: noop, reject: noop });
      this.startDraining();
      return Promise.resolve(undefined);
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.startDraining();
    });
  }

  /** Resolves when every queued entry is written and the head file is up to date. */
  async flush(): Promise<void> {
    while (this.draining || this.headWriting) await (this.draining ?? this.headWriting);
  }

  /** Flushes, then closes the file; later appends fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    // An open still under way would otherwise take its file handle and timers past the close.
    await this.opened?.catch(() => undefined);
    await this.flush();
    await this.retaining;
    if (this.options.retention && this.ready) {
      // The head now covers everything written: a last pass may remove what earlier ones had to keep.
      // The pass's own retention entry may rotate the file once more (a rotation during a pass
      // schedules none): then the head covers that file too after the flush, and one more pass runs.
      for (let pass = 0; pass < 3; pass++) {
        const rotations = this.rotations;
        this.scheduleRetention();
        await this.retaining;
        await this.flush();
        if (this.rotations === rotations) break;
      }
    }
    await this.flush();
    for (const timer of this.timers) clearInterval(timer);
    if (this.ready) {
      this.finalHead = true;
      this.scheduleHead();
      await this.flush();
      await this.witnessAll(true);
    }
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
    this.useKey(Buffer.alloc(0));
  }

  /** Sends the current signed head to every witness now (what the interval timer does); after close, nothing (the key is erased). */
  witnessNow(): Promise<void> {
    return this.closed ? Promise.resolve() : this.witnessAll(false);
  }

  /** Every file of this log, oldest first: the rotated ones (`<path>.1`, `<path>.2`, ...) then the live one. */
  async files(): Promise<string[]> {
    const numbers = await this.rotatedNumbers();
    return [...numbers.map((n) => `${this.path}.${n}`), this.path];
  }

  private startDraining(): void {
    if (this.draining) return;
    let start: Promise<void>;
    if (this.alone) {
      // A lone caller (stdio, one HTTP client) has no company to wait for: its write starts once the
      // current microtasks are done, a turn of the event loop sooner.
      start = Promise.resolve();
      if (this.writesThisTurn++ === 0) setImmediate(this.turnEnded);
    } else {
      // One turn of the event loop first, so calls that finish together (many HTTP clients) share the write.
      start = new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.draining = start.then(() => this.drain()).finally(() => { this.draining = undefined; });
  }

  /** After a turn of immediate writes: more than one means calls are finishing together, so they wait a turn to share a write again. */
  private readonly turnEnded = (): void => {
    if (this.writesThisTurn > 1) this.alone = false;
    this.writesThisTurn = 0;
  };

  /** O_DSYNC in fsync mode: each write returns once its data is on stable storage, one system call per batch. */
  private openLive(): Promise<FileHandle> {
    const { O_RDWR, O_APPEND, O_CREAT, O_DSYNC } = fsConstants;
    const flags = O_RDWR | O_APPEND | O_CREAT | (this.options.durability === "fsync" && O_DSYNC ? O_DSYNC : 0);
    return open(this.path, flags, 0o640);
  }

  private async drain(): Promise<void> {
    // In fsync mode a write started from idle takes half the queue: the calls it answers then run
    // while the other half's write waits on the disk, and from there on every write overlaps the
    // next group's work instead of all callers waiting on one write in lockstep.
    let half = this.options.durability === "fsync" && this.queue.length >= 2;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, half ? Math.min(Math.ceil(this.queue.length / 2), MAX_BATCH_ENTRIES) : MAX_BATCH_ENTRIES);
      half = false;
      // A flush-mode write that waited a turn for one entry only: the next ones need not wait.
      if (batch.length === 1 && this.options.durability === "flush") this.alone = true;
      await this.writeBatch(batch);
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    if (this.broken) {
      const error = new AuditWriteError(this.broken);
      for (const p of batch) p.reject(error);
      return;
    }
    const { id } = this.options.key;
    let seq = this.seq;
    let prev = this.prevHash;
    const written: { pending: Pending; entry: AuditEntry }[] = [];
    let text = "";
    for (const pending of batch) {
      try {
        if (this.epochEntries >= this.epochLimit) this.stepEpoch();
        const entry = sortedEntry(pending.record, seq + 1, id, prev, this.evolving ? this.epoch : undefined);
        const canonical = canonicalJson(entry, ENTRY_KEYS);
        const hmac = this.signer.sign(canonical);
        this.epochEntries += 1;
        entry.hmac = hmac;
        // The line is the signed bytes with the hmac appended: one serialisation per entry.
        text += canonical.slice(0, -1) + ',"hmac":"' + hmac + '"}\n';
        seq += 1;
        prev = hmac;
        written.push({ pending, entry });
      } catch (error) {
        // A value with no JSON form fails its own call only; the chain skips it.
        this.options.report(`audit: an entry for "${pending.record.tool}" could not be serialised: ${describeError(error)}`);
        pending.reject(new AuditWriteError("the entry could not be serialised"));
      }
    }
    if (written.length === 0) return;
    const buffer = Buffer.from(text, "utf8");
    let sizeBefore = this.size;
    let rotated = false;
    try {
      if (this.options.rotateBytes && this.size > 0 && this.size + buffer.length > this.options.rotateBytes) {
        await this.rotate();
        sizeBefore = 0;
        rotated = true;
      }
      const fh = this.fh!;
      if (this.options.durability === "fsync") {
        // A write that waits for stable storage (~1 ms) goes to the thread pool; the main thread keeps serving.
        let offset = 0;
        while (offset < buffer.length) offset += (await fh.write(buffer, offset, buffer.length - offset)).bytesWritten;
        if (!fsConstants.O_DSYNC) await fh.datasync();
      } else {
        for (let offset = 0; offset < buffer.length; ) offset += writeSync(fh.fd, buffer, offset, buffer.length - offset);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException)?.code ?? "write failed";
      await this.undo(sizeBefore);
      this.options.report(`audit: could not write ${written.length} entr${written.length === 1 ? "y" : "ies"} to ${this.path}: ${describeError(error)}; those calls failed and the chain did not advance`);
      const failure = new AuditWriteError(code);
      for (const w of written) w.pending.reject(failure);
      return;
    }
    this.size += buffer.length;
    this.stats.writes += 1;
    this.stats.entries += written.length;
    this.seq = seq;
    this.prevHash = prev;
    for (const w of written) w.pending.resolve(w.entry);
    this.scheduleHead();
    if (rotated && this.options.retention) this.scheduleRetention();
  }

  /** The next epoch: one HMAC; the old key's bytes are overwritten so this process no longer holds it. */
  private stepEpoch(): void {
    this.useKey(nextEpochKey(this.epochKey));
    this.epoch += 1;
    this.epochEntries = 0;
  }

  private startTimers(): void {
    const evolution = this.options.keyEvolution;
    const epochMs = evolution === false ? undefined : (evolution?.intervalMs ?? DEFAULT_EPOCH_MS);
    if (epochMs !== undefined) this.timers.push(setInterval(() => this.stepEpoch(), epochMs).unref());
    if (this.options.witnesses?.length) {
      this.timers.push(setInterval(() => void this.witnessAll(false), this.options.witnessIntervalMs ?? DEFAULT_WITNESS_MS).unref());
    }
  }

  /** The signed head of the chain as written so far, signed with the current epoch's key. */
  private signedHead(): AuditHead {
    const body: Omit<AuditHead, "signature"> = {
      format: HEAD_FORMAT,
      log: basename(this.path),
      seq: this.seq,
      hmac: this.prevHash,
      key_id: this.options.key.id,
      epoch: this.epoch,
      updated_at: new Date().toISOString(),
    };
    if (this.finalHead) body.closed = true;
    return { ...body, signature: signCanonical(this.epochKey, body) };
  }

  /** Off the calls' path: a failure is counted, reported as one JSON line and retried at the next interval. */
  private async witnessAll(final: boolean): Promise<void> {
    const witnesses = this.options.witnesses;
    if (!witnesses?.length) return;
    while (this.witnessing) await this.witnessing;
    const head = this.signedHead();
    this.witnessing = Promise.all(
      witnesses.map(async (witness) => {
        if (!final && this.witnessedSeq.get(witness) === head.seq) return;
        try {
          await witness.send(head);
          this.witnessedSeq.set(witness, head.seq);
          this.stats.witnessed += 1;
          this.retryRetention();
        } catch (error) {
          this.stats.witnessFailures += 1;
          this.options.report(
            JSON.stringify({
              event: "audit_witness_failed",
              witness: witness.name,
              log: this.path,
              seq: head.seq,
              failures: this.stats.witnessFailures,
              error: describeError(error).slice(0, 300),
              retry: final ? "none: the log is closing" : `in ${this.options.witnessIntervalMs ?? DEFAULT_WITNESS_MS} ms`,
            }),
          );
        }
      }),
    ).then(
      () => undefined,
      () => undefined,
    );
    try {
      await this.witnessing;
    } finally {
      this.witnessing = undefined;
    }
  }

  /** The highest seq both the head file and every witness hold: files up to it may be removed. */
  private coveredSeq(): number {
    let covered = this.options.headPath === false ? this.seq : this.headCoveredSeq;
    for (const witness of this.options.witnesses ?? []) covered = Math.min(covered, this.witnessedSeq.get(witness) ?? 0);
    return covered;
  }

  private scheduleRetention(): void {
    this.retaining ??= this.retain()
      .catch((error: unknown) => this.options.report(`audit: retention of ${this.path}'s rotated files failed: ${describeError(error)}`))
      .finally(() => {
        this.retaining = undefined;
        // Coverage that arrived while the pass ran is not lost.
        this.retryRetention();
      });
  }

  /** Resumes a retention pass that stopped at a file, once that file is covered (never while closing: close runs the last pass). */
  private retryRetention(): void {
    const waitsFor = this.retentionWaitsFor;
    if (waitsFor !== undefined && !this.closing && this.coveredSeq() >= waitsFor) this.scheduleRetention();
  }

  /**
   * Removes the oldest rotated files beyond `retention.keep` or older than `retention.maxAgeMs`,
   * never one holding an entry the head file or a witness does not cover yet, and records what it
   * removed in a signed `retention` entry (so a verifier accepts a chain that starts later).
   */
  private async retain(): Promise<void> {
    this.retentionWaitsFor = undefined;
    const { keep, maxAgeMs } = this.options.retention!;
    const numbers = await this.rotatedNumbers();
    const removed: { name: string; seq: number; hmac: string }[] = [];
    for (let i = 0; i < numbers.length; i++) {
      const file = `${this.path}.${numbers[i]}`;
      const overCount = keep !== undefined && numbers.length - i > keep;
      const overAge = maxAgeMs !== undefined && (await stat(file)).mtimeMs < Date.now() - maxAgeMs;
      if (!overCount && !overAge) break;
      const last = await lastEntryOf(file);
      const covered = this.coveredSeq();
      if (!last || last.seq > covered) {
        this.retentionWaitsFor = last ? last.seq : covered + 1;
        break;
      }
      await unlink(file);
      removed.push({ name: basename(file), seq: last.seq, hmac: last.hmac });
    }
    if (removed.length === 0) return;
    const through = removed.at(-1)!;
    this.options.report(`audit: retention removed ${removed.map((r) => r.name).join(", ")} (entries up to seq ${through.seq}, covered by the head${this.options.witnesses?.length ? " and every witness" : ""})`);
    const record = {
      timestamp: new Date().toISOString(),
      replica: this.replica,
      kind: RETENTION_KIND,
      retention: { through_seq: through.seq, through_hmac: through.hmac, files: removed.map((r) => r.name) },
    } as unknown as AuditRecord;
    if (!this.closed) await this.append(record).catch(() => undefined);
  }

  /** Cuts a failed write back off the file; if even that fails, the log refuses further writes. */
  private async undo(size: number): Promise<void> {
    try {
      if (!this.fh) this.fh = await this.openLive();
      const { size: now } = await this.fh.stat();
      if (now !== size) await this.fh.truncate(size);
      this.size = size;
    } catch (error) {
      this.broken = "the audit log is in an unknown state after a failed write; restart the server";
      this.options.report(`audit: could not cut a failed write back off ${this.path} (${describeError(error)}); refusing further writes until the server restarts`);
    }
  }

  private async rotate(): Promise<void> {
    const fh = this.fh!;
    this.fh = undefined;
    await fh.close();
    const target = `${this.path}.${this.rotations + 1}`;
    await rename(this.path, target);
    this.rotations += 1;
    this.fh = await this.openLive();
    this.size = 0;
    if (this.options.durability === "fsync") await syncDirectory(dirname(this.path));
  }

  private scheduleHead(): void {
    if (this.options.headPath === false) return;
    this.headDirty = true;
    this.headWriting ??= this.writeHeads().finally(() => { this.headWriting = undefined; });
  }

  /**
   * Writes the head off the calls' path, coalesced: at most one write in flight and one per
   * HEAD_INTERVAL_MS, always the newest state (its sync would otherwise compete with the log's).
   */
  private async writeHeads(): Promise<void> {
    const headPath = this.options.headPath as string;
    let first = true;
    while (this.headDirty) {
      if (!first && !this.closing) await new Promise((resolve) => setTimeout(resolve, HEAD_INTERVAL_MS));
      first = false;
      this.headDirty = false;
      const head = this.signedHead();
      const temp = `${headPath}.tmp-${process.pid}`;
      try {
        const fh = await open(temp, "w");
        try {
          await fh.writeFile(JSON.stringify(head) + "\n");
          if (this.options.durability === "fsync") await fh.datasync();
        } finally {
          await fh.close();
        }
        await rename(temp, headPath);
        this.headCoveredSeq = head.seq;
        this.retryRetention();
      } catch (error) {
        this.options.report(`audit: could not update the head file ${headPath}: ${describeError(error)}`);
      }
    }
  }

  private async rotatedNumbers(): Promise<number[]> {
    const base = basename(this.path);
    let names: string[];
    try {
      names = await readdir(dirname(this.path));
    } catch {
      return [];
    }
    const numbers: number[] = [];
    for (const name of names) {
      if (!name.startsWith(base + ".")) continue;
      const suffix = name.slice(base.length + 1);
      if (/^[1-9][0-9]*$/.test(suffix)) numbers.push(Number(suffix));
    }
    return numbers.sort((a, b) => a - b);
  }

  private async openOnce(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await this.removeStaleTemps();
    const rotated = await this.rotatedNumbers();
    this.rotations = rotated.at(-1) ?? 0;
    this.fh = await this.openLive();
    let size = (await this.fh.stat()).size;
    size = await this.setAsideTornLine(this.fh, size);
    this.size = size;
    let last: AuditEntry | undefined;
    if (size > 0) last = await readLastEntry(this.fh, size, this.path);
    else if (rotated.length > 0) last = await lastEntryOf(`${this.path}.${rotated.at(-1)}`);
    const keys = new EpochKeys(this.options.key.secret);
    const { head, problem } = await this.checkHead(last, keys);
    if (problem) {
      if (this.options.recover !== "accept-tail") {
        throw new AuditChainError(
          problem.kind,
          `Cannot resume the audit log ${this.path} (${problem.kind}): ${problem.message}. Run \`lantern audit verify ${this.path}*\` to see what is wrong, keep the files as evidence, and start once with the AuditMiddleware option recover: "accept-tail" to continue this chain from its last entry; the restart is then recorded in the chain as a signed chain-recovery entry`,
        );
      }
      this.recovery = { problem: problem.kind, message: problem.message, log_seq: last?.seq ?? 0 };
      if (head) {
        this.recovery.head_seq = head.seq;
        this.recovery.head_hmac = head.hmac;
      }
      this.options.report(`audit: recover: "accept-tail": resuming ${this.path} after seq ${last?.seq ?? 0} although ${problem.message}; a signed chain-recovery entry records it`);
    } else if (this.options.recover) {
      this.options.report(`audit: recover: "${this.options.recover}" is set but ${this.path} needs no recovery; remove the option so that a cut tail stops the server again`);
    }
    if (last) {
      this.seq = last.seq;
      this.prevHash = last.hmac;
      if (last.key_id === this.options.key.id && !verifies(keys.at(epochOf(last)!), last)) {
        this.options.report(`audit: the last entry of ${this.path} (seq ${last.seq}) does not verify with the current key; it was changed after it was written. Continuing the chain after it; run \`lantern audit verify\` on the file`);
      }
    }
    // Every start opens a new epoch, so the key of a previous run is never used again.
    let epoch = 0;
    if (this.evolving && (last || head)) epoch = Math.max(last ? epochOf(last)! : 0, head ? epochOf(head)! : 0) + 1;
    this.epoch = epoch;
    this.useKey(Buffer.from(keys.at(epoch)));
  }

  /** Signs with `key` from now on; the previous key's bytes (and its signer's pads) are overwritten. */
  private useKey(key: Buffer): void {
    this.epochKey.fill(0);
    this.signer.wipe();
    this.epochKey = key;
    this.signer = new EntrySigner(key);
  }

  /**
   * Whether the signed head vouches for the end of the log: absent next to entries, unreadable,
   * not signed with this key, ahead of the log, or a different entry at its seq all stop a start. A
   * head behind the log is what a crash between a write and the head's update leaves: accepted when
   * the entries after it follow it in the chain and verify (only the key holder can write them),
   * unless that head was written by a clean close (then the log cannot have grown after it).
   */
  private async checkHead(last: AuditEntry | undefined, keys: EpochKeys): Promise<{ head?: AuditHead; problem?: { kind: string; message: string } }> {
    const headPath = this.options.headPath;
    if (headPath === false) return {};
    const lastSeq = last?.seq ?? 0;
    let text: string;
    try {
      text = await readFile(headPath, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      if (!last) return {};
      return { problem: { kind: "missing-head", message: `the log holds entries up to seq ${lastSeq} but its head file ${headPath} is missing, so entries may have been cut from the end` } };
    }
    let head: unknown;
    try {
      head = JSON.parse(text);
    } catch {
      head = undefined;
    }
    if (!isHeadShaped(head)) return { problem: { kind: "missing-head", message: `the head file ${headPath} is not a Lantern audit head` } };
    if (head.key_id !== this.options.key.id || signCanonical(keys.at(epochOf(head)!), unsignedHead(head as unknown as Record<string, unknown>)) !== head.signature) {
      return { problem: { kind: "wrong-key", message: `the head file ${headPath} is not signed with this server's key (key id "${this.options.key.id}"; the head says "${head.key_id}"): it was forged, or the secret changed` } };
    }
    if (head.log !== undefined && head.log !== basename(this.path)) {
      return { head, problem: { kind: "wrong-key", message: `the head file ${headPath} belongs to the log "${head.log}", not ${basename(this.path)}` } };
    }
    if (head.seq > lastSeq) {
      return { head, problem: { kind: "truncated-tail", message: `the log ends at seq ${lastSeq} but its head file ${headPath} records seq ${head.seq}: entries ${lastSeq + 1}…${head.seq} were removed` } };
    }
    if (head.seq === lastSeq) {
      if (last && head.hmac !== last.hmac) return { head, problem: { kind: "modified", message: `seq ${lastSeq}, the log's last entry, is not the entry its head file ${headPath} records: the end of the log was rewritten` } };
      return { head };
    }
    if (head.closed) {
      return { head, problem: { kind: "stale-head", message: `the head file ${headPath} was written when the log was closed at seq ${head.seq}, yet the log continues to seq ${lastSeq}: an older head was put back` } };
    }
    const after = await this.entriesAfter(head.seq);
    const why = after ? this.lagProblem(head, after, keys) : `more than ${MAX_LAG_SCAN_BYTES} bytes of entries follow it`;
    if (why) return { head, problem: { kind: "stale-head", message: `the head file ${headPath} records seq ${head.seq} and the log continues to seq ${lastSeq}, but ${why}` } };
    this.options.report(`audit: the head of ${this.path} was ${lastSeq - head.seq} entr${lastSeq - head.seq === 1 ? "y" : "ies"} behind the log (the process stopped before updating it); the entries after it verify, continuing`);
    return { head };
  }

  /** Why the entries after a lagging head are not its signed continuation; undefined when they are. */
  private lagProblem(head: AuditHead, after: AuditEntry[], keys: EpochKeys): string | undefined {
    let prev = head.hmac;
    let seq = head.seq;
    for (const entry of after) {
      if (entry.seq !== seq + 1 || entry.prev_hash !== prev) return `seq ${entry.seq} does not follow seq ${seq} of the head in the chain`;
      if (entry.key_id !== this.options.key.id || !verifies(keys.at(epochOf(entry)!), entry)) return `seq ${entry.seq} after it does not verify with this server's key`;
      prev = entry.hmac;
      seq = entry.seq;
    }
    return undefined;
  }

  /**
   * The entries after `seq`, oldest first, read backwards from the end of the newest file (and into
   * older files when needed), at most MAX_LAG_SCAN_BYTES; undefined when there are more or a line
   * is not an entry.
   */
  private async entriesAfter(seq: number): Promise<AuditEntry[] | undefined> {
    const files = await this.files();
    const after: AuditEntry[] = [];
    let budget = MAX_LAG_SCAN_BYTES;
    for (let i = files.length - 1; i >= 0; i--) {
      const fh = await open(files[i]!, "r").catch(() => undefined);
      if (!fh) continue;
      try {
        const size = (await fh.stat()).size;
        let span = Math.min(TAIL_CHUNK, size);
        for (;;) {
          if (span > budget) return undefined;
          const buffer = Buffer.alloc(span);
          await fh.read(buffer, 0, span, size - span);
          let lines = buffer.toString("utf8").split("\n");
          if (span < size) lines = lines.slice(1);
          const entries: AuditEntry[] = [];
          for (const line of lines) {
            if (line === "") continue;
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch {
              return undefined;
            }
            if (!isEntryShaped(parsed)) return undefined;
            entries.push(parsed);
          }
          const reached = entries.length > 0 && entries[0]!.seq <= seq;
          if (reached || span === size) {
            budget -= span;
            after.unshift(...entries.filter((e) => e.seq > seq));
            if (reached) return after;
            break;
          }
          span = Math.min(size, span * 2);
        }
      } finally {
        await fh.close();
      }
    }
    return after;
  }

  /** `<head>.tmp-<pid>` files of processes that died mid-update (kill -9): never renamed, only clutter. */
  private async removeStaleTemps(): Promise<void> {
    const headPath = this.options.headPath;
    if (headPath === false) return;
    const prefix = `${basename(headPath)}.tmp-`;
    let names: string[];
    try {
      names = await readdir(dirname(headPath));
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length));
      if (!Number.isSafeInteger(pid) || pid <= 0 || (pid !== process.pid && processAlive(pid))) continue;
      try {
        await unlink(join(dirname(headPath), name));
        this.options.report(`audit: removed ${name}, a head update left unfinished by a process that stopped (pid ${pid})`);
      } catch {
        // Gone already, or not ours to remove: nothing depends on it.
      }
    }
  }

  /**
   * A crash mid-write leaves a last line without its newline. It is copied aside to
   * `<path>.torn-<time>` and cut off, so the next entry starts on a line of its own.
   */
  private async setAsideTornLine(fh: FileHandle, size: number): Promise<number> {
    if (size === 0) return 0;
    const lastByte = Buffer.alloc(1);
    await fh.read(lastByte, 0, 1, size - 1);
    if (lastByte[0] === 0x0a) return size;
    const keep = (await lastNewline(fh, size)) + 1;
    const torn = Buffer.alloc(size - keep);
    await fh.read(torn, 0, torn.length, keep);
    const aside = `${this.path}.torn-${Date.now()}`;
    await writeFile(aside, torn);
    await fh.truncate(keep);
    await fh.datasync();
    this.options.report(`audit: ${this.path} ended with a torn line (${torn.length} bytes after the last whole entry, from a crash mid-write); it was moved to ${aside} and the chain continues from the last whole entry`);
    return keep;
  }
}

const noop = (): void => {};

/** Whether an entry's hmac verifies with `key`; an entry nested too deeply to serialise does not. */
function verifies(key: Buffer, entry: AuditEntry): boolean {
  try {
    return signCanonical(key, unsignedPart(entry as unknown as Record<string, unknown>)) === entry.hmac;
  } catch {
    return false;
  }
}

/** Whether a process with this id runs (another writer's temporary head file is left alone). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The offset of the last newline before `end`, or -1. */
async function lastNewline(fh: FileHandle, end: number): Promise<number> {
  let position = end;
  const chunk = Buffer.alloc(TAIL_CHUNK);
  while (position > 0) {
    const length = Math.min(TAIL_CHUNK, position);
    position -= length;
    await fh.read(chunk, 0, length, position);
    const index = chunk.subarray(0, length).lastIndexOf(0x0a);
    if (index >= 0) return position + index;
  }
  return -1;
}

/** Parses the last line of a file that ends with a newline. */
async function readLastEntry(fh: FileHandle, size: number, path: string): Promise<AuditEntry> {
  const start = (await lastNewline(fh, size - 1)) + 1;
  const line = Buffer.alloc(size - 1 - start);
  await fh.read(line, 0, line.length, start);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (!isEntryShaped(parsed)) {
    throw new Error(`Cannot resume the audit log ${path}: its last line is not an audit entry, so something other than Lantern changed the file. Run \`lantern audit verify ${path}\` to see what, then move the file aside (keep it as evidence) and start again`);
  }
  return parsed;
}

/** The last entry of a file no longer written to (a rotated one); undefined when it is empty. */
async function lastEntryOf(path: string): Promise<AuditEntry | undefined> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    return size > 0 ? await readLastEntry(fh, size, path) : undefined;
  } finally {
    await fh.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  try {
    const fh = await open(path, "r");
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still ordered after the data.
  }
}

/**
 * The entry with its keys in canonical (sorted) order, so the signer writes it with JSON.stringify;
 * a record with a key outside {@link ENTRY_KEYS} keeps the plain spread (and signs the general way).
 */
function sortedEntry(record: AuditRecord, seq: number, keyId: string, prevHash: string, epoch: number | undefined): AuditEntry {
  const fields: Record<string, unknown> = record as unknown as Record<string, unknown>;
  const entry: Record<string, unknown> = {};
  let copied = 0;
  for (const name of ENTRY_KEYS.names) {
    switch (name) {
      case "seq": entry.seq = seq; break;
      case "key_id": entry.key_id = keyId; break;
      case "prev_hash": entry.prev_hash = prevHash; break;
      case "epoch": if (epoch !== undefined) entry.epoch = epoch; break;
      default:
        if (Object.hasOwn(fields, name)) {
          entry[name] = fields[name];
          copied += 1;
        }
    }
  }
  if (copied === Object.keys(fields).length) return entry as unknown as AuditEntry;
  const spread = { seq, ...record, key_id: keyId, prev_hash: prevHash } as AuditEntry;
  if (epoch !== undefined) spread.epoch = epoch;
  return spread;
}
