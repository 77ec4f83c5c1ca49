import { webcrypto, type KeyObject } from "node:crypto";
import type { createRemoteJWKSet, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import { joseLibrary } from "../core/libraries.js";
import type { CallerIdentity } from "../core/call-context.js";
import { UnauthorizedError } from "../core/errors.js";
import { checkOptions, defineOptions, option, type OptionRules } from "../core/options.js";
import { identityFromTrustedMapping, type AuthProvider, type IdentityMapping } from "./auth-provider.js";
import { AuthorizationServerDiscovery, canonicalIssuer, DiscoveryError } from "./authorization-server-metadata.js";
import { secureUrl } from "./protected-resource-metadata.js";
import { algorithmsForKey, ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, jwkAlgorithm, secretBytes, toPublicKey, type PublicKeyInput } from "./key-algorithms.js";

/**
 * Shortest shared secret JWTAuth accepts, in bytes (HS256's hash size; RFC 7518 §3.2).
 *
 * @example
 * const secret = randomBytes(MIN_SECRET_BYTES); // or: openssl rand -base64 48
 */
export const MIN_SECRET_BYTES = 32;

/**
 * Where JWTAuth finds the key that verifies tokens: a shared secret, a public key, or a JWKS URL.
 *
 * @example
 * new JWTAuth({ jwksUrl: "https://idp.example/.well-known/jwks.json", cooldownMs: 60_000 });
 */
export type JWTKeySource =
  | {
      /** HS256/384/512 shared secret, at least 32 bytes (a string counts its UTF-8 bytes). */
      secret: string | Uint8Array | KeyObject;
    }
  | {
      /** RS*, PS*, ES* or EdDSA public key: PEM (SPKI), JWK or KeyObject. Its type decides the algorithms. */
      publicKey: PublicKeyInput;
    }
  | ({
      /** URL of the issuer's JSON Web Key Set; https, or http on a loopback address. */
      jwksUrl: string | URL;
      /** The issuer whose key set it is: tokens must carry it as `iss`, and it is named as the authorization server. */
      issuer?: string;
    } & RemoteKeyOptions)
  | ({
      /**
       * Issuer identifier of the authorization server (https, or http on a loopback address). Its
       * metadata (RFC 8414 `/.well-known/oauth-authorization-server`, else OpenID Connect
       * `/.well-known/openid-configuration`) names the JWKS; tokens must carry it as `iss`.
       */
      issuer: string;
    } & RemoteKeyOptions);

/**
 * How keys fetched from an issuer are cached (the key set, and the metadata that names it).
 *
 * @example
 * new JWTAuth({ issuer: "https://auth.example.com", cacheMaxAgeMs: 3_600_000, cooldownMs: 10_000 });
 */
export interface RemoteKeyOptions {
  /** How long fetched keys (and discovered metadata) are trusted before refetching, in ms. Default 10 minutes. */
  cacheMaxAgeMs?: number;
  /** Least time between two refetches triggered by an unknown `kid` (or a failed discovery), in ms. Default 30 s. */
  cooldownMs?: number;
  /** Time limit of one fetch, in ms. Default 5 s. */
  timeoutMs?: number;
}

/**
 * What JWTAuth checks beyond the signature.
 *
 * @example
 * new JWTAuth({ publicKey: pem }, { issuer: "https://idp.example", audience: "hr-api", clockToleranceSec: 30 });
 */
export interface JWTAuthOptions {
  /** Accepted `iss` value(s); checked when set. */
  issuer?: string | string[];
  /**
   * Accepted `aud` value(s). Default: under `AuthMiddleware`, the server's canonical resource URI
   * (RFC 8707: a token issued for another resource is refused); used alone, not checked. Set it
   * only when the authorization server names this server otherwise (an API identifier, say).
   */
  audience?: string | string[];
  /** Accepted algorithms; must be a subset of what the key type allows (default: all of those). */
  algorithms?: string[];
  /**
   * Leeway for `exp`, `nbf` and `iat`, in seconds (clock skew between issuer and server). Default 0;
   * at most {@link MAX_CLOCK_TOLERANCE_SEC} unless `allowLargeClockTolerance` is true.
   */
  clockToleranceSec?: number;
  /** Accept a `clockToleranceSec` over {@link MAX_CLOCK_TOLERANCE_SEC} (a tolerance of hours makes expiry meaningless). Default false. */
  allowLargeClockTolerance?: boolean;
  /**
   * Refuse tokens issued more than this many seconds ago (by `iat`), and tokens issued for longer
   * than this (`exp − iat`), so a token minted with `exp` in the year 9999 is refused at once. With
   * it set, tokens must carry `iat`. Default: no limit (expiry alone decides).
   */
  maxTokenAgeSec?: number;
  /** Take the client id from this claim (default: `client_id`, then `azp`, then `sub`). */
  clientIdClaim?: string;
  /** Refuse tokens without `exp` (default true: a token that never expires is a standing credential). */
  requireExpiry?: boolean;
  /**
   * How many verified tokens to remember (default 1024; 0 turns it off). A client sends the same
   * token on every request, and verifying it again costs a WebCrypto round trip through the thread
   * pool; a remembered token is accepted again only while it has not expired, for at most
   * {@link VERIFIED_TOKEN_MAX_AGE_MS}. Refused tokens are never remembered.
   */
  verifiedTokenCacheSize?: number;
}

/**
 * Largest `clockToleranceSec` JWTAuth accepts without `allowLargeClockTolerance: true`, in seconds.
 *
 * @example
 * new JWTAuth({ secret }, { clockToleranceSec: MAX_CLOCK_TOLERANCE_SEC });
 */
export const MAX_CLOCK_TOLERANCE_SEC = 300;

const SECOND_ARGUMENT = "it belongs in the second argument of JWTAuth: new JWTAuth({ secret | publicKey | jwksUrl }, { issuer, audience, ... })";
const FIRST_ARGUMENT = "it belongs in the first argument of JWTAuth (the key source): new JWTAuth({ secret }, options), new JWTAuth({ publicKey }, options) or new JWTAuth({ jwksUrl, cacheMaxAgeMs, cooldownMs, timeoutMs }, options)";
const ISSUER_HINT = 'use "issuer" (a string or a list of strings)';
const AUDIENCE_HINT = 'use "audience" (a string or a list of strings)';

/** The rules of {@link JWTAuthOptions}. */
const JWT_AUTH_OPTIONS = defineOptions<JWTAuthOptions>("JWTAuth options (the second argument of new JWTAuth)", {
  issuer: option.secured(option.stringOrList({ nonEmpty: true }), "accept tokens from any issuer"),
  audience: option.secured(option.stringOrList({ nonEmpty: true }), "accept tokens for any audience"),
  algorithms: option.stringList(),
  clockToleranceSec: option.number({ min: 0, unit: "seconds" }),
  allowLargeClockTolerance: option.boolean(),
  maxTokenAgeSec: option.secured(option.number({ min: 0, exclusiveMin: true, unit: "seconds" }), "accept tokens of any age"),
  clientIdClaim: option.string({ nonEmpty: true }),
  requireExpiry: option.boolean(),
  verifiedTokenCacheSize: option.integer({ min: 0, max: 1_000_000 }),
}, {
  iss: ISSUER_HINT, issuers: ISSUER_HINT, aud: AUDIENCE_HINT, audiences: AUDIENCE_HINT,
  algorithm: 'use "algorithms" (a list)', alg: 'use "algorithms" (a list)',
  clockTolerance: 'use "clockToleranceSec" (seconds)', leeway: 'use "clockToleranceSec" (seconds)',
  maxTokenAge: 'use "maxTokenAgeSec" (seconds)', maxAge: 'use "maxTokenAgeSec" (seconds)',
  secret: FIRST_ARGUMENT, publicKey: FIRST_ARGUMENT, jwksUrl: FIRST_ARGUMENT, cacheMaxAgeMs: FIRST_ARGUMENT, cooldownMs: FIRST_ARGUMENT, timeoutMs: FIRST_ARGUMENT,
});

type JwksSource = Extract<JWTKeySource, { jwksUrl: unknown }>;
const sourceHints: Record<string, string> = {
  ...Object.fromEntries(Object.keys(JWT_AUTH_OPTIONS.rules).map((key) => [key, SECOND_ARGUMENT])),
  ...Object.fromEntries(Object.keys(JWT_AUTH_OPTIONS.hints!).filter((k) => JWT_AUTH_OPTIONS.hints![k] !== FIRST_ARGUMENT).map((key) => [key, SECOND_ARGUMENT])),
  jwks: 'use "jwksUrl"', jwksUri: 'use "jwksUrl"', key: 'use "secret" (a shared secret) or "publicKey"',
};
const SOURCE_KINDS = ["secret", "publicKey", "jwksUrl"] as const;
type IssuerSource = Extract<JWTKeySource, { issuer: string }> & { jwksUrl?: never };
const sourceOwner = "JWTAuth key source (the first argument of new JWTAuth)";
/** The rules of each {@link JWTKeySource}; key material itself is checked when it is parsed. */
const JWT_SOURCES = {
  secret: defineOptions<{ secret: unknown }>(sourceOwner, { secret: option.any("a string, Uint8Array or KeyObject") }, sourceHints),
  publicKey: defineOptions<{ publicKey: unknown }>(sourceOwner, { publicKey: option.any("a PEM string, JWK, KeyObject or CryptoKey") }, sourceHints),
  jwksUrl: defineOptions<JwksSource>(sourceOwner, {
    jwksUrl: option.anyOf(option.string({ nonEmpty: true }), option.instanceOf(URL)),
    issuer: option.string({ nonEmpty: true }),
    cacheMaxAgeMs: option.milliseconds(0),
    cooldownMs: option.milliseconds(0),
    timeoutMs: option.milliseconds(),
  } satisfies OptionRules<JwksSource>, sourceHints),
  issuer: defineOptions<IssuerSource>(sourceOwner, {
    issuer: option.required(option.string({ nonEmpty: true }), "it is where the keys are discovered"),
    jwksUrl: option.any("not allowed here"),
    cacheMaxAgeMs: option.milliseconds(0),
    cooldownMs: option.milliseconds(0),
    timeoutMs: option.milliseconds(),
  } satisfies OptionRules<IssuerSource>, sourceHints),
};
const ANY_SOURCE = defineOptions<Record<string, unknown>>(sourceOwner, { ...JWT_SOURCES.secret.rules, ...JWT_SOURCES.publicKey.rules, ...JWT_SOURCES.jwksUrl.rules }, sourceHints);

/** Refuses unknown and misplaced keys of the key source (`issuer` in the first argument, say). */
function checkSource(source: JWTKeySource): void {
  if (typeof source !== "object" || source === null) return;
  const kinds = SOURCE_KINDS.filter((kind) => Object.hasOwn(source, kind));
  if (kinds.length > 1) throw new TypeError(`${sourceOwner}: give exactly one key source, not ${kinds.join(" and ")}`);
  // { issuer } alone discovers the keys through the issuer's metadata.
  const spec = kinds.length === 1 ? JWT_SOURCES[kinds[0]!] : Object.hasOwn(source, "issuer") ? JWT_SOURCES.issuer : ANY_SOURCE;
  checkOptions(spec as typeof ANY_SOURCE, source as unknown as Record<string, unknown>);
}

/**
 * Longest a verified token is accepted again without a new verification, in ms. Bounds how long a
 * key removed from a JWKS keeps working through the cache (jose caches the key set itself for
 * `cacheMaxAgeMs`, 10 minutes by default, so this adds no new window).
 *
 * @example
 * new JWTAuth({ secret }, { verifiedTokenCacheSize: 0 }); // verify every request in full
 */
export const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;

/** A token that passed verification, and until when it may be accepted without another. */
interface VerifiedToken {
  identity: CallerIdentity;
  validUntilMs: number;
}

const isIssuerUrl = (issuer: string): boolean => {
  try {
    canonicalIssuer(issuer, "issuer");
    return true;
  } catch {
    return false;
  }
};

/**
 * The key set an authorization server's metadata names (`jwks_uri`), fetched and cached by jose
 * like an explicit one; a new `jwks_uri` in refreshed metadata starts a new key set.
 */
function discoveredKeySet(discovery: AuthorizationServerDiscovery, options: Parameters<typeof createRemoteJWKSet>[1]): JWTVerifyGetKey {
  let current: { uri: string; keys: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    const { jwks_uri: uri } = await discovery.metadata();
    if (typeof uri !== "string") throw new DiscoveryError(`the metadata of ${discovery.issuer} names no jwks_uri`);
    if (current?.uri !== uri) current = { uri, keys: remoteKeySet(new URL(uri), options) };
    return current.keys(header, token);
  };
}

/** A JWKS URL's key set, made by jose when the first token is verified (jose is loaded then). */
function remoteKeySet(url: URL, options: Parameters<typeof createRemoteJWKSet>[1]): JWTVerifyGetKey {
  let keys: JWTVerifyGetKey | undefined;
  return async (header, token) => (keys ??= (await joseLibrary()).createRemoteJWKSet(url, options))(header, token);
}

/**
 * One WebCrypto HMAC key per HS algorithm, imported once: handing jose the raw secret (or a secret
 * KeyObject) makes it import the key again on every verification, which costs more than the MAC.
 * Only algorithms already checked against the allowed list reach this resolver.
 */
function hmacKeys(secret: KeyObject): JWTVerifyGetKey {
  const raw = secret.export();
  const imported = new Map<string, Promise<webcrypto.CryptoKey>>();
  return (header) => {
    let key = imported.get(header.alg);
    if (!key) {
      key = webcrypto.subtle.importKey("raw", raw, { name: "HMAC", hash: `SHA-${header.alg.slice(2)}` }, false, ["verify"]);
      imported.set(header.alg, key);
    }
    return key as unknown as ReturnType<JWTVerifyGetKey>;
  };
}

/** The reason a client may read for a failed verification: jose's error codes, mapped; never the token's content. */
function refusal(error: unknown, accepted: readonly string[]): UnauthorizedError {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return new UnauthorizedError("Unauthorized: the token has expired; obtain a new one");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const { claim, reason } = error as { claim?: string; reason?: string };
      if (reason === "missing") {
        return new UnauthorizedError(claim === "exp"
          ? "Unauthorized: the token has no expiry (exp claim); tokens must expire"
          : `Unauthorized: the token lacks the required "${claim}" claim`);
      }
      if (claim === "nbf") return new UnauthorizedError("Unauthorized: the token is not valid yet (nbf is in the future)");
      if (claim === "iss") return new UnauthorizedError("Unauthorized: the token's issuer (iss) is not accepted by this server");
      if (claim === "aud") return new UnauthorizedError("Unauthorized: the token's audience (aud) does not include this server");
      if (claim === "iat") return new UnauthorizedError("Unauthorized: the token's issue time (iat) is invalid");
      return new UnauthorizedError(`Unauthorized: the token's "${claim ?? "?"}" claim is invalid`);
    }
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new UnauthorizedError("Unauthorized: the token's signature is invalid");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return new UnauthorizedError(`Unauthorized: the token's signing algorithm is not accepted (this server accepts ${accepted.join(", ")})`);
    case "ERR_JWKS_NO_MATCHING_KEY":
      return new UnauthorizedError("Unauthorized: no key of the issuer's key set (JWKS) matches the token's key id (kid)");
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return new UnauthorizedError("Unauthorized: several keys of the issuer's key set (JWKS) match the token; give each key a distinct kid");
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
      return new UnauthorizedError("Unauthorized: the issuer's key set (JWKS) could not be fetched; try again later");
    case "ERR_LANTERN_DISCOVERY":
      return new UnauthorizedError("Unauthorized: the authorization server's metadata (and so its key set) could not be fetched; try again later");
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return new UnauthorizedError("Unauthorized: the bearer token is not a well-formed signed JWT");
    default:
      // Network failures while fetching the JWKS land here, as does anything unexpected.
      return new UnauthorizedError("Unauthorized: the token could not be verified");
  }
}

