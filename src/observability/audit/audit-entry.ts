import * as crypto from "node:crypto";
import { createHash, createHmac } from "node:crypto";
import type { CallKind } from "../../core/call-context.js";
import type { CallStatus } from "../../core/errors.js";
import { canonicalJson, sortedKeys } from "../canonical-json.js";

/** `prev_hash` of the first entry of a chain. */
export const GENESIS_HASH = "0".repeat(64);

/** The environment variable the audit secret is read from when `hmacSecret` is not given. */
export const AUDIT_SECRET_ENV = "LANTERN_AUDIT_SECRET";

/** The key id of entries written with `signed: false` (an unkeyed integrity chain). */
export const UNSIGNED_KEY_ID = "unsigned";

/** The shortest secret accepted: HMAC-SHA256 with a guessable key proves nothing. */
export const MIN_SECRET_LENGTH = 16;

/** What the head file's `format` field says (2: with `log`, `epoch` and `closed`; 1 is still read). */
export const HEAD_FORMAT = "lantern-audit-head/2" as const;
const HEAD_FORMATS: readonly string[] = ["lantern-audit-head/1", HEAD_FORMAT];

/** The message of the one-way step from an epoch's key to the next: K(e+1) = HMAC-SHA256(K(e), this). */
export const EPOCH_STEP = "lantern-audit-next-epoch";

/** The `kind` of the signed entry a server writes when it was started with `recover: "accept-tail"`. */
export const RECOVERY_KIND = "chain-recovery" as const;

/** The `kind` of the signed entry that records rotated files removed by retention. */
export const RETENTION_KIND = "retention" as const;

/**
 * One line of the audit log. `hmac` = HMAC-SHA256(secret, RFC 8785 canonical JSON of the entry
 * without `hmac`), hex; `prev_hash` is the previous entry's `hmac` (64 zeros for the first).
 *
 * @example
 * const entry: AuditEntry = JSON.parse(line);
 * console.log(entry.seq, entry.tool, entry.status);
 */
export interface AuditEntry {
  seq: number;
  timestamp: string;
  /**
   * The replica that wrote the entry (its server's `replicaId`), signed like every field. Absent
   * from entries written before replicas were named.
   */
  replica?: string;
  /** A call's kind, or a record the log writes about itself (`chain-recovery`, `retention`). */
  kind: CallKind | typeof RECOVERY_KIND | typeof RETENTION_KIND;
  /** The tool or prompt name, or the resource URI. */
  tool: string;
  client_id: string;
  request_id: string;
  /** The 2025-era session, when the call had one (2026-07-28 requests have none). */
  session_id?: string;
  /** The MCP protocol version of the request. */
  protocol_version?: string;
  /** The client's self-reported `clientInfo` (initialize, or the 2026-era request `_meta`). */
  client?: { name: string; version: string };
  /**
   * Multi-round-trip calls: the logical call's id (the same in every round, whichever process
   * served it), this round's number, and the questions the round asked the client, if it did.
   */
  correlation_id?: string;
  round?: number;
  input_required?: string[];
  status: CallStatus;
  duration_s: number;
  error?: { type: string; message: string };
  identity?: { subject?: string; issuer?: string; scopes: string[]; method: string };
  args?: unknown;
  result?: unknown;
  /** What a `chain-recovery` entry recovered from. */
  recovery?: AuditRecovery;
  /** What a `retention` entry removed. */
  retention?: AuditRetention;
  key_id: string;
  /** The key epoch that signed it (absent: epoch 0, the secret itself; logs written before key evolution). */
  epoch?: number;
  prev_hash: string;
  hmac: string;
}

/** The signed fields an entry may have, sorted once for the writer's canonical form (others still sign correctly, more slowly). */
export const ENTRY_KEYS = sortedKeys([
  "seq", "timestamp", "kind", "tool", "client_id", "request_id", "session_id", "protocol_version", "client", "correlation_id", "round",
  "input_required", "status", "duration_s", "error", "identity", "args", "result", "recovery", "retention", "replica", "key_id", "epoch", "prev_hash",
]);

/** Why a server resumed a chain its head file did not vouch for, and what it found. */
export interface AuditRecovery {
  /** The problem kind that would have stopped the server (`missing-head`, `truncated-tail`, ...). */
  problem: string;
  message: string;
  /** The last entry the log held when the server started (0: none). */
  log_seq: number;
  /** What the head file said, when there was a readable one. */
  head_seq?: number;
  head_hmac?: string;
}

