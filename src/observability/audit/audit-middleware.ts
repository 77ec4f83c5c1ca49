import { createHash } from "node:crypto";
import { resolve } from "node:path";
import type { CallContext } from "../../core/call-context.js";
import { middlewareDecorator } from "../../core/decorators/middleware.js";
import { DefinitionError, describeError } from "../../core/errors.js";
import { mergeOptions, type ConfigurableMiddleware, type MiddlewareObject, type Next, type OptionMerge } from "../../core/middleware.js";
import { callOutcome } from "../../core/outcome.js";
import { checkOptions, defineOptions, option, type OptionRules } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";
import type { ServerSetup } from "../../core/server-setup.js";
import { Redaction, type RedactionBounds } from "../redaction.js";
import { AUDIT_SECRET_ENV, auditKeyId, MIN_SECRET_LENGTH, UNSIGNED_KEY_ID, type AuditKey } from "./audit-entry.js";
import { AuditLog, AuditWriteError, type AuditDurability, type AuditKeyEvolution, type AuditLogOptions, type AuditRecord, type AuditRecoverMode } from "./audit-log.js";
import type { AuditWitness } from "./audit-witness.js";
import { verifyAuditLog, type AuditVerification } from "./verify-audit-log.js";

/** What is recorded per call; `@Audited(...)` may set these per class or method. */
export interface AuditCallOptions {
  /** Record the call's arguments (after `redact`). Default false. */
  includeArgs?: boolean;
  /** Record the result (cut at `resultLimitBytes`, with a marker saying so). Default false. */
  includeResult?: boolean;
  /**
   * Argument fields, at any depth and without regard to case, replaced by `"[REDACTED]"` before the
   * entry is signed. A decorator's list adds to the server's, never replaces it.
   */
  redact?: readonly string[];
  /** Results whose JSON is longer are replaced by `{ "$truncated": true, bytes, limit, preview }`. Default 4096. */
  resultLimitBytes?: number;
  /**
   * Recorded arguments whose JSON (after `redact`) is longer are replaced by `{ "$truncated": true,
   * bytes, limit, sha256, preview }`: the digest and size still prove what was sent. Default 16384.
   */
  argsLimitBytes?: number;
}

/** Options of {@link AuditMiddleware}: the file and key (one per instance), and what is recorded. */
export interface AuditOptions extends AuditCallOptions {
  /** The JSONL file (default `audit.jsonl` in the working directory); created with its folder. */
  logPath?: string;
  /** HMAC-sign the chain (default true). false chains with an HMAC under an empty key: integrity, not authenticity. */
  signed?: boolean;
  /** The HMAC secret (at least 16 characters); default: the environment variable `LANTERN_AUDIT_SECRET`. */
  hmacSecret?: string;
  /** The `key_id` written in every entry; default a fingerprint of the secret. */
  keyId?: string;
  /** When an entry counts as written before the call answers; default `"fsync"`. See {@link AuditDurability}. */
  durability?: AuditDurability;
  /**
   * Rotate to `<logPath>.1`, `.2`, ... when the file would grow past `maxBytes`; the chain continues.
   * `keep` (a count) and `maxAgeMs` remove the oldest rotated files, never one whose entries the head
   * file and every witness do not cover yet; a signed `retention` entry records each removal.
   */
  rotate?: { maxBytes: number; keep?: number; maxAgeMs?: number };
  /** The signed head file; default `<logPath>.head.json`; false writes none. */
  headPath?: string | false;
  /** Where write failures and recovery warnings go; default one line on stderr. */
  onReport?: (message: string) => void;
  /**
   * Start even though the signed head does not vouch for the end of the log (missing, behind a clean
   * close, ahead of the log, rewritten): `"accept-tail"` continues from the last entry and writes a
   * signed `chain-recovery` entry saying what was found. Without it such a start fails. Remove it
   * again after that start.
   */
  recover?: AuditRecoverMode;
  /** Forward security: how often the signing key moves on; default `{ entries: 10000, intervalMs: 3600000 }`. false: never. */
  keyEvolution?: AuditKeyEvolution | false;
  /** Where the signed head is also sent (outside the folder): {@link HttpAuditWitness}, {@link CommandAuditWitness} or your own. */
  witnesses?: readonly AuditWitness[];
  /** How often witnesses get the head when it moved; default 60000 (and always at close). */
  witnessIntervalMs?: number;
}

const SINK_OPTIONS = ["logPath", "signed", "hmacSecret", "keyId", "durability", "rotate", "headPath", "onReport", "recover", "keyEvolution", "witnesses", "witnessIntervalMs"] as const;
const DEFAULT_ARGS_LIMIT = 16 * 1024;

