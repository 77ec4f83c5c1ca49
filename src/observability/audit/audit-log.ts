import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, writeFile, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { describeError, LanternError, LanternErrorCode } from "../../core/errors.js";
import {
  GENESIS_HASH,
  HEAD_FORMAT,
  hmacHex,
  isEntryShaped,
  isHeadShaped,
  signCanonical,
  unsignedHead,
  unsignedPart,
  type AuditEntry,
  type AuditHead,
  type AuditKey,
} from "./audit-entry.js";
import { canonicalJson } from "./canonical-json.js";

/**
 * When an entry counts as written:
 * - `fsync`: on stable storage before the call answers (the file is opened with O_DSYNC, so each
 *   write returns once its data is durable, like write + fdatasync); survives power loss.
 * - `flush`: handed to the operating system (`write(2)` returned) before the call answers; survives a
 *   crash or SIGKILL of the process, not a power loss.
 * - `none`: queued; written shortly after the call answers. Entries still land in order with an
 *   unbroken chain, but the last ones are lost if the process dies, and a failed write cannot fail
 *   the call any more (it is reported instead).
 */
export type AuditDurability = "fsync" | "flush" | "none";

/** An entry before the log numbers, chains and signs it. */
export type AuditRecord = Omit<AuditEntry, "seq" | "key_id" | "prev_hash" | "hmac">;

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
  private headWriting: Promise<void> | undefined;
  private headDirty = false;
  private opened: Promise<void> | undefined;
  private ready = false;
  private broken: string | undefined;
  private closed = false;
  private closing = false;
  private rotations = 0;
  /** Writes made and entries written by this process: entries / writes is the group-commit factor. */
  readonly stats = { writes: 0, entries: 0 };

  constructor(readonly options: AuditLogOptions) {}

  get path(): string {
    return this.options.path;
  }

  /** The seq of the last entry written (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Opens the file and resumes the chain from its last whole entry; safe to call more than once. */
  open(): Promise<void> {
    return (this.opened ??= this.openOnce().then(
      () => { this.ready = true; },
      (error: unknown) => {
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
    await this.flush();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }

  /** Every file of this log, oldest first: the rotated ones (`<path>.1`, `<path>.2`, ...) then the live one. */
  async files(): Promise<string[]> {
    const numbers = await this.rotatedNumbers();
    return [...numbers.map((n) => `${this.path}.${n}`), this.path];
  }

  private startDraining(): void {
    // One turn of the event loop first, so calls that finish together share the first write too.
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => { this.draining = undefined; });
  }

  /** O_DSYNC in fsync mode: each write returns once its data is on stable storage, one system call per batch. */
  private openLive(): Promise<FileHandle> {
    const { O_RDWR, O_APPEND, O_CREAT, O_DSYNC } = fsConstants;
    const flags = O_RDWR | O_APPEND | O_CREAT | (this.options.durability === "fsync" && O_DSYNC ? O_DSYNC : 0);
    return open(this.path, flags, 0o640);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH_ENTRIES);
      await this.writeBatch(batch);
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    if (this.broken) {
      const error = new AuditWriteError(this.broken);
      for (const p of batch) p.reject(error);
      return;
    }
    const { id, secret } = this.options.key;
    let seq = this.seq;
    let prev = this.prevHash;
    const written: { pending: Pending; entry: AuditEntry }[] = [];
    let text = "";
    for (const pending of batch) {
      try {
        const entry = { seq: seq + 1, ...pending.record, key_id: id, prev_hash: prev } as AuditEntry;
        const canonical = canonicalJson(entry);
        const hmac = hmacHex(secret, canonical);
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
    try {
      if (this.options.rotateBytes && this.size > 0 && this.size + buffer.length > this.options.rotateBytes) {
        await this.rotate();
        sizeBefore = 0;
      }
      const fh = this.fh!;
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesWritten } = await fh.write(buffer, offset, buffer.length - offset);
        offset += bytesWritten;
      }
      if (this.options.durability === "fsync" && !fsConstants.O_DSYNC) await fh.datasync();
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
      const body = { format: HEAD_FORMAT, seq: this.seq, hmac: this.prevHash, key_id: this.options.key.id, updated_at: new Date().toISOString() };
      const head: AuditHead = { ...body, signature: signCanonical(this.options.key.secret, body) };
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
    const rotated = await this.rotatedNumbers();
    this.rotations = rotated.at(-1) ?? 0;
    this.fh = await this.openLive();
    let size = (await this.fh.stat()).size;
    size = await this.setAsideTornLine(this.fh, size);
    this.size = size;
    let last: AuditEntry | undefined;
    if (size > 0) last = await readLastEntry(this.fh, size, this.path);
    else if (rotated.length > 0) {
      const previous = `${this.path}.${rotated.at(-1)}`;
      const fh = await open(previous, "r");
      try {
        const previousSize = (await fh.stat()).size;
        if (previousSize > 0) last = await readLastEntry(fh, previousSize, previous);
      } finally {
        await fh.close();
      }
    }
    if (last) {
      this.seq = last.seq;
      this.prevHash = last.hmac;
      if (last.key_id === this.options.key.id && !verifies(this.options.key.secret, last)) {
        this.options.report(`audit: the last entry of ${this.path} (seq ${last.seq}) does not verify with the current key; it was changed after it was written. Continuing the chain after it; run \`lantern audit verify\` on the file`);
      }
    }
    await this.resumeAfterHead();
  }

  /** A head ahead of the file means entries were removed while the server was down: keep the gap visible. */
  private async resumeAfterHead(): Promise<void> {
    if (this.options.headPath === false) return;
    let head: unknown;
    try {
      head = JSON.parse(await readFile(this.options.headPath, "utf8"));
    } catch {
      return;
    }
    if (!isHeadShaped(head) || head.key_id !== this.options.key.id) return;
    if (signCanonical(this.options.key.secret, unsignedHead(head as unknown as Record<string, unknown>)) !== head.signature) {
      this.options.report(`audit: the head file ${this.options.headPath} does not verify with the current key; ignoring it`);
      return;
    }
    if (head.seq > this.seq) {
      this.options.report(`audit: ${this.path} ends at seq ${this.seq} but its head says seq ${head.seq} was written: entries were removed. Continuing after seq ${head.seq} so the gap stays visible to verifiers`);
      this.seq = head.seq;
      this.prevHash = head.hmac;
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

/** Whether an entry's hmac verifies with `secret`; an entry nested too deeply to serialise does not. */
function verifies(secret: string, entry: AuditEntry): boolean {
  try {
    return signCanonical(secret, unsignedPart(entry as unknown as Record<string, unknown>)) === entry.hmac;
  } catch {
    return false;
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

async function syncDirectory(path: string): Promise<void> {
  try {
    const fh = await open(path, "r");
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still ordered after the data.
  }
}

