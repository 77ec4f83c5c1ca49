import type { CallContext, CallerIdentity } from "../core/call-context.js";
import { LanternError, LanternErrorCode, UnauthorizedError } from "../core/errors.js";
import type { MiddlewareObject, Next } from "../core/middleware.js";
import { checkOptions, defineOptions, option } from "../core/options.js";
import type { Authenticator, ServerSetup } from "../core/server-setup.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import type { AuthProvider } from "./auth-provider.js";

/**
 * Options of {@link AuthMiddleware}.
 *
 * @example
 * new AuthMiddleware(provider, { required: false, hideForbiddenTools: true });
 */
export interface AuthMiddlewareOptions {
  /**
   * Refuse calls that carry no credential (default true). With `false`, anonymous calls run with
   * no identity (tools with scopes or roles still refuse them); a credential that is present but
   * invalid is refused either way.
   */
  required?: boolean;
  /** The `realm` of the `WWW-Authenticate` challenge. Default: the server's name. */
  realm?: string;
  /**
   * URL of the OAuth Protected Resource Metadata document (RFC 9728), sent in the challenge as the
   * MCP authorization spec asks so clients can discover the authorization server.
   */
  resourceMetadataUrl?: string;
  /** tools, resources, resource templates and prompts lists show each caller only what its scopes and roles let it use (default false). */
  hideForbiddenTools?: boolean;
}

/** The rules of {@link AuthMiddlewareOptions}. */
const AUTH_MIDDLEWARE_OPTIONS = defineOptions<AuthMiddlewareOptions>("AuthMiddleware options (the second argument of new AuthMiddleware)", {
  required: option.boolean(),
  realm: option.string({ nonEmpty: true }),
  resourceMetadataUrl: option.string({ nonEmpty: true }),
  hideForbiddenTools: option.boolean(),
}, {
  optional: 'use "required: false"',
  issuer: "issuer and audience are checked by the provider: new AuthMiddleware(new JWTAuth(source, { issuer, audience }))",
  audience: "issuer and audience are checked by the provider: new AuthMiddleware(new JWTAuth(source, { issuer, audience }))",
  secret: "the key belongs to the provider: new AuthMiddleware(new JWTAuth({ secret }))",
});

/** The reason given when a request carries no credential at all. */
export const MISSING_CREDENTIAL_REASON = "Unauthorized: no credentials; send an \"Authorization: Bearer <token>\" header";

/** The reason given when the Authorization header is present but not `Bearer <token>`. */
export const MALFORMED_HEADER_REASON = "Unauthorized: the Authorization header must be \"Bearer <token>\"";

// RFC 6750 §3: quoted values may not hold `"` or `\` (nor control characters).
const quoted = (value: string): string => `"${value.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, "?")}"`;

/**
 * Authenticates every request with an {@link AuthProvider} (`JWTAuth`, `APIKeyAuth` or your own)
 * and makes the verified identity the `CallContext.identity` of each call, so `client_id`, scopes
 * and roles are known to every middleware whatever its place in the chain.
 *
 * Where the credential comes from:
 * - Streamable HTTP: `Authorization: Bearer <token>` on every request. A missing or invalid token
 *   is answered at the HTTP layer with 401 and a `WWW-Authenticate` challenge, before any session
 *   exists.
 * - stdio: the token is `listen({ transport: "stdio", token })` or the `LANTERN_TOKEN` environment
 *   variable, verified once at start-up; it is the identity of every call of the process. With
 *   `required: true` and no token the server refuses to start; with `required: false` it runs
 *   anonymously. Without an AuthMiddleware, stdio has no authentication at all.
 * - in-memory (tests): `createTestClient(server, { identity })`; without one, calls are refused
 *   with JSON-RPC -32001 when a credential is required.
 *
 * Per-tool authorisation (`@Tool({ scopes })`, `@RequireScopes`, `@RequireRoles`) is checked by the
 * core inside every chain, so a refusal is counted, logged and audited like any call.
 *
 * @example
 * server.use(new AuthMiddleware(new JWTAuth({ secret: process.env.JWT_SECRET! }), { hideForbiddenTools: true }));
 */
export class AuthMiddleware implements MiddlewareObject, Authenticator {
  readonly required: boolean;
  readonly hideForbiddenTools: boolean;
  private realm: string | undefined;
  private readonly resourceMetadataUrl: string | undefined;

  constructor(
    private readonly provider: AuthProvider,
    options: AuthMiddlewareOptions = {},
  ) {
    if (typeof provider?.verify !== "function") {
      throw new TypeError("AuthMiddleware needs a provider with verify(token): new JWTAuth(...), new APIKeyAuth(...) or your own AuthProvider");
    }
    options = checkOptions(AUTH_MIDDLEWARE_OPTIONS, options);
    this.required = options.required ?? true;
    this.hideForbiddenTools = options.hideForbiddenTools ?? false;
    this.realm = options.realm;
    this.resourceMetadataUrl = options.resourceMetadataUrl;
  }

  setup(server: ServerSetup): void {
    this.realm ??= server.info.name;
    server.setAuthenticator(this);
  }

  /** Resolves who presents `token`; a missing token is anonymous unless a credential is required. */
  async authenticate(token: string | undefined): Promise<CallerIdentity | undefined> {
    if (token === undefined || token === "") {
      if (this.required) throw new UnauthorizedError(MISSING_CREDENTIAL_REASON);
      return undefined;
    }
    try {
      return await this.provider.verify(token);
    } catch (error) {
      if (error instanceof LanternError && error.code === LanternErrorCode.Unauthorized) throw error;
      // A provider's own exception may quote the credential: only its name leaves this process.
      writeStderrNotice(`the auth provider threw ${error instanceof Error ? error.name : typeof error} instead of UnauthorizedError; the request was refused`);
      throw new UnauthorizedError("Unauthorized: the token could not be verified");
    }
  }

  /** The `WWW-Authenticate` value of a 401 (RFC 6750 §3; no error code when no credential was sent). */
  challenge(reason: string): string {
    const parts = [`Bearer realm=${quoted(this.realm ?? "mcp")}`];
    if (this.resourceMetadataUrl) parts.push(`resource_metadata=${quoted(this.resourceMetadataUrl)}`);
    if (reason !== MISSING_CREDENTIAL_REASON) {
      parts.push(`error=${reason === MALFORMED_HEADER_REASON ? "\"invalid_request\"" : "\"invalid_token\""}`, `error_description=${quoted(reason)}`);
    }
    return parts.join(", ");
  }

  /** Refuses a call that reached the chain without an identity when one is required. */
  handle(ctx: CallContext, next: Next): Promise<unknown> {
    if (this.required && ctx.identity === undefined) {
      return Promise.reject(new UnauthorizedError(`Unauthorized: ${ctx.kind} "${ctx.name}" needs an authenticated caller and this session has no identity`));
    }
    return next();
  }
}