// What the audit options may hold; `redact` is a security opt-in (undefined there is refused).
const USE_REDACT = 'use "redact" (a list of argument field names)';
const AUDIT_CALL_RULES: OptionRules<AuditCallOptions> = {
  includeArgs: option.boolean(),
  includeResult: option.boolean(),
  redact: option.secured(option.stringList(), "redact nothing"),
  resultLimitBytes: option.integer({ min: 1, unit: "bytes" }),
  argsLimitBytes: option.integer({ min: 64, unit: "bytes" }),
};
const AUDIT_CALL_HINTS = { redacted: USE_REDACT, redactFields: USE_REDACT, redactKeys: USE_REDACT, redaction: USE_REDACT, includeArguments: 'use "includeArgs"', includeResults: 'use "includeResult"' };
const KEY_EVOLUTION_OPTIONS = defineOptions<AuditKeyEvolution>("AuditMiddleware keyEvolution", { entries: option.integer({ min: 1 }), intervalMs: option.milliseconds(1000) });
/** The rules of {@link AuditOptions}. */
const AUDIT_OPTIONS = defineOptions<AuditOptions>("AuditMiddleware options", {
  ...AUDIT_CALL_RULES,
  logPath: option.string({ nonEmpty: true }),
  signed: option.boolean(),
  hmacSecret: option.string(),
  keyId: option.string({ nonEmpty: true }),
  durability: option.oneOf("fsync", "flush", "none"),
  rotate: option.object(defineOptions<{ maxBytes: number; keep?: number; maxAgeMs?: number }>("AuditMiddleware rotate", {
    maxBytes: option.required(option.integer({ min: 1, unit: "bytes" }), "the size past which the log rotates"),
    keep: option.integer({ min: 0 }),
    maxAgeMs: option.integer({ min: 1, unit: "ms" }),
  })),
  headPath: option.anyOf(option.string({ nonEmpty: true }), option.literal(false)),
  onReport: option.function("a function (message) => void"),
  recover: option.oneOf("accept-tail"),
  keyEvolution: option.anyOf(option.literal(false), option.object(KEY_EVOLUTION_OPTIONS)),
  witnesses: option.any("a list of witnesses: new HttpAuditWitness({ url }), new CommandAuditWitness({ command }), or objects { name, send(head) }"),
  witnessIntervalMs: option.milliseconds(100),
}, { ...AUDIT_CALL_HINTS, path: 'use "logPath"', file: 'use "logPath"', filename: 'use "logPath"', secret: 'use "hmacSecret"' });
const ON_THE_INSTANCE = (key: string) => `${key} belongs to the AuditMiddleware instance (one file and key per instance): server.use(new AuditMiddleware({ ${key}: ... }))`;
/** The rules of `@Audited(...)`: per-call options only. */
const AUDITED_OPTIONS = defineOptions<AuditCallOptions>("@Audited options", AUDIT_CALL_RULES, {
  ...AUDIT_CALL_HINTS,
  ...Object.fromEntries(SINK_OPTIONS.map((key) => [key, ON_THE_INSTANCE(key)])),
});

/** The per-call half: what to record, sharing one {@link AuditLog}. */
class AuditRecorder implements MiddlewareObject {
  private readonly redact: Redaction;
  private readonly limit: number;
  private readonly argsLimit: number;

  constructor(
    private readonly log: AuditLog,
    private readonly options: AuditCallOptions,
  ) {
    this.redact = Redaction.of(options.redact);
    this.limit = options.resultLimitBytes ?? 4096;
    this.argsLimit = options.argsLimitBytes ?? DEFAULT_ARGS_LIMIT;
  }

  async handle(ctx: CallContext, next: Next): Promise<unknown> {
    let result: unknown;
    let thrown: unknown;
    let failed = false;
    try {
      result = await next();
    } catch (error) {
      failed = true;
      thrown = error;
    }
    try {
      await this.log.append(this.record(ctx, failed, thrown, result));
    } catch (error) {
      throw error instanceof AuditWriteError ? error : new AuditWriteError(describeError(error));
    }
    if (failed) throw thrown;
    return result;
  }

