import { checkOptions, defineOptions, option } from "../core/options.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import { isSecureUrl, secureUrl } from "./protected-resource-metadata.js";

/**
 * The parts of an authorization server's metadata (RFC 8414, or OpenID Connect discovery) a
 * resource server uses; every other member is kept as it came.
 *
 * @example
 * const metadata = await new AuthorizationServerDiscovery("https://auth.example.com").metadata();
 * metadata.jwks_uri; // "https://auth.example.com/jwks"
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri?: string;
  token_endpoint?: string;
  introspection_endpoint?: string;
  introspection_endpoint_auth_methods_supported?: string[];
  [member: string]: unknown;
}

/**
 * Options of {@link AuthorizationServerDiscovery}.
 *
 * @example
 * new AuthorizationServerDiscovery("https://auth.example.com", { cacheMaxAgeMs: 3_600_000 });
 */
export interface DiscoveryOptions {
  /** How long fetched metadata is used before it is fetched again, in ms. Default 10 minutes. */
  cacheMaxAgeMs?: number;
  /** Least time between two failed fetches, in ms (the server is not hammered while it is down). Default 30 s. */
  cooldownMs?: number;
  /** Time limit of one fetch, in ms. Default 5 s. */
  timeoutMs?: number;
}

/** Thrown when the metadata cannot be had; its message names the issuer and what went wrong, never a token. */
export class DiscoveryError extends Error {
  readonly code = "ERR_LANTERN_DISCOVERY";
}

/** Largest metadata or introspection answer read, in bytes. */
const MAX_AUTH_RESPONSE_BYTES = 256 * 1024;

/**
 * Checks that `issuer` can name an authorization server (an https URL, or http on a loopback
 * address, without query or fragment) and returns it unchanged: issuers compare as exact strings.
 *
 * @example
 * canonicalIssuer("https://auth.example.com", "JWTAuth({ issuer })");
 */
export function canonicalIssuer(issuer: string, where: string): string {
  const url = secureUrl(issuer, where, "https://auth.example.com");
  if (url.search || url.hash) throw new TypeError(`${where} must not have a query or fragment: got ${issuer}`);
  return issuer;
}

/**
 * The metadata URLs of `issuer`, in the order the MCP authorization spec tries them: RFC 8414's
 * path-inserted `oauth-authorization-server`, then OpenID Connect discovery (path-inserted, then
 * path-appended when the issuer has a path).
 *
 * @example
 * metadataUrls("https://auth.example.com/tenant1");
 * // [".../.well-known/oauth-authorization-server/tenant1", ".../.well-known/openid-configuration/tenant1", ".../tenant1/.well-known/openid-configuration"]
 */
function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  if (!path) return [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`];
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/** Reads a JSON object of at most `limit` bytes; anything else throws a `DiscoveryError` naming `what`. */
export async function readJsonObject(response: Response, what: string, limit = MAX_AUTH_RESPONSE_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw new DiscoveryError(`${what} is larger than ${limit} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw new DiscoveryError(`${what} is larger than ${limit} bytes`);
      }
      chunks.push(value);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new DiscoveryError(`${what} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new DiscoveryError(`${what} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

const checkEndpoint = (metadata: Record<string, unknown>, member: string, issuer: string): void => {
  const value = metadata[member];
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !isSecureUrl(url)) {
    throw new DiscoveryError(`the metadata of ${issuer} has a ${member} that is not an https URL`);
  }
};

/** The rules of {@link DiscoveryOptions}. */
const DISCOVERY_OPTIONS = defineOptions<DiscoveryOptions>("AuthorizationServerDiscovery options", {
  cacheMaxAgeMs: option.milliseconds(0),
  cooldownMs: option.milliseconds(0),
  timeoutMs: option.milliseconds(),
}, { cacheMaxAge: 'use "cacheMaxAgeMs"', timeout: 'use "timeoutMs"' });

/**
 * Finds an authorization server's metadata from its issuer identifier (RFC 8414, falling back to
 * OpenID Connect discovery), checks that the document names that very issuer (RFC 8414 §3.3), and
 * keeps it for `cacheMaxAgeMs`. One fetch at a time; after a failure, stale metadata keeps being
 * used and no new fetch starts before `cooldownMs`.
 *
 * @example
 * const discovery = new AuthorizationServerDiscovery("https://auth.example.com");
 * const { jwks_uri } = await discovery.metadata();
 */
export class AuthorizationServerDiscovery {
  private cached: { metadata: AuthorizationServerMetadata; fetchedAt: number } | undefined;
  private failure: { error: DiscoveryError; at: number } | undefined;
  private inFlight: Promise<AuthorizationServerMetadata> | undefined;
  private readonly cacheMaxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;

  constructor(
    readonly issuer: string,
    options: DiscoveryOptions = {},
  ) {
    canonicalIssuer(issuer, "the issuer");
    options = checkOptions(DISCOVERY_OPTIONS, options);
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 600_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The metadata, fetched when none is cached or the cached one is older than `cacheMaxAgeMs`. */
  metadata(): Promise<AuthorizationServerMetadata> {
    const now = Date.now();
    if (this.cached && now - this.cached.fetchedAt < this.cacheMaxAgeMs) return Promise.resolve(this.cached.metadata);
    if (this.failure && now - this.failure.at < this.cooldownMs) {
      return this.cached ? Promise.resolve(this.cached.metadata) : Promise.reject(this.failure.error);
    }
    this.inFlight ??= this.fetchMetadata().then(
      (metadata) => {
        this.cached = { metadata, fetchedAt: Date.now() };
        this.failure = undefined;
        this.inFlight = undefined;
        return metadata;
      },
      (error: unknown) => {
        this.inFlight = undefined;
        const failure = error instanceof DiscoveryError ? error : new DiscoveryError(`the metadata of ${this.issuer} could not be fetched`);
        this.failure = { error: failure, at: Date.now() };
        // Once per attempt (attempts are at least cooldownMs apart): the operator learns why tokens are refused.
        writeStderrNotice(`authorization server discovery failed: ${failure.message}${this.cached ? " (still using the metadata fetched before)" : ""}`);
        if (this.cached) return this.cached.metadata;
        throw failure;
      },
    );
    return this.inFlight;
  }

  private async fetchMetadata(): Promise<AuthorizationServerMetadata> {
    const reasons: string[] = [];
    for (const url of metadataUrls(this.issuer)) {
      let response: Response;
      try {
        response = await fetch(url, { headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        reasons.push(`${url}: ${(error as Error).name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : "unreachable"}`);
        continue;
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        reasons.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      const metadata = await readJsonObject(response, `the metadata at ${url}`);
      if (metadata.issuer !== this.issuer) {
        throw new DiscoveryError(`the metadata at ${url} names the issuer ${JSON.stringify(metadata.issuer)}, not ${this.issuer} (RFC 8414 §3.3): check the configured issuer`);
      }
      for (const member of ["jwks_uri", "introspection_endpoint", "token_endpoint"]) checkEndpoint(metadata, member, this.issuer);
      return metadata as AuthorizationServerMetadata;
    }
    throw new DiscoveryError(`no authorization server metadata found for ${this.issuer} (${reasons.join("; ")})`);
  }
}
