import type { CallerIdentity } from "../core/call-context.js";
import { UnauthorizedError } from "../core/errors.js";
import { checkOptions, defineOptions, option } from "../core/options.js";

/**
 * Proves who presents a credential. `JWTAuth`, `IntrospectionAuth` and `APIKeyAuth` implement it;
 * implement it yourself for anything else (a session store, a proprietary token service) and hand
 * it to `AuthMiddleware`.
 *
 * Throw `UnauthorizedError` with a reason the client may read ("the token has expired"); never put
 * the credential or its content in that reason. Any other exception is answered with a generic
 * "could not be verified" so that nothing it says can leak.
 *
 * @example
 * const sessions: AuthProvider = {
 *   async verify(token) {
 *     const session = await sessionStore.find(token);
 *     if (!session) throw new UnauthorizedError("Unauthorized: the session is not known");
 *     return identityFromClaims(session.claims, { method: "session" });
 *   },
 * };
 * server.use(new AuthMiddleware(sessions));
 */
export interface AuthProvider {
  /** Resolves the identity `token` proves, or throws `UnauthorizedError` naming the reason. */
  verify(token: string): Promise<CallerIdentity>;
  /**
   * Told by `AuthMiddleware` the server's canonical resource URI (configured, or derived from the
   * HTTP listening URL) before the first request is served. A provider of audience-bearing tokens
   * (`JWTAuth`, `IntrospectionAuth`) then accepts only tokens issued for that URI (RFC 8707),
   * unless it was configured with explicit audiences.
   */
  bindResource?(resource: string): void;
  /** Issuer identifiers of the authorization servers whose tokens it accepts (named in the protected-resource metadata). */
  readonly authorizationServers?: readonly string[];
}

/**
 * Whether a token's `aud` (a string or an array of strings) names one of `accepted`.
 *
 * @example
 * audienceIncludes(["https://mcp.example.com/mcp", "other"], ["https://mcp.example.com/mcp"]); // true
 */
export function audienceIncludes(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === "string") return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((value) => typeof value === "string" && accepted.includes(value));
}

/**
 * Options of {@link identityFromClaims}.
 *
 * @example
 * identityFromClaims(claims, { method: "introspection", clientIdClaim: "app_id" });
 */
export interface IdentityMapping {
  /** Which provider established the identity (`jwt`, `api-key`, ...). */
  method: string;
  /** Take the client id from this claim only (default: `client_id`, then `azp`, then `sub`). */
  clientIdClaim?: string;
}

/** The rules of {@link IdentityMapping}. */
const IDENTITY_MAPPING = defineOptions<IdentityMapping>("identityFromClaims mapping (the second argument)", {
  method: option.required(option.string({ nonEmpty: true }), "it names the provider in every identity (jwt, api-key, ...)"),
  clientIdClaim: option.string({ nonEmpty: true }),
});

const words = (value: unknown): string[] => {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string" && v.length > 0);
  return [];
};

const nonEmptyString = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

/**
 * The identity a set of verified claims describes: client id from `client_id`, `azp` or `sub` (or
 * the configured claim), scopes from `scope` (space-separated) and/or `scp` (array or string), roles
 * from `roles`, and every claim as is. Throws `UnauthorizedError` when no claim names the client.
 *
 * @example
 * identityFromClaims({ sub: "u1", azp: "dashboard", scope: "hr:read hr:write" }, { method: "jwt" });
 * // { clientId: "dashboard", subject: "u1", scopes: ["hr:read", "hr:write"], roles: [], ... }
 */
export function identityFromClaims(claims: Record<string, unknown>, mapping: IdentityMapping): CallerIdentity {
  return identityFromTrustedMapping(claims, checkOptions(IDENTITY_MAPPING, mapping));
}

/**
 * {@link identityFromClaims} with a mapping checked already: `JWTAuth` and `IntrospectionAuth`
 * build theirs once, from options checked when they were built, not on every verification.
 */
export function identityFromTrustedMapping(claims: Record<string, unknown>, mapping: IdentityMapping): CallerIdentity {
  const clientId = mapping.clientIdClaim
    ? nonEmptyString(claims[mapping.clientIdClaim])
    : nonEmptyString(claims.client_id) ?? nonEmptyString(claims.azp) ?? nonEmptyString(claims.sub);
  if (clientId === undefined) {
    throw new UnauthorizedError(
      mapping.clientIdClaim
        ? `Unauthorized: the token has no "${mapping.clientIdClaim}" claim to identify the client`
        : "Unauthorized: the token names no client (no client_id, azp or sub claim)",
    );
  }
  const scope = words(claims.scope);
  const scp = words(claims.scp);
  return {
    clientId,
    subject: nonEmptyString(claims.sub),
    issuer: nonEmptyString(claims.iss),
    scopes: Object.freeze(scp.length === 0 ? scope : [...new Set([...scope, ...scp])]),
    roles: Object.freeze(words(claims.roles)),
    claims: Object.freeze({ ...claims }),
    method: mapping.method,
  };
}
