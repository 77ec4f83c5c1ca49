import { checkOptions, defineOptions, option } from "../../core/options.js";
import { createReadStream } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { basename } from "node:path";
import {
  auditKeyId,
  epochOf,
  EpochKeys,
  GENESIS_HASH,
  isEntryShaped,
  isHeadShaped,
  RECOVERY_KIND,
  RETENTION_KIND,
  signCanonical,
  UNSIGNED_KEY_ID,
  unsignedHead,
  unsignedPart,
  type AuditEntry,
  type AuditHead,
} from "./audit-entry.js";
import { canonicalJson } from "../canonical-json.js";

/** What a verifier found wrong, by name. */
export type AuditProblemKind =
  | "modified"
  | "inserted"
  | "deleted"
  | "reordered"
  | "duplicated"
  | "wrong-key"
  | "malformed-line"
  | "torn-last-line"
  | "truncated-tail"
  | "chain-reset"
  | "missing-head"
  | "stale-head";

/** One problem, and where it is: the file, its 1-based line, and the entry's seq when known. */
export interface AuditProblem {
  kind: AuditProblemKind;
  message: string;
  file?: string;
  line?: number;
  seq?: number;
}

/** The result of checking an audit trail. */
export interface AuditVerification {
  /** True when no problem was found. */
  ok: boolean;
  /** Lines that were whole, well-formed entries. */
  entries: number;
  firstSeq?: number;
  /** The highest seq in the chain, and its hmac (what an anchor should hold). */
  lastSeq?: number;
  lastHmac?: string;
  /** The files read, in chain order. */
  files: string[];
  /** The head or anchor files the tail was checked against. */
  heads: string[];
  problems: AuditProblem[];
  /** Things the caller should know that are not problems (a chain recovery, removed rotated files, ...). */
  notes: string[];
  /** The signed chain-recovery entries found: where a server was told to resume a chain its head did not vouch for. */
  recoveries: { seq: number; file: string; line: number; problem: string; message: string }[];
  /** Witnessed heads of this log the tail was checked against. */
  witnessedHeads: number;
  /**
   * The replica ids the entries name (`replica`), in the order first seen, at most 16; empty for a
   * log written before replicas were named.
   */
  replicas: string[];
  /** The earliest and the latest `timestamp` of the entries (ISO 8601). */
  firstTime?: string;
  lastTime?: string;
}

/** The most distinct replica ids a verification lists (a log of one replica names one). */
const MAX_REPLICAS_LISTED = 16;

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /** The secret the log was signed with. */
  secret?: string;
  /** Several secrets (key rotation): a list (ids are their fingerprints) or `{ keyId: secret }`. */
  secrets?: readonly string[] | Readonly<Record<string, string>>;
  /** A head stored elsewhere (a path, or the parsed head) the log must still reach. */
  anchor?: string | AuditHead;
  /**
   * The head file beside the log; default `<file>.head.json` next to any given file. false says the
   * log is kept without one; otherwise a log with entries and no head is a `missing-head` problem.
   */
  head?: string | false;
  /**
   * The log belongs to a running server: a head behind the log's end that was not written by a clean
   * close is the writer's normal lag (it is updated after each group of entries) and only a note.
   */
  live?: boolean;
  /** Files of heads a witness kept (JSON lines, as a witness endpoint receives them): the log must still reach each. */
  witness?: string | readonly string[];
  /** Accept entries written with `signed: false` (checked as an unkeyed chain). */
  unsigned?: boolean;
  /** Entries remembered to recognise duplicates and reordering (memory stays bounded by it). */
  window?: number;
  /** Stop collecting problems after this many. */
  maxProblems?: number;
}

const VERIFY_OPTIONS = defineOptions<VerifyAuditLogOptions>("verifyAuditLog options", {
  secret: option.string({ nonEmpty: true }),
  secrets: option.anyOf(option.stringList({ nonEmpty: true }), option.object(undefined, "{ keyId: secret }")),
  anchor: option.anyOf(option.string({ nonEmpty: true }), option.object(undefined, "a parsed head")),
  head: option.anyOf(option.string({ nonEmpty: true }), option.literal(false)),
  live: option.boolean(),
  witness: option.stringOrList({ nonEmpty: true }),
  unsigned: option.boolean(),
  window: option.integer({ min: 1 }),
  maxProblems: option.integer({ min: 1 }),
}, { hmacSecret: 'use "secret"', key: 'use "secret"', noHead: 'use "head: false"', witnesses: 'use "witness"' });

