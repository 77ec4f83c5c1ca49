import type { CallerIdentity } from "../core/call-context.js";
import { UnauthorizedError } from "../core/errors.js";
import { checkOptions, defineOptions, option } from "../core/options.js";
import type { AuthProvider } from "./auth-provider.js";
import { SecretDigest } from "./secret-digest.js";

/**
 * One accepted API key and the identity it stands for.
 *
 * @example
 * const entry: APIKeyEntry = { key: process.env.CI_API_KEY!, clientId: "ci", scopes: ["reports:read"] };
 */
export interface APIKeyEntry {
  /** The key itself, sent by clients as `Authorization: Bearer <key>`. At least 16 characters. */
  key: string;
  /** Recorded as `client_id` by every observability part. */
  clientId: string;
  scopes?: string[];
  roles?: string[];
}

/**
 * Shortest API key accepted, in characters.
 *
 * @example
 * const key = randomBytes(32).toString("hex"); // 64 characters, well past MIN_API_KEY_LENGTH
 */
export const MIN_API_KEY_LENGTH = 16;

const USE_KEY = 'use "key" (the API key clients send as a bearer token)';
/** The rules of one {@link APIKeyEntry}; the key and client id get their own, more specific, checks. */
const API_KEY_ENTRY = defineOptions<APIKeyEntry>("APIKeyAuth entry", {
  key: option.any("the API key"),
  clientId: option.any("the client id"),
  scopes: option.stringList(),
  roles: option.stringList(),
}, { apiKey: USE_KEY, token: USE_KEY, secret: USE_KEY, client_id: 'use "clientId"', client: 'use "clientId"', scope: 'use "scopes" (a list)' });

// The characters of an RFC 6750 bearer token: anything else would be refused as a malformed header.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Static API keys for simple deployments. Keys are compared in constant time (both sides hashed,
 * then `timingSafeEqual` against every key, without stopping at the first match), so response
 * times say nothing about how much of a guess was right. Several keys may share a client id
 * (rotation: add the new key, move clients over, remove the old one).
 *
 * @example
 * server.use(new AuthMiddleware(new APIKeyAuth([
 *   { key: process.env.BILLING_API_KEY!, clientId: "billing", scopes: ["invoices:read"] },
 * ])));
 */
export class APIKeyAuth implements AuthProvider {
  private readonly entries: { digest: SecretDigest; identity: CallerIdentity }[];

  constructor(keys: readonly APIKeyEntry[]) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError("APIKeyAuth needs at least one { key, clientId } entry");
    const seen = new Set<string>();
    this.entries = keys.map((entry, index) => {
      const where = `APIKeyAuth entry #${index}${entry?.clientId ? ` (client "${entry.clientId}")` : ""}`;
      if (typeof entry === "object" && entry !== null) checkOptions(API_KEY_ENTRY, entry, where);
      if (typeof entry?.key !== "string" || entry.key.length === 0) throw new TypeError(`${where} has no key: is the environment variable that holds it set?`);
      if (entry.key.length < MIN_API_KEY_LENGTH) throw new TypeError(`${where}: the key is shorter than ${MIN_API_KEY_LENGTH} characters; use a random one (e.g. openssl rand -hex 32)`);
      if (!TOKEN68.test(entry.key)) throw new TypeError(`${where}: the key must use only the characters A-Z a-z 0-9 - . _ ~ + / (then = padding) so it can travel as a bearer token`);
      if (typeof entry.clientId !== "string" || entry.clientId.length === 0) throw new TypeError(`${where} has no clientId: it is what logs, metrics and the audit trail record`);
      const digest = SecretDigest.of(entry.key);
      const hex = digest.digest.toString("hex");
      if (seen.has(hex)) throw new TypeError(`${where}: the same key is listed twice`);
      seen.add(hex);
      const identity: CallerIdentity = Object.freeze({
        clientId: entry.clientId,
        subject: entry.clientId,
        scopes: Object.freeze([...(entry.scopes ?? [])]),
        roles: Object.freeze([...(entry.roles ?? [])]),
        claims: Object.freeze({}),
        method: "api-key",
      });
      return { digest, identity };
    });
  }

  /** Resolves the identity of the key `token` matches; refuses any other. */
  async verify(token: string): Promise<CallerIdentity> {
    const presented = SecretDigest.of(token);
    let match: CallerIdentity | undefined;
    for (const entry of this.entries) {
      if (presented.equals(entry.digest)) match = entry.identity;
    }
    if (!match) throw new UnauthorizedError("Unauthorized: the API key is not valid");
    return match;
  }
}