  private record(ctx: CallContext, failed: boolean, thrown: unknown, result: unknown): AuditRecord {
    const outcome = callOutcome(ctx, thrown, failed);
    const record: AuditRecord = {
      timestamp: new Date(ctx.startedAt).toISOString(),
      replica: this.log.replica,
      kind: ctx.kind,
      tool: ctx.name,
      client_id: ctx.clientId,
      request_id: ctx.requestId,
      status: outcome.status,
      duration_s: Math.round(ctx.elapsedMs() * 1000) / 1e6,
    };
    const sessionId = ctx.sessionId;
    if (sessionId) record.session_id = sessionId;
    const protocolVersion = ctx.protocolVersion;
    if (protocolVersion) record.protocol_version = protocolVersion;
    const client = ctx.clientInfo;
    if (client) record.client = { name: client.name, version: client.version };
    const inputRequired = outcome.inputRequired;
    if (ctx.round > 1 || inputRequired) {
      record.correlation_id = ctx.correlationId;
      record.round = ctx.round;
      if (inputRequired) record.input_required = [...inputRequired];
    }
    if (outcome.status !== "ok") {
      // Nested objects are built with their keys in sorted order: the signer then writes them natively.
      record.error = { message: outcome.error === undefined ? outcome.status : describeError(outcome.error).slice(0, 2000), type: outcome.errorType ?? "error" };
    }
    const identity = ctx.identity;
    if (identity) {
      const recorded: NonNullable<AuditRecord["identity"]> = {} as NonNullable<AuditRecord["identity"]>;
      if (identity.issuer !== undefined) recorded.issuer = identity.issuer;
      recorded.method = identity.method;
      recorded.scopes = [...identity.scopes];
      if (identity.subject !== undefined) recorded.subject = identity.subject;
      record.identity = recorded;
    }
    if (this.options.includeArgs) record.args = this.limitedArgs(!this.redact.isEmpty || nestsDeeper(ctx.args, 0) ? this.redact.copy(ctx.args, ARGS_BOUNDS) : ctx.args);
    if (this.options.includeResult && !failed && result !== undefined) record.result = this.limited(result);
    return record;
  }

  /** Arguments of any size reach the audit (a refused call's too): what is cut keeps its digest and size. */
  private limitedArgs(args: unknown): unknown {
    if (args === null || typeof args !== "object") return args;
    let json: string | undefined;
    try {
      json = JSON.stringify(args);
    } catch {
      return { $unserializable: true };
    }
    // A UTF-8 encoding is at least as long as the string and at most three times as long.
    if (json === undefined || json.length * 3 <= this.argsLimit) return args;
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes <= this.argsLimit) return args;
    return {
      $truncated: true,
      bytes,
      limit: this.argsLimit,
      sha256: createHash("sha256").update(json, "utf8").digest("hex"),
      preview: json.slice(0, Math.floor(this.argsLimit / 4)),
    };
  }

  private limited(result: unknown): unknown {
    let json: string;
    try {
      json = JSON.stringify(result);
    } catch {
      return { $unserializable: true };
    }
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes <= this.limit) return result;
    return { $truncated: true, bytes, limit: this.limit, preview: json.slice(0, this.limit) };
  }
}

/**
 * The options that protect the trail against whoever can write its folder (recovery, key evolution,
 * witnesses, retention): checked here, in one place, and handed to the log. (`argsLimitBytes` is a
 * per-call option, checked by the rules `@Audited` options share: AUDIT_CALL_RULES.)
 */
function hardeningSettings(options: AuditOptions): Pick<AuditLogOptions, "recover" | "keyEvolution" | "witnesses" | "witnessIntervalMs" | "retention"> {
  // Types and bounds were checked with the other options (AUDIT_OPTIONS); a witness must also be able to receive heads.
  const witnesses = options.witnesses;
  if (witnesses !== undefined) {
    if (!Array.isArray(witnesses)) throw new TypeError("AuditMiddleware options: \"witnesses\" must be a list of witnesses (new HttpAuditWitness({ url }), new CommandAuditWitness({ command }), or objects with name and send(head))");
    for (const [i, w] of witnesses.entries()) {
      if (typeof w?.send !== "function" || typeof w?.name !== "string") throw new TypeError(`AuditMiddleware options: witnesses[${i}] has no send(head) method and name; use HttpAuditWitness, CommandAuditWitness or an object { name, send }`);
    }
  }
  let evolution = options.keyEvolution;
  if (evolution) {
    // The checker sees one of two shapes (false or an object); the object's numbers and keys are checked here.
    if (evolution.entries !== undefined && !(Number.isSafeInteger(evolution.entries) && evolution.entries >= 1)) {
      throw new RangeError(`AuditMiddleware options: "keyEvolution.entries" must be a whole number of entries of at least 1, got ${JSON.stringify(evolution.entries)}`);
    }
    if (evolution.intervalMs !== undefined && !(Number.isSafeInteger(evolution.intervalMs) && evolution.intervalMs >= 1000 && evolution.intervalMs <= 2 ** 31 - 1)) {
      throw new RangeError(`AuditMiddleware options: "keyEvolution.intervalMs" must be a whole number of ms from 1000 to 2147483647, got ${JSON.stringify(evolution.intervalMs)}`);
    }
    evolution = checkOptions(KEY_EVOLUTION_OPTIONS, evolution);
  }
  const rotate = options.rotate;
  const retention = rotate && (rotate.keep !== undefined || rotate.maxAgeMs !== undefined) ? { keep: rotate.keep, maxAgeMs: rotate.maxAgeMs } : undefined;
  return { recover: options.recover, keyEvolution: evolution, witnesses, witnessIntervalMs: options.witnessIntervalMs, retention };
}