/** The keys of `signed: false` chains (an empty secret), shared: deriving them is the same work for every log. */
const UNSIGNED_KEYS = new EpochKeys("");

interface Link {
  seq: number;
  hmac: string;
  line: number;
  file: string;
  /** The link to this entry's predecessor could not be checked; don't check the next against it either. */
  loose?: boolean;
}

interface Suspect {
  entry: AuditEntry;
  line: number;
  file: string;
  kind: "modified" | "wrong-key";
  keyId: string;
}

type Tagged = AuditProblem & { keyId?: string };

/**
 * Checks the chain of audit entries line by line with bounded memory (a window of recent entries).
 * Each problem is named once, at the line where it is, without cascading onto the lines after it.
 */
class ChainChecker {
  private last: Link | undefined;
  private suspect: Suspect | undefined;
  private readonly seen = new Map<number, { hmac: string; line: number; file: string }>();
  private readonly missing = new Map<number, { after?: Link; before: Link }>();
  private malformedSlots = 0;
  private readonly problems: Tagged[] = [];
  private readonly keyStats = new Map<string, { ok: number; failed: number }>();
  private readonly unknownKeys = new Map<string, { count: number; first: Tagged }>();
  entries = 0;
  firstSeq: number | undefined;
  maxSeq = 0;
  maxHmac: string | undefined;
  private readonly checkpoints = new Map<number, string>();
  truncatedProblems = false;
  readonly notes: string[] = [];
  readonly recoveries: AuditVerification["recoveries"] = [];
  /** Entries missing before the first one, forgiven when a signed retention entry accounts for them. */
  private startGap: { problem: Tagged; through: number; prevHash: string } | undefined;

  constructor(
    private readonly keys: Map<string, EpochKeys>,
    private readonly unsigned: boolean,
    private readonly window: number,
    private readonly maxProblems: number,
    watch: readonly number[],
  ) {
    for (const seq of watch) this.checkpoints.set(seq, "");
  }

  /** The hmac the chain holds at `seq`, if a head asked about it ("" when never reached). */
  hmacAt(seq: number): string | undefined {
    return this.checkpoints.get(seq) || undefined;
  }

  problem(p: Tagged): void {
    if (this.problems.length >= this.maxProblems) {
      this.truncatedProblems = true;
      return;
    }
    this.problems.push(p);
  }

  malformed(file: string, line: number, why: string): void {
    this.problem({ kind: "malformed-line", file, line, message: `line ${line} of ${file} is not an audit entry (${why})` });
    this.malformedSlots += 1;
  }

  push(entry: AuditEntry, file: string, line: number): void {
    this.entries += 1;
    this.firstSeq ??= entry.seq;
    const verdict = this.check(entry);
    if (verdict !== "ok") {
      this.resolveSuspect(entry);
      this.suspect = { entry, line, file, kind: verdict.kind, keyId: entry.key_id };
      if (verdict.kind === "wrong-key" && verdict.message) this.noteUnknownKey(entry, file, line, verdict.message);
      return;
    }
    this.resolveSuspect(entry);
    this.place(entry, file, line);
    if (entry.kind === RECOVERY_KIND || entry.kind === RETENTION_KIND) this.noteRecord(entry, file, line);
  }

  /** A verified record the log wrote about itself: a recovery is reported; a retention explains a later start. */
  private noteRecord(entry: AuditEntry, file: string, line: number): void {
    const where = `seq ${entry.seq} (line ${line} of ${file})`;
    if (entry.kind === RECOVERY_KIND) {
      const problem = String(entry.recovery?.problem ?? "unknown");
      const message = String(entry.recovery?.message ?? "");
      this.recoveries.push({ seq: entry.seq, file, line, problem, message });
      this.notes.push(`${where} records a chain recovery: the server was started with recover: "accept-tail" although ${message} (${problem})`);
      return;
    }
    const retention = entry.retention;
    if (!retention) return;
    const gap = this.startGap;
    if (gap && retention.through_seq === gap.through && retention.through_hmac === gap.prevHash) {
      this.startGap = undefined;
      this.notes.push(`seq 1…${gap.through} were removed by retention (${where} records it: ${(retention.files ?? []).join(", ")})`);
    } else {
      this.notes.push(`${where} records that retention removed entries up to seq ${retention.through_seq}`);
    }
  }