/**
 * Verifies bearer JWTs with `jose`: the signature (shared secret, public key, JWKS URL, or the JWKS
 * an issuer's metadata names), `exp` and `nbf` always, `iss` when configured, `aud` when configured
 * or bound to the server's resource URI by `AuthMiddleware`. Algorithms are pinned to the key's type, so
 * `alg: "none"` and algorithm confusion are refused. Mistakes in its configuration (a secret shorter
 * than 32 bytes, an algorithm the key cannot serve, a plain-http JWKS URL) throw when it is built.
 *
 * @example
 * server.use(new AuthMiddleware(new JWTAuth({ secret: process.env.JWT_SECRET! }, { issuer: "https://idp.example" })));
 * server.use(new AuthMiddleware(new JWTAuth({ jwksUrl: "https://idp.example/.well-known/jwks.json" }, { audience: "hr-api" })));
 * server.use(new AuthMiddleware(new JWTAuth({ issuer: "https://idp.example" }), { resource: "https://mcp.example.com/mcp" }));
 */
export class JWTAuth implements AuthProvider {
  /** The algorithms this instance accepts. */
  readonly algorithms: readonly string[];
  /** The issuer, when it is a URL: the authorization server the protected-resource metadata names. */
  readonly authorizationServers: readonly string[];
  private readonly explicitAudience: boolean;
  private readonly key: KeyObject | JWTVerifyGetKey;
  private readonly verifyOptions: JWTVerifyOptions & { audience?: string | string[] };
  private readonly mapping: IdentityMapping;
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly verifiedMax: number;
  private readonly toleranceMs: number;
  private readonly maxTokenAgeSec: number | undefined;

