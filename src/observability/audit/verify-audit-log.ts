import { createReadStream } from "node:fs";
import { access, open, readFile } from "node:fs/promises";
import {
  auditKeyId,
  GENESIS_HASH,
  hmacHex,
  isEntryShaped,
  isHeadShaped,
  signCanonical,
  UNSIGNED_KEY_ID,
  unsignedHead,
  unsignedPart,
  type AuditEntry,
  type AuditHead,
} from "./audit-entry.js";
import { canonicalJson } from "./canonical-json.js";

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
  | "chain-reset";

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
  /** Things the caller should know that are not problems (no head: truncation unchecked, ...). */
  notes: string[];
}

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /** The secret the log was signed with. */
  secret?: string;
  /** Several secrets (key rotation): a list (ids are their fingerprints) or `{ keyId: secret }`. */
  secrets?: readonly string[] | Readonly<Record<string, string>>;
  /** A head stored elsewhere (a path, or the parsed head) the log must still reach. */
  anchor?: string | AuditHead;
  /** The head file beside the log; default `<file>.head.json` next to any given file; false skips it. */
  head?: string | false;
  /** Accept entries written with `signed: false` (checked as an unkeyed chain). */
  unsigned?: boolean;
  /** Entries remembered to recognise duplicates and reordering (memory stays bounded by it). */
  window?: number;
  /** Stop collecting problems after this many. */
  maxProblems?: number;
}

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

  constructor(
    private readonly keys: Map<string, string>,
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
    const secret = id === UNSIGNED_KEY_ID ? "" : this.keys.get(id);
    if (secret === undefined) {
      for (const [otherId, other] of this.keys) {
        if (canonical !== undefined && hmacHex(other, canonical) === entry.hmac) {
          return { kind: "wrong-key", message: `claims key id "${id}" but is signed with the key "${otherId}"` };
        }
      }
      return { kind: "wrong-key", message: `is signed with key id "${id}", which the verifier holds no secret for (pass that secret; a log re-signed by someone else also shows this way)` };
    }
    if (canonical !== undefined && hmacHex(secret, canonical) === entry.hmac) {
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
        this.problem({ kind: "deleted", file, line, seq: entry.seq, message: `seq ${from}…${entry.seq - 1} are missing: the chain starts at seq ${entry.seq} (${here})` });
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

async function firstSeqOf(path: string): Promise<number> {
  const fh = await open(path, "r");
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString("utf8");
    const first = text.slice(0, text.indexOf("\n") >= 0 ? text.indexOf("\n") : text.length);
    const parsed: unknown = JSON.parse(first);
    return isEntryShaped(parsed) ? parsed.seq : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  } finally {
    await fh.close();
  }
}

const exists = (path: string) => access(path).then(() => true, () => false);

function keyMap(options: VerifyAuditLogOptions): Map<string, string> {
  const keys = new Map<string, string>();
  if (options.secret) keys.set(auditKeyId(options.secret), options.secret);
  const secrets = options.secrets;
  if (Array.isArray(secrets)) for (const s of secrets as string[]) keys.set(auditKeyId(s), s);
  else if (secrets) for (const [id, s] of Object.entries(secrets)) keys.set(id, s);
  return keys;
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
  if (options.anchor) headSources.push(options.anchor);
  const heads: { head: AuditHead; name: string }[] = [];
  const headProblems: AuditProblem[] = [];
  for (const source of headSources) {
    const loaded = await loadHead(source);
    if (!loaded.head) {
      headProblems.push({ kind: "malformed-line", file: loaded.name, message: `the head ${loaded.name} cannot be used: ${loaded.error}` });
      continue;
    }
    const secret = loaded.head.key_id === UNSIGNED_KEY_ID && options.unsigned ? "" : keys.get(loaded.head.key_id);
    if (secret === undefined || signCanonical(secret, unsignedHead(loaded.head as unknown as Record<string, unknown>)) !== loaded.head.signature) {
      headProblems.push({ kind: "wrong-key", file: loaded.name, message: `the head ${loaded.name} is not signed with a key the verifier holds (key id "${loaded.head.key_id}"): it was forged, or the secret is wrong` });
      continue;
    }
    heads.push({ head: loaded.head, name: loaded.name });
  }
  if (heads.length === 0 && headProblems.length === 0) notes.push("no head file or anchor: entries removed from the end of the log cannot be detected");

  const order = await Promise.all(logFiles.map(async (file, index) => ({ file, index, first: await firstSeqOf(file) })));
  order.sort((a, b) => a.first - b.first || a.index - b.index);
  const files = order.map((o) => o.file);

  const window = Math.max(16, options.window ?? 10_000);
  const checker = new ChainChecker(keys, options.unsigned === true, window, options.maxProblems ?? 1000, heads.map((h) => h.head.seq));
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    for await (const { text, line, terminated, tooLong } of lines(file, 64 * 1024 * 1024)) {
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
        checker.malformed(file, line, "JSON without a valid seq, prev_hash, hmac and key_id");
        continue;
      }
      checker.push(parsed, file, line);
    }
  }
  const problems: AuditProblem[] = [...headProblems];
  for (const { keyId: _keyId, ...p } of checker.finish()) problems.push(p);
  for (const { head, name } of heads) {
    if (head.seq > checker.maxSeq) {
      problems.push({
        kind: "truncated-tail",
        seq: checker.maxSeq + 1,
        file: files.at(-1),
        message: `the log ends at seq ${checker.maxSeq} but ${name} records seq ${head.seq}: entries ${checker.maxSeq + 1}…${head.seq} were removed from the end`,
      });
    } else {
      const at = checker.hmacAt(head.seq);
      if (at !== undefined && at !== head.hmac) {
        problems.push({ kind: "modified", seq: head.seq, message: `seq ${head.seq} in the log is not the entry ${name} records: the log was rewritten after that point` });
      }
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
  };
}
