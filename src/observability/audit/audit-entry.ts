import { createHash, createHmac } from "node:crypto";
import type { CallKind } from "../../core/call-context.js";
import type { CallStatus } from "../../core/errors.js";
import { canonicalJson } from "./canonical-json.js";

/** `prev_hash` of the first entry of a chain. */
export const GENESIS_HASH = "0".repeat(64);

/** The environment variable the audit secret is read from when `hmacSecret` is not given. */
export const AUDIT_SECRET_ENV = "LANTERN_AUDIT_SECRET";

/** The key id of entries written with `signed: false` (an unkeyed integrity chain). */
export const UNSIGNED_KEY_ID = "unsigned";

/** The shortest secret accepted: HMAC-SHA256 with a guessable key proves nothing. */
export const MIN_SECRET_LENGTH = 16;

/** What the head file's `format` field says. */
export const HEAD_FORMAT = "lantern-audit-head/1" as const;

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
  kind: CallKind;
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
  key_id: string;
  prev_hash: string;
  hmac: string;
}

/** The signed head file beside the log: the last entry written, so truncation of the tail shows. */
export interface AuditHead {
  format: typeof HEAD_FORMAT;
  seq: number;
  hmac: string;
  key_id: string;
  updated_at: string;
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

/** HMAC-SHA256(secret, text), hex. */
export function hmacHex(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text).digest("hex");
}

/** HMAC-SHA256 of the canonical form of `body` (an entry or head without its signature field), hex. */
export function signCanonical(secret: string, body: unknown): string {
  return hmacHex(secret, canonicalJson(body));
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
    typeof e.key_id === "string"
  );
}

/** Whether a parsed file is a head file. */
export function isHeadShaped(value: unknown): value is AuditHead {
  if (typeof value !== "object" || value === null) return false;
  const h = value as Record<string, unknown>;
  return h.format === HEAD_FORMAT && Number.isSafeInteger(h.seq) && typeof h.hmac === "string" && typeof h.signature === "string" && typeof h.key_id === "string";
}
