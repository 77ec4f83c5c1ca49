import { closeSync, openSync, renameSync, statSync, write } from "node:fs";
import { Writable } from "node:stream";
import { describeError } from "../../core/errors.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";

/**
 * Where {@link StructuredLoggingMiddleware} writes its JSON lines when given `file`.
 *
 * @example
 * new StructuredLoggingMiddleware({ file: { path: "var/calls.jsonl", maxBytes: 64 * 1024 * 1024, maxFiles: 5 } });
 */
export interface LogFileOptions {
  /** The file lines are appended to (created with mode 0640; its folder must exist). */
  path: string;
  /** Longest time a line waits before its batch is written, ms. Default 5. */
  flushMs?: number;
  /** Rotate when the file would grow past this many bytes: `path` → `path.1` → `path.2` ... Default: never. */
  maxBytes?: number;
  /** Rotated files kept (with `maxBytes`). Default 5. */
  maxFiles?: number;
}

/** The rules of {@link LogFileOptions}. */
const LOG_FILE_OPTIONS = defineOptions<LogFileOptions>("StructuredLoggingMiddleware file options", {
  path: option.required(option.string({ nonEmpty: true }), "it is the file the lines are appended to"),
  flushMs: option.integer({ min: 0, max: 60_000 }),
  maxBytes: option.integer({ min: 4096 }),
  maxFiles: option.integer({ min: 1, max: 1000 }),
}, { filename: 'use "path"', maxsize: 'use "maxBytes"', maxSize: 'use "maxBytes"', interval: 'use "flushMs"' });

/** The `file` option checked, a path made `{ path }`; `maxFiles` without `maxBytes` (which nothing would rotate) is refused. */
export function checkLogFileOptions(file: string | LogFileOptions): LogFileOptions {
  const options = checkOptions(LOG_FILE_OPTIONS, typeof file === "string" ? { path: file } : file);
  if (options.maxFiles !== undefined && options.maxBytes === undefined) {
    throw new TypeError(`${LOG_FILE_OPTIONS.owner}: "maxFiles" keeps rotated files, and files rotate only past "maxBytes"; set "maxBytes" too, or leave "maxFiles" out`);
  }
  return options;
}

/** A batch is written at once when it reaches this size. */
const BATCH_BYTES = 256 * 1024;
/** Bytes buffered (waiting and in flight) past which writers wait for the disk. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * A stream of log lines appended to a file in batches: lines that arrive within `flushMs` of each
 * other go out in one write, off the main thread. One write per line (what a file stream does when
 * each line arrives after the previous write finished) costs a thread-pool round trip per call.
 * Memory is bounded: past 8 MiB buffered, writers wait. A failed write is reported on stderr with
 * the number of lines it held; later lines keep being written.
 */
export class LogFile extends Writable {
  private readonly path: string;
  private readonly flushMs: number;
  /** Cleared when a rotation fails: the file then keeps growing, without a retry (and a notice) per write. */
  private maxBytes: number | undefined;
  private readonly maxFiles: number;
  private fd: number;
  private size: number;
  /** Lines not yet handed to a write, and their bytes. */
  private chunks: Buffer[] = [];
  private queued = 0;
  /** Bytes of the write in flight. */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** A writer held back while the buffer is full; released when a write completes. */
  private waiting: (() => void) | undefined;
  private finishing: (() => void) | undefined;

  /** `options` as {@link checkLogFileOptions} returned them. */
  constructor(options: LogFileOptions) {
    super({ decodeStrings: true });
    this.path = options.path;
    this.flushMs = options.flushMs ?? 5;
    this.maxBytes = options.maxBytes;
    this.maxFiles = options.maxFiles ?? 5;
    try {
      this.fd = openSync(this.path, "a", 0o640);
      this.size = statSync(this.path).size;
    } catch (error) {
      throw new Error(`StructuredLoggingMiddleware cannot open the log file ${this.path}: ${describeError(error)}; create its folder and make it writable by this process`);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
    if (this.queued + this.inFlight < MAX_BUFFERED_BYTES) done();
    else this.waiting = () => done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.finishing = () => {
      closeSync(this.fd);
      done();
    };
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight > 0) return;
    if (this.chunks.length === 0) {
      const finish = this.finishing;
      this.finishing = undefined;
      finish?.();
      return;
    }
    let take = this.chunks.length;
    let bytes = this.queued;
    if (this.maxBytes !== undefined && this.size > 0 && this.size + this.chunks[0]!.length > this.maxBytes) this.rotate();
    // Read again: a failed rotation clears it.
    const maxBytes = this.maxBytes;
    if (maxBytes !== undefined) {
      // Whole lines up to the room left, so a file never passes maxBytes (unless one line alone does).
      const room = Math.max(maxBytes - this.size, this.chunks[0]!.length);
      if (bytes > room) {
        take = 1;
        bytes = this.chunks[0]!.length;
        while (take < this.chunks.length && bytes + this.chunks[take]!.length <= room) bytes += this.chunks[take++]!.length;
      }
    }
    const lines = this.chunks.splice(0, take);
    this.queued -= bytes;
    this.inFlight = bytes;
    this.writeFrom(lines.length === 1 ? lines[0]! : Buffer.concat(lines, bytes), 0, lines.length);
  }

  private writeFrom(buffer: Buffer, offset: number, lines: number): void {
    write(this.fd, buffer, offset, buffer.length - offset, null, (error, written) => {
      if (!error && offset + written < buffer.length) return this.writeFrom(buffer, offset + written, lines);
      if (error) writeStderrNotice(`the log file ${this.path} could not be written (${describeError(error)}): ${lines} line(s) lost`);
      else this.size += buffer.length;
      this.inFlight = 0;
      const release = this.waiting;
      this.waiting = undefined;
      release?.();
      // Lines that came during the write wait for their timer (a write per completion would be one per
      // line again), unless a batch is full or the stream is ending.
      if (this.finishing || this.queued >= BATCH_BYTES || (this.maxBytes !== undefined && this.size + this.queued > this.maxBytes)) this.flush();
      else if (this.chunks.length > 0) this.timer ??= setTimeout(() => this.flush(), this.flushMs);
    });
  }

  /** `path.(n-1)` → `path.n` ... `path` → `path.1`, then a new `path`; the oldest beyond `maxFiles` is overwritten. */
  private rotate(): void {
    try {
      for (let n = this.maxFiles - 1; n >= 1; n--) {
        try {
          renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      renameSync(this.path, `${this.path}.1`);
    } catch (error) {
      writeStderrNotice(`the log file ${this.path} could not be rotated (${describeError(error)}); it keeps growing`);
      this.maxBytes = undefined;
      return;
    }
    let fd: number;
    try {
      fd = openSync(this.path, "a", 0o640);
    } catch (error) {
      // The open descriptor follows the renamed file: lines keep going to `path.1`.
      writeStderrNotice(`the log file ${this.path} could not be created after rotation (${describeError(error)}); lines keep going to ${this.path}.1`);
      this.maxBytes = undefined;
      return;
    }
    closeSync(this.fd);
    this.fd = fd;
    this.size = 0;
  }
}