  constructor(source: JWTKeySource, options: JWTAuthOptions = {}) {
    checkSource(source);
    options = checkOptions(JWT_AUTH_OPTIONS, options);
    if ((options.clockToleranceSec ?? 0) > MAX_CLOCK_TOLERANCE_SEC && options.allowLargeClockTolerance !== true) {
      throw new RangeError(
        `JWTAuth options (the second argument of new JWTAuth): "clockToleranceSec" is ${options.clockToleranceSec} seconds; at most ${MAX_CLOCK_TOLERANCE_SEC} are accepted, because a larger tolerance keeps expired tokens working. Fix the clocks, or pass allowLargeClockTolerance: true if you really mean it`,
      );
    }
    let allowed: readonly string[];
    let sourceIssuer: string | undefined;
    if (source && "secret" in source) {
      if (source.secret === undefined || source.secret === "") {
        throw new TypeError("JWTAuth({ secret }) got an empty secret: is the environment variable that holds it set?");
      }
      const key = secretBytes(source.secret);
      if (key.symmetricKeySize! < MIN_SECRET_BYTES) {
        throw new TypeError(`JWTAuth({ secret }) got a ${key.symmetricKeySize}-byte secret: HMAC secrets must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -base64 48)`);
      }
      this.key = hmacKeys(key);
      allowed = HMAC_ALGORITHMS;
    } else if (source && "publicKey" in source) {
      const key = toPublicKey(source.publicKey);
      const pinned = jwkAlgorithm(source.publicKey);
      allowed = algorithmsForKey(key);
      if (pinned) {
        if (!allowed.includes(pinned)) throw new TypeError(`JWTAuth({ publicKey }): the JWK says alg "${pinned}", which its key type cannot serve`);
        allowed = [pinned];
      }
      this.key = key;
    } else if (source && ("jwksUrl" in source || "issuer" in source)) {
      const remote: RemoteKeyOptions = source;
      const jwksOptions = {
        ...(remote.cacheMaxAgeMs !== undefined ? { cacheMaxAge: remote.cacheMaxAgeMs } : {}),
        ...(remote.cooldownMs !== undefined ? { cooldownDuration: remote.cooldownMs } : {}),
        ...(remote.timeoutMs !== undefined ? { timeoutDuration: remote.timeoutMs } : {}),
      };
      if (source.issuer !== undefined) {
        sourceIssuer = canonicalIssuer(source.issuer, "JWTAuth({ issuer })");
        if (options.issuer !== undefined && !(typeof options.issuer === "string" ? options.issuer === sourceIssuer : options.issuer.length === 1 && options.issuer[0] === sourceIssuer)) {
          throw new TypeError(`JWTAuth: the key source names the issuer ${sourceIssuer} and options.issuer says ${JSON.stringify(options.issuer)}; name the issuer once, in the key source`);
        }
      }
      if ("jwksUrl" in source && source.jwksUrl !== undefined) {
        // An explicit key set wins over discovery.
        this.key = remoteKeySet(secureUrl(source.jwksUrl, "JWTAuth({ jwksUrl })", "https://idp.example/.well-known/jwks.json"), jwksOptions);
      } else {
        const discovery = new AuthorizationServerDiscovery(sourceIssuer!, { cacheMaxAgeMs: remote.cacheMaxAgeMs, cooldownMs: remote.cooldownMs, timeoutMs: remote.timeoutMs });
        this.key = discoveredKeySet(discovery, jwksOptions);
      }
      allowed = ASYMMETRIC_ALGORITHMS;
    } else {
      throw new TypeError("JWTAuth needs one key source: { secret }, { publicKey }, { jwksUrl } or { issuer }");
    }

    if (options.algorithms) {
      if (options.algorithms.length === 0) throw new TypeError("JWTAuth: algorithms is empty; leave it out to accept every algorithm the key type allows");
      const wrong = options.algorithms.filter((alg) => !allowed.includes(alg));
      if (wrong.length) {
        throw new TypeError(`JWTAuth: ${wrong.map((a) => `"${a}"`).join(", ")} cannot be used with this key (it allows ${allowed.join(", ")}); mixing key types is how algorithm-confusion attacks work`);
      }
      allowed = [...options.algorithms];
    }
    this.verifiedMax = options.verifiedTokenCacheSize ?? 1024;
    this.maxTokenAgeSec = options.maxTokenAgeSec;
    this.toleranceMs = (options.clockToleranceSec ?? 0) * 1000;
    this.algorithms = Object.freeze([...allowed]);
    this.mapping = { method: "jwt", clientIdClaim: options.clientIdClaim };
    const issuer = sourceIssuer ?? options.issuer;
    this.authorizationServers = Object.freeze((typeof issuer === "string" ? [issuer] : issuer ?? []).filter(isIssuerUrl));
    this.explicitAudience = options.audience !== undefined;
    this.verifyOptions = {
      algorithms: [...allowed],
      ...(issuer !== undefined ? { issuer } : {}),
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
      ...(options.clockToleranceSec ? { clockTolerance: options.clockToleranceSec } : {}),
      ...(options.requireExpiry === false ? {} : { requiredClaims: ["exp"] }),
    };
  }