  private check(entry: AuditEntry): "ok" | { kind: "modified" | "wrong-key"; message?: string } {
    const id = entry.key_id;
    const stats = this.keyStats.get(id) ?? { ok: 0, failed: 0 };
    this.keyStats.set(id, stats);
    const body = unsignedPart(entry as unknown as Record<string, unknown>);
    if (id === UNSIGNED_KEY_ID && !this.unsigned) {
      return { kind: "wrong-key", message: `is unsigned (written with signed: false) but the verifier expects signed entries` };
    }
    let canonical: string | undefined;
    try {
      canonical = canonicalJson(body);
    } catch {
      // Too deeply nested to serialise (a stack overflow): no key can have signed it as it is.
      canonical = undefined;
    }
    const epoch = epochOf(entry)!;
    const keys = id === UNSIGNED_KEY_ID ? UNSIGNED_KEYS : this.keys.get(id);
    if (keys === undefined) {
      for (const [otherId, other] of this.keys) {
        if (canonical !== undefined && other.signerAt(epoch).sign(canonical) === entry.hmac) {
          return { kind: "wrong-key", message: `claims key id "${id}" but is signed with the key "${otherId}"` };
        }
      }
      return { kind: "wrong-key", message: `is signed with key id "${id}", which the verifier holds no secret for (pass that secret; a log re-signed by someone else also shows this way)` };
    }
    if (canonical !== undefined && keys.signerAt(epoch).sign(canonical) === entry.hmac) {
      stats.ok += 1;
      return "ok";
    }
    stats.failed += 1;
    return { kind: "modified" };
  }

  private noteUnknownKey(entry: AuditEntry, file: string, line: number, message: string): void {
    const known = this.unknownKeys.get(entry.key_id + message);
    if (known) known.count += 1;
    else this.unknownKeys.set(entry.key_id + message, { count: 1, first: { kind: "wrong-key", file, line, seq: entry.seq, message } });
  }

  /** Decides what the entry that failed its HMAC was, now that the line after it is known. */
  private resolveSuspect(next: AuditEntry | undefined): void {
    const s = this.suspect;
    if (!s) return;
    this.suspect = undefined;
    const original = this.seen.get(s.entry.seq);
    if (original && original.hmac === s.entry.hmac) {
      this.problem({
        kind: "inserted",
        file: s.file,
        line: s.line,
        seq: s.entry.seq,
        keyId: s.keyId,
        message: `line ${s.line} of ${s.file} is a changed copy of seq ${s.entry.seq} (line ${original.line}) that is not part of the chain: its HMAC does not verify`,
      });
      return;
    }
    const linksToSuspect = next !== undefined && next.prev_hash === s.entry.hmac;
    const linksPast = next !== undefined && this.last !== undefined && !this.last.loose && next.prev_hash === this.last.hmac;
    const inserted = next === undefined ? this.last !== undefined && s.entry.seq <= this.last.seq : !linksToSuspect && linksPast;
    if (inserted) {
      this.problem({
        kind: "inserted",
        file: s.file,
        line: s.line,
        seq: s.entry.seq,
        keyId: s.keyId,
        message: `line ${s.line} of ${s.file} (claiming seq ${s.entry.seq}) is not part of the chain: its HMAC does not verify and the next entry links past it`,
      });
      return;
    }
    if (s.kind === "modified") {
      this.problem({ kind: "modified", file: s.file, line: s.line, seq: s.entry.seq, keyId: s.keyId, message: `seq ${s.entry.seq} (line ${s.line} of ${s.file}) was changed after it was written: its HMAC does not verify` });
    }
    this.place(s.entry, s.file, s.line, !linksToSuspect);
  }