/**
 * Arguments are recorded at most this deep. The validator refuses deeper ones (-32602), but the
 * refusal is audited too, and a client can send 100,000 nested arrays in 200 KB: recording them
 * whole would overflow the stack of the (recursive) canonical form and fail the call unaudited.
 */
const MAX_ARGS_DEPTH = 64;
/** Audit entries keep arguments whole (they are evidence), only their depth is bounded. */
const ARGS_BOUNDS: RedactionBounds = { maxDepth: MAX_ARGS_DEPTH, tooDeep: "[TOO DEEP]" };

function nestsDeeper(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth >= MAX_ARGS_DEPTH) return true;
  if (Array.isArray(value)) return value.some((v) => nestsDeeper(v, depth + 1));
  for (const key in value) if (Object.hasOwn(value, key) && nestsDeeper((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/**
 * A tamper-evident audit trail: one JSONL entry per tool call, resource read and prompt get (who,
 * what, when, with what arguments, how it ended, refusals included), HMAC-SHA256 chained, written
 * durably before the caller gets its answer, with concurrent calls sharing one write and one fsync.
 *
 * The secret comes from `hmacSecret`, else `LANTERN_AUDIT_SECRET`; without one the constructor
 * throws (so building the server fails). The file is opened, and the chain resumed from its last
 * whole entry, when the server is built; it is flushed and closed when the server closes.
 *
 * @example
 * server.use(new AuditMiddleware({ logPath: "audit/audit.jsonl", includeArgs: true, redact: ["ssn"] }));
 * // later: expect(await audit.verifyChain()).toBe(true)
 */
export class AuditMiddleware implements ConfigurableMiddleware<AuditCallOptions> {
  /** What `@Audited` may set per class or method; `redact` lists only grow. */
  static readonly decoratorOptions: Readonly<Record<keyof AuditCallOptions, OptionMerge>> = {
    includeArgs: "override",
    includeResult: "override",
    redact: "union",
    resultLimitBytes: "override",
    argsLimitBytes: "override",
  };
  /** The file writer every view of this middleware shares. */
  readonly log: AuditLog;
  private readonly recorder: AuditRecorder;
  private readonly callOptions: AuditCallOptions;
  private readonly sinkOptions: AuditOptions;
  private readonly shutdownRegistered = new WeakSet<object>();
  private servers = 0;

  constructor(options: AuditOptions = {}) {
    options = checkOptions(AUDIT_OPTIONS, options);
    const signed = options.signed ?? true;
    const secret = options.hmacSecret || process.env[AUDIT_SECRET_ENV];
    if (signed && !secret) {
      throw new DefinitionError(
        `AuditMiddleware needs a secret to sign the audit trail: set the environment variable ${AUDIT_SECRET_ENV} (at least ${MIN_SECRET_LENGTH} characters, for example the output of \`openssl rand -hex 32\`) or pass { hmacSecret }. There is no default, so that nobody can forge entries with a well-known key`,
      );
    }
    if (signed && secret!.length < MIN_SECRET_LENGTH) {
      throw new DefinitionError(`AuditMiddleware: the audit secret is ${secret!.length} characters long; use at least ${MIN_SECRET_LENGTH} (for example the output of \`openssl rand -hex 32\`)`);
    }
    const durability = options.durability ?? "fsync";
    const hardening = hardeningSettings(options);
    const key: AuditKey = signed ? { id: options.keyId ?? auditKeyId(secret!), secret: secret! } : { id: UNSIGNED_KEY_ID, secret: "" };
    const path = resolve(options.logPath ?? "audit.jsonl");
    // Witness failures come as JSON lines of our own (escaped, one line); everything else is a plain notice.
    const report = options.onReport ?? ((message: string) => (message.startsWith("{") ? process.stderr.write(`${message}\n`) : writeStderrNotice(message)));
    this.log = new AuditLog({
      path,
      key,
      durability,
      rotateBytes: options.rotate?.maxBytes,
      headPath: options.headPath === false ? false : resolve(options.headPath ?? `${path}.head.json`),
      report,
      ...hardening,
    });
    this.sinkOptions = options;
    this.callOptions = { includeArgs: options.includeArgs, includeResult: options.includeResult, redact: options.redact, resultLimitBytes: options.resultLimitBytes, argsLimitBytes: options.argsLimitBytes };
    this.recorder = new AuditRecorder(this.log, this.callOptions);
  }

  /** Opens the log (resuming the chain) and flushes and closes it when the (last) server using it closes. */
  async setup(server: ServerSetup): Promise<void> {
    const replica = this.log.replica;
    if (replica !== undefined && replica !== server.replicaId) {
      throw new DefinitionError(
        `One AuditMiddleware cannot record the calls of two replicas ("${replica}" and "${server.replicaId}"): a chain belongs to one replica, and every entry names it; give each server its own AuditMiddleware and log file (e.g. audit/<replica-id>/audit.jsonl)`,
      );
    }
    this.log.replica = server.replicaId;
    if (!this.shutdownRegistered.has(server)) {
      this.shutdownRegistered.add(server);
      this.servers += 1;
      server.onShutdown(() => (--this.servers === 0 ? this.log.close() : this.log.flush()));
    }
    await this.log.open();
  }

  handle(ctx: CallContext, next: Next): Promise<unknown> {
    return this.recorder.handle(ctx, next);
  }

  /**
   * This middleware with other recording options (what `@Audited({...})` uses), writing to the same
   * file. The file, key and durability belong to the instance: a decorator cannot change them.
   */
  withOptions(options: Partial<AuditCallOptions>): MiddlewareObject {
    for (const name of SINK_OPTIONS) {
      const value = (options as Record<string, unknown>)[name];
      if (value !== undefined && value !== (this.sinkOptions as Record<string, unknown>)[name]) {
        throw new DefinitionError(`@Audited({ ${name} }) cannot change where or how the audit trail is written: ${name} belongs to the AuditMiddleware instance; pass it to server.use(new AuditMiddleware({ ${name}: ... })) instead`);
      }
    }
    return new AuditRecorder(this.log, mergeOptions(AuditMiddleware.decoratorOptions, this.callOptions, options));
  }

  /** Resolves once every entry queued so far is written and the head file is current. */
  flush(): Promise<void> {
    return this.log.flush();
  }

  /**
   * True when the entries this middleware wrote (every file of the log, rotated ones included) form
   * an intact chain, after flushing: the seed's `assert audit.verify_chain()`. Memory stays bounded
   * by `window`. {@link verifyChainReport} says what is wrong and where.
   *
   * @example
   * expect(await audit.verifyChain()).toBe(true);
   */
  async verifyChain(options: { window?: number } = {}): Promise<boolean> {
    return (await this.verifyChainReport(options)).ok;
  }

  /**
   * The full verification of this middleware's log: entries, sequence range, and each problem with
   * its kind, file, line and `seq`.
   *
   * @example
   * const report = await audit.verifyChainReport();
   * expect(report.problems).toEqual([]);
   */
  async verifyChainReport(options: { window?: number } = {}): Promise<AuditVerification> {
    await this.log.open();
    await this.log.flush();
    const { key, headPath } = this.log.options;
    const unsigned = key.id === UNSIGNED_KEY_ID;
    return verifyAuditLog(await this.log.files(), {
      ...(unsigned ? { unsigned: true } : { secrets: { [key.id]: key.secret } }),
      head: headPath,
      window: options.window,
    });
  }

}

/**
 * Audits every tool of a class, or one method, with per-class/method recording options (method
 * options override class options; `redact` lists add up: server, class and method fields are all hidden). When the server also `use()`s an AuditMiddleware, calls run
 * through that one instance once, with these options; otherwise one instance per server is made
 * from `LANTERN_AUDIT_SECRET` and writes `audit.jsonl`.
 *
 * @example
 * @Server({ name: "medical-records", version: "1.0.0" })
 * @Audited({ includeArgs: true, redact: ["ssn"] })
 * class MedicalRecords { ... }
 */
export const Audited = middlewareDecorator<AuditCallOptions, AuditCallOptions>(AuditMiddleware, AUDITED_OPTIONS, "Audited");