/** Rotated files removed by retention: entries 1…through_seq are no longer on disk. */
export interface AuditRetention {
  through_seq: number;
  /** The hmac of entry `through_seq`: the `prev_hash` of the oldest entry still kept. */
  through_hmac: string;
  files: string[];
}

/** The signed head file beside the log: the last entry written, so truncation of the tail shows. */
export interface AuditHead {
  format: typeof HEAD_FORMAT | "lantern-audit-head/1";
  /** The file name of the live log the head belongs to (format 2). */
  log?: string;
  seq: number;
  hmac: string;
  key_id: string;
  /** The key epoch that signed the head (format 2; absent: epoch 0). */
  epoch?: number;
  updated_at: string;
  /** True when written by a clean close: the log cannot legitimately hold entries after it. */
  closed?: boolean;
  /** HMAC-SHA256(secret, canonical JSON of the head without `signature`), hex. */
  signature: string;
}

/** A secret and the id entries signed with it carry. */
export interface AuditKey {
  id: string;
  secret: string;
}

/**
 * The key id of a secret when none is given: a fingerprint (the first 16 hex digits of
 * SHA-256("lantern-audit-key-id:" + secret)), so a verifier holding several secrets finds the right
 * one without anyone naming them.
 *
 * @example
 * auditKeyId(process.env.LANTERN_AUDIT_SECRET!); // "3f2a9c0d1b7e4a55"
 */
export function auditKeyId(secret: string): string {
  return createHash("sha256").update("lantern-audit-key-id:").update(secret).digest("hex").slice(0, 16);
}

/** HMAC-SHA256(key, text), hex. */
function hmacHex(key: string | Buffer, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}

const SHA256_BLOCK = 64;
/** `crypto.hash` (one-shot digest, Node ≥ 20.12); older Nodes sign through `createHmac`. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: string) => Buffer | string }).hash;

/**
 * The longest message signed from the pads' buffer. Longer ones (rare: recorded arguments and
 * results are bounded) go through an Hmac object, where the digest dominates anyway, so a signer
 * kept for a whole epoch (or a verification) never holds a buffer the size of the largest entry it saw.
 */
const MAX_PADDED_MESSAGE = 64 * 1024;

/**
 * HMAC-SHA256 under one key, many times: the key's inner and outer pads are made once and each
 * signature is two one-shot SHA-256 digests (RFC 2104), with no Hmac object per entry: the audit
 * writer signs every entry, on the calls' path. `wipe()` overwrites the pads (key material).
 *
 * @example
 * const signer = new EntrySigner(key);
 * signer.sign(text) === createHmac("sha256", key).update(text).digest("hex"); // true
 */
export class EntrySigner {
  /** (key ⊕ ipad) followed by room for the message. */
  private inner: Buffer;
  /** (key ⊕ opad) followed by the inner digest. */
  private readonly outer = Buffer.alloc(SHA256_BLOCK + 32);

  constructor(private readonly key: Buffer) {
    // A key longer than a block is replaced by its digest (RFC 2104): key material too, wiped after use.
    const block = key.length > SHA256_BLOCK ? createHash("sha256").update(key).digest() : key;
    this.inner = Buffer.alloc(SHA256_BLOCK + 4096);
    for (let i = 0; i < SHA256_BLOCK; i++) {
      const byte = i < block.length ? block[i]! : 0;
      this.inner[i] = byte ^ 0x36;
      this.outer[i] = byte ^ 0x5c;
    }
    if (block !== key) block.fill(0);
  }

  /** HMAC-SHA256(key, text), hex. */
  sign(text: string): string {
    if (!oneShotHash) return hmacHex(this.key, text);
    // A UTF-8 encoding is at most three bytes per UTF-16 unit: check the exact size only when that could overflow.
    if (text.length * 3 > this.inner.length - SHA256_BLOCK) {
      const bytes = Buffer.byteLength(text, "utf8");
      if (bytes > MAX_PADDED_MESSAGE) return hmacHex(this.key, text);
      if (SHA256_BLOCK + bytes > this.inner.length) {
        const grown = Buffer.alloc(SHA256_BLOCK + Math.min(Math.max(bytes, (this.inner.length - SHA256_BLOCK) * 2), MAX_PADDED_MESSAGE));
        this.inner.copy(grown, 0, 0, SHA256_BLOCK);
        this.inner.fill(0);
        this.inner = grown;
      }
    }
    const length = SHA256_BLOCK + this.inner.write(text, SHA256_BLOCK, "utf8");
    (oneShotHash("sha256", this.inner.subarray(0, length), "buffer") as Buffer).copy(this.outer, SHA256_BLOCK);
    return oneShotHash("sha256", this.outer, "hex") as string;
  }