  /** Puts a trusted (or at least placed) entry into the chain and checks seq order and linkage. */
  private place(entry: AuditEntry, file: string, line: number, looseAfter = false): void {
    const last = this.last;
    const here = `line ${line} of ${file}`;
    const before = this.seen.get(entry.seq);
    if (before && before.hmac === entry.hmac) {
      this.problem({ kind: "duplicated", file, line, seq: entry.seq, message: `seq ${entry.seq} at ${here} is a copy of the entry at line ${before.line} of ${before.file}` });
      return;
    }
    if (last && entry.prev_hash === GENESIS_HASH) {
      this.problem({ kind: "chain-reset", file, line, seq: entry.seq, message: `a new chain starts at ${here} (seq ${entry.seq}, prev_hash of zeros) after seq ${last.seq} at line ${last.line}: the log was restarted without its previous state, or replaced` });
      this.seen.clear();
      this.missing.clear();
      this.malformedSlots = 0;
      this.accept(entry, file, line, looseAfter);
      return;
    }
    const expected = last ? last.seq + 1 : 1;
    if (entry.seq < expected) {
      const gap = this.missing.get(entry.seq);
      if (gap) {
        this.missing.delete(entry.seq);
        this.problem({ kind: "reordered", file, line, seq: entry.seq, message: `seq ${entry.seq} at ${here} is out of order: it comes after seq ${gap.before.seq} (line ${gap.before.line})` });
      } else if (before) {
        this.problem({ kind: "inserted", file, line, seq: entry.seq, message: `seq ${entry.seq} at ${here} is a second, different entry for a seq already at line ${before.line} of ${before.file}` });
      } else {
        this.problem({ kind: "reordered", file, line, seq: entry.seq, message: `seq ${entry.seq} at ${here} comes after seq ${last!.seq} (line ${last!.line}): out of order, or a copy of an entry older than the verification window` });
      }
      return;
    }
    if (entry.seq > expected) {
      const covered = Math.min(this.malformedSlots, entry.seq - expected);
      const from = expected + covered;
      const here2: Link = { seq: entry.seq, hmac: entry.hmac, line, file };
      if (!last && from < entry.seq) {
        this.startGap = {
          problem: { kind: "deleted", file, line, seq: entry.seq, message: `seq ${from}…${entry.seq - 1} are missing: the chain starts at seq ${entry.seq} (${here})` },
          through: entry.seq - 1,
          prevHash: entry.prev_hash,
        };
      } else if (entry.seq - from > this.window) {
        this.problem({ kind: "deleted", file, line, seq: from, message: `seq ${from}…${entry.seq - 1} are missing between line ${last!.line} of ${last!.file} (seq ${last!.seq}) and ${here}` });
      } else {
        for (let s = from; s < entry.seq; s++) this.missing.set(s, { after: last, before: here2 });
      }
    } else if (last && !last.loose && this.malformedSlots === 0) {
      if (entry.prev_hash !== last.hmac) {
        this.problem({ kind: "chain-reset", file, line, seq: entry.seq, message: `seq ${entry.seq} at ${here} does not continue the chain: its prev_hash is not the hmac of seq ${last.seq} (line ${last.line}); the entries before it were replaced or come from another log` });
      }
    } else if (!last && entry.prev_hash !== GENESIS_HASH) {
      this.problem({ kind: "deleted", file, line, seq: entry.seq, message: `the chain's first entry (seq ${entry.seq}, ${here}) does not start from prev_hash zeros: the entries before it are missing` });
    }
    this.malformedSlots = 0;
    this.accept(entry, file, line, looseAfter);
  }

  private accept(entry: AuditEntry, file: string, line: number, loose: boolean): void {
    this.last = { seq: entry.seq, hmac: entry.hmac, line, file, loose };
    this.seen.set(entry.seq, { hmac: entry.hmac, line, file });
    if (this.seen.size > this.window) this.seen.delete(this.seen.keys().next().value!);
    if (entry.seq >= this.maxSeq) {
      this.maxSeq = entry.seq;
      this.maxHmac = entry.hmac;
    }
    if (this.checkpoints.has(entry.seq)) this.checkpoints.set(entry.seq, entry.hmac);
    for (const [seq, gap] of this.missing) {
      if (seq >= entry.seq - this.window) break;
      this.missing.delete(seq);
      this.reportMissing(seq, gap);
    }
  }

  private reportMissing(seq: number, gap: { after?: Link; before: Link }): void {
    this.problem({ kind: "deleted", file: gap.before.file, line: gap.before.line, seq, message: `seq ${seq} is missing ${gapPlace(gap)}` });
  }

