import { createHash } from "node:crypto";
import type { CallerIdentity } from "../core/call-context.js";
import { UnauthorizedError } from "../core/errors.js";
import { checkOptions, defineOptions, option } from "../core/options.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import { audienceIncludes, identityFromTrustedMapping, type AuthProvider, type IdentityMapping } from "./auth-provider.js";
import { AuthorizationServerDiscovery, canonicalIssuer, DiscoveryError, readJsonObject } from "./authorization-server-metadata.js";

/**
 * How {@link IntrospectionAuth} authenticates itself to the introspection endpoint (RFC 7662 §2.1
 * requires it): HTTP Basic (`client_secret_basic`, the default) or the credentials in the form body
 * (`client_secret_post`).
 *
 * @example
 * const method: IntrospectionClientAuthMethod = "client_secret_post";
 */
export type IntrospectionClientAuthMethod = "client_secret_basic" | "client_secret_post";

/**
 * Options of {@link IntrospectionAuth}.
 *
 * @example
 * new IntrospectionAuth({ issuer: "https://auth.example.com", clientId: "mcp-server", clientSecret: process.env.INTROSPECTION_SECRET! });
 */
export interface IntrospectionAuthOptions {
  /**
   * Issuer identifier of the authorization server: its metadata names the introspection endpoint
   * (unless `introspectionEndpoint` is set), it is named in the protected-resource metadata, and an
   * answer naming another `iss` is refused.
   */
  issuer?: string;
  /** The introspection endpoint itself; wins over discovery. */
  introspectionEndpoint?: string;
  /** This server's client id at the authorization server. */
  clientId: string;
  /** This server's client secret at the authorization server. */
  clientSecret: string;
  /** Default `client_secret_basic`. */
  clientAuthMethod?: IntrospectionClientAuthMethod;
  /**
   * Accepted `aud` value(s) of the introspection answer. Default: under `AuthMiddleware`, the
   * server's canonical resource URI (RFC 8707); used alone, not checked.
   */
  audience?: string | string[];
  /**
   * How long an active token is accepted again without asking, in ms (default 30 s; 0 asks every
   * time). Never past the token's `exp`; refusals are never remembered, so a revoked token is
   * refused at most this long after its revocation.
   */
  cacheMaxAgeMs?: number;
  /** How many active tokens to remember (default 1024). */
  cacheSize?: number;
  /** Time limit of one introspection request, in ms. Default 5 s. */
  timeoutMs?: number;
  /** Take the client id from this member of the answer (default: `client_id`, then `azp`, then `sub`). */
  clientIdClaim?: string;
}

const INTROSPECTION_OPTIONS = defineOptions<IntrospectionAuthOptions>("IntrospectionAuth options", {
  issuer: option.string({ nonEmpty: true }),
  introspectionEndpoint: option.string({ nonEmpty: true }),
  clientId: option.required(option.string({ nonEmpty: true }), "it is the id this server has at the authorization server"),
  clientSecret: option.secured(option.string(), "authenticate to the introspection endpoint without a secret"),
  clientAuthMethod: option.oneOf("client_secret_basic", "client_secret_post"),
  audience: option.stringOrList({ nonEmpty: true }),
  cacheMaxAgeMs: option.milliseconds(0),
  cacheSize: option.integer({ min: 0 }),
  timeoutMs: option.milliseconds(),
  clientIdClaim: option.string({ nonEmpty: true }),
}, { endpoint: 'use "introspectionEndpoint"', introspectionUrl: 'use "introspectionEndpoint"', secret: 'use "clientSecret"', client_id: 'use "clientId"' });

/** An active token, remembered until `validUntilMs`. */
interface ActiveToken {
  identity: CallerIdentity;
  validUntilMs: number;
}

// RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they are joined for Basic.
const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, "+");

/**
 * Verifies opaque (or any) bearer tokens by asking the authorization server (OAuth 2.0 Token
 * Introspection, RFC 7662), authenticated as a client. An active answer becomes the call's
 * identity exactly as JWT claims do (`client_id`, `sub`, `scope`, ...; method `introspection`);
 * `exp`, `nbf`, the issuer and the audience are checked here too. Active answers are remembered
 * briefly (never past `exp`); inactive ones and failures never are.
 *
 * @example
 * server.use(new AuthMiddleware(new IntrospectionAuth({
 *   issuer: "https://auth.example.com",
 *   clientId: "inventory-mcp",
 *   clientSecret: process.env.INTROSPECTION_SECRET!,
 * }), { resource: "https://mcp.example.com/mcp" }));
 */
export class IntrospectionAuth implements AuthProvider {
  readonly authorizationServers: readonly string[];
  private readonly endpoint: string | undefined;
  private readonly discovery: AuthorizationServerDiscovery | undefined;
  private readonly issuer: string | undefined;
  private readonly authorization: string | undefined;
  private readonly credentials: Record<string, string>;
  private audience: readonly string[] | undefined;
  private readonly explicitAudience: boolean;
  private readonly cacheMaxAgeMs: number;
  private readonly cacheSize: number;
  private readonly timeoutMs: number;
  private readonly mapping: IdentityMapping;
  private readonly active = new Map<string, ActiveToken>();
  private readonly pending = new Map<string, Promise<CallerIdentity>>();

