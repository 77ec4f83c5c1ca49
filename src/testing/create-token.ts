import { algorithmsForKey, secretBytes, toPrivateKey, type PrivateKeyInput } from "../auth/key-algorithms.js";
import { joseLibrary } from "../core/libraries.js";
import { checkOptions, defineOptions, option } from "../core/options.js";

/**
 * Options of {@link createToken}: a key (secret or private key) and the claims to sign.
 *
 * @example
 * const options: CreateTokenOptions = { secret: SECRET, clientId: "agent-1", scopes: ["hr:read"], expiresIn: "10m" };
 */
export interface CreateTokenOptions {
  /** HS256/384/512 shared secret (the same one given to `JWTAuth({ secret })`). */
  secret?: string | Uint8Array;
  /** Private key (PEM, JWK or KeyObject) whose public half is given to `JWTAuth({ publicKey })` or served in a JWKS. */
  privateKey?: PrivateKeyInput;
  /** Signing algorithm. Default: HS256 for a secret, else the first one the key type allows (RS256, ES256, EdDSA...). */
  algorithm?: string;
  /** `kid` header (the key id a JWKS lookup matches). */
  kid?: string;
  /** Extra protected-header parameters. */
  header?: Record<string, unknown>;
  /** Written as `sub`. */
  subject?: string;
  /** Written as `client_id`. */
  clientId?: string;
  /** Written as `iss`. */
  issuer?: string;
  /** Written as `aud`. */
  audience?: string | string[];
  /** Written as `scope`, space-separated. */
  scopes?: string[];
  /** Written as `roles`. */
  roles?: string[];
  /** Any other claims (they win over the options above). */
  claims?: Record<string, unknown>;
  /**
   * Seconds from now until `exp` (negative for a token that has already expired), or a jose time
   * span such as `"2h"`; `null` leaves `exp` out. Default 3600.
   */
  expiresIn?: number | string | null;
  /** Seconds from now until `nbf` (positive for a token that is not valid yet), or a time span. */
  notBefore?: number | string;
}

const timeSpan = option.anyOf(option.number(), option.string({ nonEmpty: true }));
/** The rules of {@link CreateTokenOptions}. */
const CREATE_TOKEN_OPTIONS = defineOptions<CreateTokenOptions>("createToken options", {
  secret: option.any("a string or Uint8Array"),
  privateKey: option.any("a PEM string, JWK, KeyObject or CryptoKey"),
  algorithm: option.string({ nonEmpty: true }),
  kid: option.string(),
  header: option.object(),
  subject: option.string(),
  clientId: option.string(),
  issuer: option.string(),
  audience: option.stringOrList(),
  scopes: option.stringList(),
  roles: option.stringList(),
  claims: option.object(),
  expiresIn: option.nullable(timeSpan),
  notBefore: timeSpan,
}, {
  sub: 'use "subject"', iss: 'use "issuer"', aud: 'use "audience"', exp: 'use "expiresIn"', nbf: 'use "notBefore"',
  client_id: 'use "clientId"', scope: 'use "scopes" (a list)', alg: 'use "algorithm"', expiresInSec: 'use "expiresIn" (seconds, or a time span such as "2h")',
});

const relative = (value: number | string): number | string => (typeof value === "number" ? Math.floor(Date.now() / 1000) + value : value);

/**
 * Mints a signed JWT for tests: the token a client would get from its authorization server.
 *
 * @example
 * const token = await createToken({ secret: SECRET, clientId: "agent-7", scopes: ["hr:read"] });
 * const expired = await createToken({ secret: SECRET, subject: "u1", expiresIn: -60 });
 * const rs256 = await createToken({ privateKey: keys.privateKey, kid: "k1", subject: "u1", audience: "hr-api" });
 */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  options = checkOptions(CREATE_TOKEN_OPTIONS, options);
  if ((options.secret === undefined) === (options.privateKey === undefined)) {
    throw new TypeError("createToken needs exactly one of { secret } or { privateKey }");
  }
  const key = options.secret !== undefined ? secretBytes(options.secret) : toPrivateKey(options.privateKey!);
  const alg = options.algorithm ?? (options.secret !== undefined ? "HS256" : algorithmsForKey(key)[0]!);
  const claims: Record<string, unknown> = {
    ...(options.clientId !== undefined ? { client_id: options.clientId } : {}),
    ...(options.scopes !== undefined ? { scope: options.scopes.join(" ") } : {}),
    ...(options.roles !== undefined ? { roles: options.roles } : {}),
    ...options.claims,
  };
  const { SignJWT } = await joseLibrary();
  const jwt = new SignJWT(claims).setProtectedHeader({ ...options.header, alg, ...(options.kid !== undefined ? { kid: options.kid } : {}) });
  if (claims.iat === undefined) jwt.setIssuedAt();
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  const expiresIn = options.expiresIn === undefined ? 3600 : options.expiresIn;
  if (expiresIn !== null) jwt.setExpirationTime(relative(expiresIn));
  if (options.notBefore !== undefined) jwt.setNotBefore(relative(options.notBefore));
  return jwt.sign(key);
}