  finish(): Tagged[] {
    this.resolveSuspect(undefined);
    if (this.startGap) this.problems.unshift(this.startGap.problem);
    this.startGap = undefined;
    // Consecutive missing seqs with the same neighbours are one deletion.
    let run: { from: number; to: number; gap: { after?: Link; before: Link } } | undefined;
    const flush = () => {
      if (!run) return;
      if (run.from === run.to) this.reportMissing(run.from, run.gap);
      else {
        this.problem({ kind: "deleted", file: run.gap.before.file, line: run.gap.before.line, seq: run.from, message: `seq ${run.from}…${run.to} are missing ${gapPlace(run.gap)}` });
      }
      run = undefined;
    };
    for (const [seq, gap] of this.missing) {
      if (run && seq === run.to + 1 && gap.before === run.gap.before) run.to = seq;
      else {
        flush();
        run = { from: seq, to: seq, gap };
      }
    }
    flush();
    this.missing.clear();
    // Every entry of a key failing means the secret is wrong (or all were re-signed), not N modifications.
    let problems = this.problems;
    for (const [id, stats] of this.keyStats) {
      if (stats.ok > 0 || stats.failed < 2) continue;
      const first = problems.find((p) => p.keyId === id && (p.kind === "modified" || p.kind === "inserted"));
      problems = problems.filter((p) => !(p.keyId === id && (p.kind === "modified" || p.kind === "inserted")));
      problems.push({
        kind: "wrong-key",
        file: first?.file,
        line: first?.line,
        seq: first?.seq,
        message: `none of the ${stats.failed} entries signed with key id "${id}" verifies with the secret given for it, starting at seq ${first?.seq} (line ${first?.line}): the secret is wrong, or every entry was re-signed`,
      });
    }
    for (const { count, first } of this.unknownKeys.values()) {
      problems.push({ ...first, message: count === 1 ? `seq ${first.seq} (line ${first.line} of ${first.file}) ${first.message}` : `${count} entries, the first seq ${first.seq} (line ${first.line} of ${first.file}), ${first.message.replace(/^is /, "are ")}` });
    }
    return problems;
  }
}

/** Where entries missing from a gap were: between its neighbours, or before the entry after it. */
function gapPlace(gap: { after?: Link; before: Link }): string {
  return gap.after
    ? `between line ${gap.after.line} of ${gap.after.file} (seq ${gap.after.seq}) and line ${gap.before.line} (seq ${gap.before.seq})`
    : `before line ${gap.before.line} of ${gap.before.file}`;
}

/** Splits a file into lines (newline-terminated or not) with bounded memory. */
async function* lines(path: string, maxLineBytes: number): AsyncGenerator<{ text: string; line: number; terminated: boolean; tooLong: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  let line = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, nl);
      line += 1;
      const text = tooLong ? "" : pendingBytes ? Buffer.concat([...pending, part]).toString("utf8") : part.toString("utf8");
      yield { text, line, terminated: true, tooLong };
      pending = [];
      pendingBytes = 0;
      tooLong = false;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > maxLineBytes) {
        tooLong = true;
        pending = [];
      } else pending.push(Buffer.from(rest));
    }
  }
  if (pendingBytes > 0) yield { text: tooLong ? "" : Buffer.concat(pending).toString("utf8"), line: line + 1, terminated: false, tooLong };
}

/**
 * A file's first line as an entry (unverified), read whole however long it is (bounded like any
 * line); undefined when it is not one.
 */
