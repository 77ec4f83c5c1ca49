import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { CallerIdentity } from "../call-context.js";
import { InvalidParamsError } from "../errors.js";

/** What one round of a multi-round-trip call hands to the next, inside the sealed `requestState`. */
export interface RoundState {
  /** The method (`tools/call`, `prompts/get`, `resources/read`) and the name or URI it was for. */
  method: string;
  name: string;
  /** The correlation id of the logical call. */
  correlationId: string;
  /** The round that sealed this state (the next one is `round + 1`). */
  round: number;
  /** The first round's trace context. */
  traceparent?: string;
  tracestate?: string;
  /** Answers of earlier rounds, keyed as they were asked (the replayed helpers read them). */
  answers?: Record<string, unknown>;
  /** The tool's own state string, as it returned it with `inputRequired(...)`. */
  user?: string;
}

interface SealedPayload {
  v: 1;
  m: string;
  n: string;
  /** Digest of the caller's identity (issuer, subject, client id): a state serves only its caller. */
  b: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  c: string;
  r: number;
  tp?: string;
  ts?: string;
  a?: Record<string, unknown>;
  u?: string;
}

/** Largest sealed state sent to a client: answers and the tool's own state must stay small. */
export const MAX_REQUEST_STATE_BYTES = 64 * 1024;

const MIN_SECRET_BYTES = 32;

const bindingOf = (identity: CallerIdentity | undefined): string =>
  identity
    ? createHash("sha256").update(`${identity.issuer ?? ""}\u0000${identity.subject ?? ""}\u0000${identity.clientId}`).digest("base64url").slice(0, 22)
    : "anonymous";

/** Options of {@link RequestStateSeal}. */
export interface RequestStateSealOptions {
  /**
   * The HMAC key (at least 32 bytes). Replicas that serve rounds of one call must share it;
   * default `LANTERN_STATE_SECRET`, else a random key of this process (one replica only).
   */
  secret?: string | Buffer;
  /** How long a round's state stays valid, ms. Default 15 minutes (people answer forms slowly). */
  ttlMs?: number;
}

/**
 * Seals the `requestState` of multi-round-trip calls: HMAC-SHA256 over the payload, bound to the
 * caller, the method and name, and an expiry. The client can read the payload (it is signed, not
 * encrypted) but cannot change it, replay it for another tool or caller, or keep it past expiry.
 */
export class RequestStateSeal {
  private readonly key: Buffer;
  private readonly ttlMs: number;
  /** True when the key came from configuration (shared by replicas), false when made by this process. */
  readonly shared: boolean;

  constructor(options: RequestStateSealOptions = {}) {
    const configured = options.secret ?? process.env.LANTERN_STATE_SECRET;
    if (configured !== undefined && configured !== "") {
      const key = Buffer.isBuffer(configured) ? configured : Buffer.from(configured, "utf8");
      if (key.length < MIN_SECRET_BYTES) {
        throw new TypeError(`The requestState secret must be at least ${MIN_SECRET_BYTES} bytes (got ${key.length}); generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`);
      }
      this.key = key;
      this.shared = true;
    } else {
      this.key = randomBytes(32);
      this.shared = false;
    }
    // Checked where it is configured (McpServer's `stateTtlMs`).
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
  }

  /** Seals `state` for `identity`; throws when the result would exceed {@link MAX_REQUEST_STATE_BYTES}. */
  seal(state: RoundState, identity: CallerIdentity | undefined): string {
    const payload: SealedPayload = {
      v: 1,
      m: state.method,
      n: state.name,
      b: bindingOf(identity),
      exp: Date.now() + this.ttlMs,
      c: state.correlationId,
      r: state.round,
      ...(state.traceparent ? { tp: state.traceparent } : {}),
      ...(state.tracestate ? { ts: state.tracestate } : {}),
      ...(state.answers && Object.keys(state.answers).length ? { a: state.answers } : {}),
      ...(state.user !== undefined ? { u: state.user } : {}),
    };
    const body = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
    const token = `${body}.${this.mac(body)}`;
    if (token.length > MAX_REQUEST_STATE_BYTES) {
      throw new Error(`The multi-round state of ${state.method} "${state.name}" is ${token.length} bytes, over the ${MAX_REQUEST_STATE_BYTES}-byte limit: carry less in requestState (store large data server-side and carry its key)`);
    }
    return token;
  }

  /**
   * Opens a `requestState` the client echoed; throws `InvalidParamsError` (-32602) when it was
   * changed, sealed by another key, made for another caller, method or name, or has expired.
   */
  open(token: string, expected: { method: string; name: string; identity: CallerIdentity | undefined }): RoundState {
    const dot = token.indexOf(".");
    const body = dot > 0 ? token.slice(0, dot) : "";
    const mac = dot > 0 ? token.slice(dot + 1) : "";
    const expectedMac = body ? this.mac(body) : "";
    if (!body || mac.length !== expectedMac.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expectedMac))) {
      throw new InvalidParamsError(
        this.shared
          ? "Invalid requestState: its signature does not match (it was changed, or sealed by another server); retry the call without requestState"
          : "Invalid requestState: its signature does not match (it was changed, or sealed by another server process; replicas serving one endpoint must share LANTERN_STATE_SECRET); retry the call without requestState",
      );
    }
    let payload: SealedPayload;
    try {
      payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as SealedPayload;
    } catch {
      throw new InvalidParamsError("Invalid requestState: the payload is not readable; retry the call without requestState");
    }
    if (payload.v !== 1) throw new InvalidParamsError(`Invalid requestState: unknown version ${String(payload.v)}; retry the call without requestState`);
    if (payload.m !== expected.method || payload.n !== expected.name) {
      throw new InvalidParamsError(`Invalid requestState: it was issued for ${payload.m} "${payload.n}", not ${expected.method} "${expected.name}"`);
    }
    if (payload.b !== bindingOf(expected.identity)) throw new InvalidParamsError("Invalid requestState: it was issued to another caller");
    if (Date.now() > payload.exp) throw new InvalidParamsError("Invalid requestState: it has expired; retry the call without requestState");
    return {
      method: payload.m,
      name: payload.n,
      correlationId: payload.c,
      round: payload.r,
      ...(payload.tp ? { traceparent: payload.tp } : {}),
      ...(payload.ts ? { tracestate: payload.ts } : {}),
      ...(payload.a ? { answers: payload.a } : {}),
      ...(payload.u !== undefined ? { user: payload.u } : {}),
    };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}