  /** Overwrites the pads it derived from the key (the key itself is its owner's to overwrite). */
  wipe(): void {
    this.inner.fill(0);
    this.outer.fill(0);
  }
}

/** HMAC-SHA256 of the canonical form of `body` (an entry or head without its signature field), hex. */
export function signCanonical(key: string | Buffer, body: unknown): string {
  return hmacHex(key, canonicalJson(body));
}

/** The key of the epoch after the one `key` belongs to: one HMAC, not reversible. */
export function nextEpochKey(key: Buffer): Buffer {
  return createHmac("sha256", key).update(EPOCH_STEP).digest();
}

/**
 * The keys of a secret's epochs, derived forward from the secret (epoch 0 is the secret's UTF-8
 * bytes): what a verifier uses. Walking forward costs one HMAC per epoch; the cursor is kept, so a
 * log read in order derives each key once.
 *
 * @example
 * const keys = new EpochKeys(secret);
 * keys.signerAt(entry.epoch ?? 0).sign(canonical) === entry.hmac;
 */
export class EpochKeys {
  /** Every CHECKPOINT-th key is kept, so going back costs at most CHECKPOINT steps (bounded memory). */
  private readonly checkpoints: Buffer[] = [];
  private epoch = 0;
  private key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret, "utf8");
    this.checkpoints.push(this.key);
  }

  /** The signer of the key last asked for through {@link signerAt}, and that key. */
  private signer: { key: Buffer; signer: EntrySigner } | undefined;

  /** A signer for the key of `epoch`, reused while consecutive entries share an epoch. */
  signerAt(epoch: number): EntrySigner {
    const key = this.at(epoch);
    if (this.signer?.key !== key) this.signer = { key, signer: new EntrySigner(key) };
    return this.signer.signer;
  }

  /** The key of `epoch` (at most {@link MAX_EPOCH}). */
  at(epoch: number): Buffer {
    if (!(epoch <= MAX_EPOCH)) throw new RangeError(`audit key epoch ${epoch} is beyond ${MAX_EPOCH}`);
    if (epoch < this.epoch) {
      const base = Math.min(Math.floor(epoch / CHECKPOINT), this.checkpoints.length - 1);
      this.epoch = base * CHECKPOINT;
      this.key = this.checkpoints[base]!;
    }
    while (this.epoch < epoch) {
      this.key = nextEpochKey(this.key);
      this.epoch += 1;
      if (this.epoch % CHECKPOINT === 0 && this.checkpoints.length === this.epoch / CHECKPOINT) this.checkpoints.push(this.key);
    }
    return this.key;
  }
}

const CHECKPOINT = 1024;
/** The highest epoch accepted: ten million (an hourly epoch for a thousand years); bounds a verifier's work. */
export const MAX_EPOCH = 10_000_000;

/** The epoch an entry or head claims (absent: 0); undefined when it is not a usable number. */
export function epochOf(value: { epoch?: unknown }): number | undefined {
  const epoch = value.epoch ?? 0;
  return Number.isSafeInteger(epoch) && (epoch as number) >= 0 && (epoch as number) <= MAX_EPOCH ? (epoch as number) : undefined;
}

/** The entry without its `hmac`: the object that is canonicalised and signed. */
export function unsignedPart(entry: Record<string, unknown>): Record<string, unknown> {
  const { hmac: _hmac, ...rest } = entry;
  return rest;
}

/** The head without its signature. */
export function unsignedHead(head: Record<string, unknown>): Record<string, unknown> {
  const { signature: _signature, ...rest } = head;
  return rest;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Whether a parsed line has the fields the chain needs (the rest is covered by the HMAC). */
export function isEntryShaped(value: unknown): value is AuditEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(e.seq) && (e.seq as number) >= 1 &&
    typeof e.prev_hash === "string" && HEX64.test(e.prev_hash) &&
    typeof e.hmac === "string" && HEX64.test(e.hmac) &&
    typeof e.key_id === "string" &&
    epochOf(e) !== undefined
  );
}

/** Whether a parsed file is a head file. */
export function isHeadShaped(value: unknown): value is AuditHead {
  if (typeof value !== "object" || value === null) return false;
  const h = value as Record<string, unknown>;
  return typeof h.format === "string" && HEAD_FORMATS.includes(h.format) && Number.isSafeInteger(h.seq) && epochOf(h) !== undefined && typeof h.hmac === "string" && typeof h.signature === "string" && typeof h.key_id === "string";
}