  constructor(options: IntrospectionAuthOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("IntrospectionAuth needs { issuer or introspectionEndpoint, clientId, clientSecret }");
    options = checkOptions(INTROSPECTION_OPTIONS, options);
    if (options.issuer === undefined && options.introspectionEndpoint === undefined) {
      throw new TypeError("IntrospectionAuth needs the authorization server: { issuer } (its metadata names the introspection endpoint) or { introspectionEndpoint }");
    }
    // option.string() takes "", and a key left out is undefined here: both are an unset variable.
    if (!options.clientSecret) throw new TypeError("IntrospectionAuth got an empty clientSecret: is the environment variable that holds it set?");
    this.issuer = options.issuer === undefined ? undefined : canonicalIssuer(options.issuer, "IntrospectionAuth({ issuer })");
    this.endpoint = options.introspectionEndpoint === undefined ? undefined : canonicalIssuer(options.introspectionEndpoint, "IntrospectionAuth({ introspectionEndpoint })");
    this.discovery = this.endpoint === undefined ? new AuthorizationServerDiscovery(this.issuer!, { timeoutMs: options.timeoutMs }) : undefined;
    this.authorizationServers = Object.freeze(this.issuer ? [this.issuer] : []);
    if ((options.clientAuthMethod ?? "client_secret_basic") === "client_secret_basic") {
      this.authorization = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString("base64")}`;
      this.credentials = {};
    } else {
      this.credentials = { client_id: options.clientId, client_secret: options.clientSecret };
    }
    this.explicitAudience = options.audience !== undefined;
    this.audience = options.audience === undefined ? undefined : Object.freeze(typeof options.audience === "string" ? [options.audience] : [...options.audience]);
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 30_000;
    this.cacheSize = options.cacheSize ?? 1024;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.mapping = { method: "introspection", clientIdClaim: options.clientIdClaim };
  }

  /** Accepts only tokens whose `aud` is `resource` (RFC 8707), unless `audience` was configured. */
  bindResource(resource: string): void {
    if (this.explicitAudience) return;
    this.audience = Object.freeze([resource]);
    this.active.clear();
  }

  /** Resolves the identity of an active token; throws `UnauthorizedError` naming why not. */
  verify(token: string): Promise<CallerIdentity> {
    // Keyed by digest: the cache holds no bearer token in the clear.
    const key = createHash("sha256").update(token).digest("base64url");
    const known = this.active.get(key);
    if (known) {
      if (Date.now() < known.validUntilMs) return Promise.resolve(known.identity);
      this.active.delete(key);
    }
    // Concurrent requests with one token share one introspection.
    let asking = this.pending.get(key);
    if (!asking) {
      asking = this.introspect(token).then(
        (identity) => {
          this.pending.delete(key);
          this.remember(key, identity);
          return identity;
        },
        (error: unknown) => {
          this.pending.delete(key);
          throw error;
        },
      );
      this.pending.set(key, asking);
    }
    return asking;
  }

  private async introspect(token: string): Promise<CallerIdentity> {
    let endpoint = this.endpoint;
    if (endpoint === undefined) {
      try {
        endpoint = (await this.discovery!.metadata()).introspection_endpoint;
      } catch {
        // The discovery has told the operator why.
        throw new UnauthorizedError("Unauthorized: the authorization server could not be reached to check the token; try again later");
      }
      if (typeof endpoint !== "string") {
        this.report(`the metadata of ${this.issuer} names no introspection_endpoint: set IntrospectionAuth({ introspectionEndpoint })`);
        throw new UnauthorizedError("Unauthorized: the token could not be checked (the authorization server offers no introspection)");
      }
    }
    let answer: Record<string, unknown>;
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token", ...this.credentials }).toString(),
        redirect: "error",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        this.report(response.status === 401 || response.status === 403
          ? `the introspection endpoint refused this server's client credentials (HTTP ${response.status}): check clientId, clientSecret and clientAuthMethod`
          : `the introspection endpoint answered HTTP ${response.status}`);
        throw new UnauthorizedError("Unauthorized: the token could not be checked with the authorization server; try again later");
      }
      answer = await readJsonObject(response, "the introspection answer");
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error;
      this.report(error instanceof DiscoveryError ? error.message : `the introspection endpoint could not be reached (${(error as Error).name})`);
      throw new UnauthorizedError("Unauthorized: the token could not be checked with the authorization server; try again later");
    }
    return this.identityOf(answer);
  }

  private identityOf(answer: Record<string, unknown>): CallerIdentity {
    if (answer.active !== true) throw new UnauthorizedError("Unauthorized: the token is not active (expired, revoked or unknown to the authorization server); obtain a new one");
    const now = Date.now() / 1000;
    if (typeof answer.exp === "number" && answer.exp <= now) throw new UnauthorizedError("Unauthorized: the token has expired; obtain a new one");
    if (typeof answer.nbf === "number" && answer.nbf > now) throw new UnauthorizedError("Unauthorized: the token is not valid yet (nbf is in the future)");
    if (this.issuer !== undefined && answer.iss !== undefined && answer.iss !== this.issuer) {
      throw new UnauthorizedError("Unauthorized: the token's issuer (iss) is not accepted by this server");
    }
    if (this.audience && !audienceIncludes(answer.aud, this.audience)) {
      throw new UnauthorizedError("Unauthorized: the token's audience (aud) does not include this server");
    }
    return Object.freeze(identityFromTrustedMapping(answer, this.mapping));
  }

  private remember(key: string, identity: CallerIdentity): void {
    if (this.cacheSize === 0 || this.cacheMaxAgeMs === 0) return;
    const now = Date.now();
    const exp = identity.claims.exp;
    const validUntilMs = Math.min(now + this.cacheMaxAgeMs, typeof exp === "number" ? exp * 1000 : Infinity);
    if (validUntilMs <= now) return;
    if (this.active.size >= this.cacheSize) this.active.delete(this.active.keys().next().value!);
    this.active.set(key, { identity, validUntilMs });
  }

  // What went wrong with the authorization server is the operator's business, not the client's.
  private report(problem: string): void {
    writeStderrNotice(`IntrospectionAuth: ${problem}`);
  }
}