export async function firstAuditEntry(path: string): Promise<AuditEntry | undefined> {
  for await (const { text, terminated, tooLong } of lines(path, MAX_LINE_BYTES)) {
    if (!terminated || tooLong) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      return isEntryShaped(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** The line reader verification uses (bounded memory per line), for other readers of audit files. */
export { lines as auditFileLines, MAX_LINE_BYTES as MAX_AUDIT_LINE_BYTES };

const exists = (path: string) => access(path).then(() => true, () => false);

function keyMap(options: VerifyAuditLogOptions): Map<string, EpochKeys> {
  const keys = new Map<string, EpochKeys>();
  if (options.secret) keys.set(auditKeyId(options.secret), new EpochKeys(options.secret));
  const secrets = options.secrets;
  if (Array.isArray(secrets)) for (const s of secrets as string[]) keys.set(auditKeyId(s), new EpochKeys(s));
  else if (secrets) for (const [id, s] of Object.entries(secrets)) keys.set(id, new EpochKeys(s));
  return keys;
}

/** Whether a head's signature verifies with the keys held (its epoch's key). */
function headVerifies(head: AuditHead, keys: Map<string, EpochKeys>, unsigned: boolean): boolean {
  const epochKeys = head.key_id === UNSIGNED_KEY_ID && unsigned ? UNSIGNED_KEYS : keys.get(head.key_id);
  return epochKeys !== undefined && signCanonical(epochKeys.at(epochOf(head)!), unsignedHead(head as unknown as Record<string, unknown>)) === head.signature;
}

/** The heads of a witness file (one JSON head per line) that belong to one of `logs`. */
async function loadWitness(
  file: string,
  logs: ReadonlySet<string>,
  keys: Map<string, EpochKeys>,
  unsigned: boolean,
): Promise<{ heads: { head: AuditHead; line: number }[]; problems: AuditProblem[]; otherLogs: number }> {
  const heads: { head: AuditHead; line: number }[] = [];
  const problems: AuditProblem[] = [];
  let otherLogs = 0;
  for await (const { text, line, terminated, tooLong } of lines(file, 1024 * 1024)) {
    if (text.trim() === "" && !tooLong) continue;
    let parsed: unknown;
    try {
      parsed = tooLong ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isHeadShaped(parsed)) {
      problems.push({ kind: "malformed-line", file, line, message: `line ${line} of the witness file ${file} is not a Lantern audit head${terminated ? "" : " (an incomplete last line)"}` });
      continue;
    }
    if (parsed.log !== undefined && !logs.has(parsed.log)) {
      otherLogs += 1;
      continue;
    }
    if (!headVerifies(parsed, keys, unsigned)) {
      problems.push({ kind: "wrong-key", file, line, message: `the head at line ${line} of the witness file ${file} (seq ${parsed.seq}) is not signed with a key the verifier holds (key id "${parsed.key_id}")` });
      continue;
    }
    heads.push({ head: parsed, line });
  }
  return { heads, problems, otherLogs };
}

async function loadHead(source: string | AuditHead): Promise<{ head?: AuditHead; name: string; error?: string }> {
  if (typeof source !== "string") return isHeadShaped(source) ? { head: source, name: "the anchor" } : { name: "the anchor", error: "it is not a Lantern audit head" };
  try {
    const parsed: unknown = JSON.parse(await readFile(source, "utf8"));
    return isHeadShaped(parsed) ? { head: parsed, name: source } : { name: source, error: "it is not a Lantern audit head" };
  } catch (error) {
    return { name: source, error: `it could not be read (${(error as Error).message})` };
  }
}

/**
 * Checks audit files written by {@link AuditMiddleware}: every HMAC, the chain linking each entry to
 * the one before, the seq order across rotated files, and the tail against the signed head file (and
 * an `anchor` kept elsewhere). Names each problem with its file, line and seq. Memory stays bounded
 * (a window of recent entries), whatever the size of the files.
 *
 * @example
 * const result = await verifyAuditLog(["audit.jsonl.1", "audit.jsonl"], { secret: process.env.LANTERN_AUDIT_SECRET });
 * if (!result.ok) for (const p of result.problems) console.error(p.kind, p.message);
 */
export async function verifyAuditLog(paths: string | readonly string[], options: VerifyAuditLogOptions = {}): Promise<AuditVerification> {
  options = checkOptions(VERIFY_OPTIONS, options);
  const given = typeof paths === "string" ? [paths] : [...paths];
  const keys = keyMap(options);
  if (keys.size === 0 && !options.unsigned) {
    throw new TypeError("verifyAuditLog needs the secret the log was signed with: pass { secret } (or { secrets } for several keys), or { unsigned: true } for a log written with signed: false");
  }
  const notes: string[] = [];
  const logFiles: string[] = [];
  const headSources: (string | AuditHead)[] = [];
  for (const path of given) {
    if (path.endsWith(".head.json")) {
      if (options.head === undefined && !headSources.includes(path)) headSources.push(path);
    } else if (/\.torn-\d+$/.test(path)) notes.push(`${path} holds a torn line a server set aside after a crash; it is not part of the chain`);
    else if (/\.tmp-\d+$/.test(path)) notes.push(`${path} is a temporary head file; skipped`);
    else logFiles.push(path);
  }
  if (logFiles.length === 0) throw new TypeError("verifyAuditLog: no audit log file among the paths given");
  if (typeof options.head === "string") headSources.push(options.head);
  else if (options.head === undefined && headSources.length === 0) {
    for (const file of logFiles) if (await exists(`${file}.head.json`)) headSources.push(`${file}.head.json`);
  }
  const besideHeads = headSources.length;
  if (options.anchor) headSources.push(options.anchor);
  const heads: { head: AuditHead; name: string; beside: boolean }[] = [];
  const headProblems: AuditProblem[] = [];
  for (let i = 0; i < headSources.length; i++) {
    const loaded = await loadHead(headSources[i]!);
    if (!loaded.head) {
      headProblems.push({ kind: "malformed-line", file: loaded.name, message: `the head ${loaded.name} cannot be used: ${loaded.error}` });
      continue;
    }
    if (!headVerifies(loaded.head, keys, options.unsigned === true)) {
      headProblems.push({ kind: "wrong-key", file: loaded.name, message: `the head ${loaded.name} is not signed with a key the verifier holds (key id "${loaded.head.key_id}"): it was forged, or the secret is wrong` });
      continue;
    }
    heads.push({ head: loaded.head, name: loaded.name, beside: i < besideHeads });
  }
  const logNames = new Set(logFiles.map((file) => basename(file).replace(/\.[1-9][0-9]*$/, "")));
  const witnessed: { head: AuditHead; name: string }[] = [];
  for (const file of typeof options.witness === "string" ? [options.witness] : (options.witness ?? [])) {
    const loaded = await loadWitness(file, logNames, keys, options.unsigned === true);
    headProblems.push(...loaded.problems);
    for (const { head, line } of loaded.heads) witnessed.push({ head, name: `line ${line} of the witness file ${file}` });
    if (loaded.otherLogs > 0) notes.push(`${loaded.otherLogs} head${loaded.otherLogs === 1 ? "" : "s"} in ${file} belong to other logs; ignored`);
    if (loaded.heads.length === 0 && loaded.problems.length === 0) notes.push(`the witness file ${file} holds no head of ${[...logNames].join(", ")}`);
  }

  const order = await Promise.all(logFiles.map(async (file, index) => ({ file, index, first: (await firstAuditEntry(file))?.seq ?? Number.POSITIVE_INFINITY })));
  order.sort((a, b) => a.first - b.first || a.index - b.index);
  const files = order.map((o) => o.file);

  const window = Math.max(16, options.window ?? 10_000);
  const watch = [...heads.map((h) => h.head.seq), ...witnessed.map((w) => w.head.seq)];
  const checker = new ChainChecker(keys, options.unsigned === true, window, options.maxProblems ?? 1000, watch);
  const replicas: string[] = [];
  let firstTime: string | undefined;
  let lastTime: string | undefined;
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    for await (const { text, line, terminated, tooLong } of lines(file, MAX_LINE_BYTES)) {
      if (!terminated) {
        checker.problem({ kind: "torn-last-line", file, line, message: `the last line (${line}) of ${file} is incomplete (no newline): a write was cut short by a crash${f < files.length - 1 ? ", in a file that is not the newest" : ""}; it is not part of the chain` });
        continue;
      }
      if (tooLong) {
        checker.malformed(file, line, "longer than 64 MiB");
        continue;
      }
      if (text.length === 0) {
        checker.malformed(file, line, "empty line");
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        checker.malformed(file, line, "not JSON");
        continue;
      }
      if (!isEntryShaped(parsed)) {
        checker.malformed(file, line, "JSON without a valid seq, prev_hash, hmac, key_id and epoch");
        continue;
      }
      checker.push(parsed, file, line);
      const { replica, timestamp } = parsed;
      if (typeof replica === "string" && replicas.length < MAX_REPLICAS_LISTED && !replicas.includes(replica)) replicas.push(replica);
      if (typeof timestamp === "string") {
        if (firstTime === undefined || timestamp < firstTime) firstTime = timestamp;
        if (lastTime === undefined || timestamp > lastTime) lastTime = timestamp;
      }
    }
  }
  const problems: AuditProblem[] = [...headProblems];
  for (const { keyId: _keyId, ...p } of checker.finish()) problems.push(p);
  notes.push(...checker.notes);
  const last = files.at(-1);
  if (besideHeads === 0 && checker.entries > 0) {
    if (options.head === false) {
      if (heads.length === 0 && witnessed.length === 0) notes.push("no head file or anchor: entries removed from the end of the log cannot be detected");
    } else {
      problems.push({
        kind: "missing-head",
        file: last,
        message: `no head file beside ${last} (expected ${last}.head.json): entries removed from the end of the log cannot be ruled out; if this log is kept without a head, say so with --no-head (head: false)`,
      });
    }
  }
  for (const { head, name, beside } of heads) {
    if (head.seq > checker.maxSeq) {
      problems.push({
        kind: "truncated-tail",
        seq: checker.maxSeq + 1,
        file: last,
        message: `the log ends at seq ${checker.maxSeq} but ${name} records seq ${head.seq}: entries ${checker.maxSeq + 1}…${head.seq} were removed from the end`,
      });
      continue;
    }
    const at = checker.hmacAt(head.seq);
    if (at !== undefined && at !== head.hmac) {
      problems.push({ kind: "modified", seq: head.seq, message: `seq ${head.seq} in the log is not the entry ${name} records: the log was rewritten after that point` });
    } else if (beside && head.seq < checker.maxSeq && options.live && !head.closed) {
      notes.push(`${name} records seq ${head.seq}, ${checker.maxSeq - head.seq} entries before the log's end: the lag of a running writer (live)`);
    } else if (beside && head.seq < checker.maxSeq) {
      problems.push({
        kind: "stale-head",
        seq: head.seq,
        file: name,
        message: `${name} records seq ${head.seq} but the log goes on to seq ${checker.maxSeq}: the head does not cover its end. After a crash (kill -9, power loss) this is expected until the server starts again and updates it; otherwise an older head was put back, and entries after seq ${checker.maxSeq} may have been cut`,
      });
    }
  }
  if (witnessed.length > 0) {
    const beyond = witnessed.filter((w) => w.head.seq > checker.maxSeq).sort((a, b) => b.head.seq - a.head.seq);
    if (beyond.length > 0) {
      const highest = beyond[0]!;
      problems.push({
        kind: "truncated-tail",
        seq: checker.maxSeq + 1,
        file: last,
        message: `the log ends at seq ${checker.maxSeq} but ${highest.name} holds a head at seq ${highest.head.seq} (${highest.head.updated_at}): entries ${checker.maxSeq + 1}…${highest.head.seq} were removed from the end`,
      });
    }
    const mismatched = witnessed.filter((w) => w.head.seq <= checker.maxSeq && checker.hmacAt(w.head.seq) !== undefined && checker.hmacAt(w.head.seq) !== w.head.hmac);
    if (mismatched.length > 0) {
      const first = mismatched.reduce((a, b) => (b.head.seq < a.head.seq ? b : a));
      problems.push({
        kind: "modified",
        seq: first.head.seq,
        message: `seq ${first.head.seq} in the log is not the entry ${first.name} holds (witnessed ${first.head.updated_at}): the log was cut back and rewritten from there${mismatched.length > 1 ? `; ${mismatched.length - 1} later witnessed head${mismatched.length === 2 ? "" : "s"} disagree too` : ""}`,
      });
    }
  }
  if (checker.truncatedProblems) notes.push(`stopped collecting problems after ${options.maxProblems ?? 1000}`);
  return {
    ok: problems.length === 0,
    entries: checker.entries,
    firstSeq: checker.firstSeq,
    lastSeq: checker.maxSeq || undefined,
    lastHmac: checker.maxHmac,
    files,
    heads: heads.map((h) => h.name),
    problems,
    notes,
    recoveries: checker.recoveries,
    witnessedHeads: witnessed.length,
    replicas,
    ...(firstTime !== undefined ? { firstTime, lastTime } : {}),
  };
}