  /**
   * Accepts only tokens whose `aud` is `resource` (RFC 8707), unless `audience` was configured.
   * `AuthMiddleware` calls it with the server's canonical resource URI.
   */
  bindResource(resource: string): void {
    if (this.explicitAudience) return;
    this.verifyOptions.audience = resource;
    this.verified.clear();
  }

  /** Verifies `token` and maps its claims to an identity; throws `UnauthorizedError` naming the reason. */
  async verify(token: string): Promise<CallerIdentity> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (Date.now() < known.validUntilMs) return known.identity;
      this.verified.delete(token);
    }
    const identity = await this.verifyInFull(token);
    this.remember(token, identity);
    return identity;
  }

  private async verifyInFull(token: string): Promise<CallerIdentity> {
    let payload: Record<string, unknown>;
    try {
      payload = (await (await joseLibrary()).jwtVerify(token, this.key, this.verifyOptions)).payload;
    } catch (error) {
      throw refusal(error, this.algorithms);
    }
    this.checkIssueTime(payload);
    return identityFromTrustedMapping(payload, this.mapping);
  }

  /**
   * `iat` in the future (beyond the clock tolerance) is refused always; with `maxTokenAgeSec`, `iat`
   * is required, the token's age (now − iat) and its lifetime (exp − iat) must both be within it.
   * jose checks that `iat` is a number when present.
   */
  private checkIssueTime(payload: Record<string, unknown>): void {
    const nowSec = Date.now() / 1000;
    const toleranceSec = this.toleranceMs / 1000;
    const iat = payload.iat;
    if (typeof iat === "number" && iat > nowSec + toleranceSec) {
      throw new UnauthorizedError("Unauthorized: the token's issue time (iat) is in the future; check the issuer's clock");
    }
    const maxAge = this.maxTokenAgeSec;
    if (maxAge === undefined) return;
    if (typeof iat !== "number") throw new UnauthorizedError("Unauthorized: the token has no issue time (iat), and this server limits token age");
    if (nowSec - iat > maxAge + toleranceSec) throw new UnauthorizedError("Unauthorized: the token is older than this server accepts; obtain a new one");
    if (typeof payload.exp === "number" && payload.exp - iat > maxAge) {
      throw new UnauthorizedError("Unauthorized: the token's lifetime (exp - iat) is longer than this server accepts; ask the issuer for shorter-lived tokens");
    }
  }

  /** Remembers a verified token until it expires (with the clock tolerance), at most VERIFIED_TOKEN_MAX_AGE_MS. */
  private remember(token: string, identity: CallerIdentity): void {
    if (this.verifiedMax === 0) return;
    const now = Date.now();
    const exp = identity.claims.exp;
    const expiresMs = typeof exp === "number" ? exp * 1000 + this.toleranceMs : Infinity;
    const iat = identity.claims.iat;
    const tooOldMs = this.maxTokenAgeSec !== undefined && typeof iat === "number" ? (iat + this.maxTokenAgeSec) * 1000 + this.toleranceMs : Infinity;
    const validUntilMs = Math.min(now + VERIFIED_TOKEN_MAX_AGE_MS, expiresMs, tooOldMs);
    if (validUntilMs <= now) return;
    // Oldest first out: a Map iterates in insertion order.
    if (this.verified.size >= this.verifiedMax) this.verified.delete(this.verified.keys().next().value!);
    // One identity object serves many calls: frozen, so no call can change what the next one sees.
    this.verified.set(token, { identity: Object.freeze(identity), validUntilMs });
  }
}
