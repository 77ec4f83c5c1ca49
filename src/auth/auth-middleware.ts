import type { CallContext, CallerIdentity } from "../core/call-context.js";
import { DefinitionError, LanternError, LanternErrorCode, UnauthorizedError } from "../core/errors.js";
import type { MiddlewareObject, Next } from "../core/middleware.js";
import { checkOptions, defineOptions, option } from "../core/options.js";
import type { Authenticator, ServerSetup } from "../core/server-setup.js";
import { writeStderrNotice } from "../core/stderr-report.js";
import type { AuthProvider } from "./auth-provider.js";
import { canonicalIssuer } from "./authorization-server-metadata.js";
import { canonicalResourceUri, protectedResourceMetadataPaths, protectedResourceMetadataUrl, type ProtectedResourceMetadata } from "./protected-resource-metadata.js";

/**
 * Options of {@link AuthMiddleware}.
 *
 * @example
 * new AuthMiddleware(provider, {
 *   resource: "https://mcp.example.com/mcp",
 *   authorizationServers: ["https://auth.example.com"],
 *   hideForbiddenTools: true,
 * });
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
   * The canonical URI of the MCP endpoint as clients reach it (RFC 8707), e.g.
   * `"https://mcp.example.com/mcp"`: the `resource` of the protected-resource metadata and the
   * audience tokens must be issued for. Default: the URL the HTTP transport listens on
   * (`http://127.0.0.1:<port>/mcp`), which is right only when clients connect to it directly;
   * behind a proxy or a load balancer, set it. Over stdio there is none unless set.
   */
  resource?: string | URL;
  /**
   * Issuer identifiers of the authorization servers that issue tokens for this server (the
   * metadata's `authorization_servers`). Default: what the provider names (`JWTAuth` with an
   * issuer URL, `IntrospectionAuth`).
   */
  authorizationServers?: string[];
  /**
   * The metadata's `scopes_supported`, also the `scope` of the 401 challenge. Default: every scope
   * a registered tool requires.
   */
  scopesSupported?: string[];
  /** The metadata's `resource_name` (human-readable). */
  resourceName?: string;
  /** The metadata's `resource_documentation` (a URL for developers). */
  resourceDocumentation?: string;
  /**
   * URL of the protected-resource metadata named in challenges. Default: the path-suffixed
   * well-known URL of `resource` (RFC 9728 §3.1), which this server answers itself; set it only
   * when the document is served elsewhere.
   */
  resourceMetadataUrl?: string;
  /** tools, resources, resource templates and prompts lists show each caller only what its scopes and roles let it use (default false). */
  hideForbiddenTools?: boolean;
}

/** The rules of {@link AuthMiddlewareOptions}. */
const AUTH_MIDDLEWARE_OPTIONS = defineOptions<AuthMiddlewareOptions>("AuthMiddleware options (the second argument of new AuthMiddleware)", {
  required: option.boolean(),
  realm: option.string({ nonEmpty: true }),
  resource: option.anyOf(option.string({ nonEmpty: true }), option.instanceOf(URL, "a URL")),
  authorizationServers: option.stringList({ nonEmpty: true }),
  scopesSupported: option.stringList(),
  resourceName: option.string({ nonEmpty: true }),
  resourceDocumentation: option.string({ nonEmpty: true }),
  resourceMetadataUrl: option.string({ nonEmpty: true }),
  hideForbiddenTools: option.boolean(),
}, {
  optional: 'use "required: false"',
  issuer: "issuer and audience are checked by the provider: new AuthMiddleware(new JWTAuth(source, { issuer, audience })); the authorization servers clients are sent to are \"authorizationServers\"",
  audience: "issuer and audience are checked by the provider: new AuthMiddleware(new JWTAuth(source, { issuer, audience })); this server's own URI is \"resource\"",
  secret: "the key belongs to the provider: new AuthMiddleware(new JWTAuth({ secret }))",
  scopes: 'use "scopesSupported"',
  resourceUrl: 'use "resource"',
});

/** Providers already bound to a server's resource URI: one provider cannot hold two audiences. */
const boundProviders = new WeakSet<AuthProvider>();

/** A list without repeats; its entries are single tokens (no spaces). */
const stringList = (value: string[] | undefined, where: string): string[] | undefined => {
  if (value === undefined) return undefined;
  if (value.some((v) => v.length === 0 || /\s/.test(v))) {
    throw new TypeError(`AuthMiddleware options: "${where}" takes non-empty strings without spaces`);
  }
  return [...new Set(value)];
};

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
 * core inside every chain, so a refusal is counted, logged and audited like any call. Over HTTP a
 * call that needs scopes the token lacks is answered 403 `insufficient_scope` naming them, so that
 * OAuth clients can step up; the JSON-RPC -32003 error stays for stdio.
 *
 * As an OAuth 2.1 resource server (MCP authorization): it serves the protected-resource metadata
 * (RFC 9728) at `/.well-known/oauth-protected-resource` and its path-suffixed form
 * (`/.well-known/oauth-protected-resource/mcp`), names it in every challenge with the scopes to
 * ask for, and binds the provider's tokens to the server's canonical resource URI (RFC 8707).
 *
 * @example
 * server.use(new AuthMiddleware(new JWTAuth({ secret: process.env.JWT_SECRET! }), { hideForbiddenTools: true }));
 * server.use(new AuthMiddleware(new JWTAuth({ issuer: "https://auth.example.com" }), { resource: "https://mcp.example.com/mcp" }));
 */
export class AuthMiddleware implements MiddlewareObject, Authenticator {
  readonly required: boolean;
  readonly hideForbiddenTools: boolean;
  private realm: string | undefined;
  private readonly options: AuthMiddlewareOptions;
  private resourceUri: string | undefined;
  private metadataUrl: string | undefined;
  private server: ServerSetup | undefined;
  private readonly servedPaths = new Set<string>();
  /** Why no resource URI could be derived from the listening URL (tokens are refused then). */
  private unusableResource: string | undefined;

  constructor(
    private readonly provider: AuthProvider,
    options: AuthMiddlewareOptions = {},
  ) {
    if (typeof provider?.verify !== "function") {
      throw new TypeError("AuthMiddleware needs a provider with verify(token): new JWTAuth(...), new APIKeyAuth(...), new IntrospectionAuth(...) or your own AuthProvider");
    }
    options = checkOptions(AUTH_MIDDLEWARE_OPTIONS, options);
    this.options = {
      ...options,
      authorizationServers: stringList(options.authorizationServers, "authorizationServers"),
      scopesSupported: stringList(options.scopesSupported, "scopesSupported"),
    };
    for (const issuer of this.options.authorizationServers ?? []) canonicalIssuer(issuer, "AuthMiddleware({ authorizationServers })");
    this.required = options.required ?? true;
    this.hideForbiddenTools = options.hideForbiddenTools ?? false;
    this.realm = options.realm;
    if (options.resource !== undefined) this.resourceUri = canonicalResourceUri(options.resource, "AuthMiddleware({ resource })");
    if (options.resourceDocumentation !== undefined) canonicalIssuer(options.resourceDocumentation, "AuthMiddleware({ resourceDocumentation })");
    if (options.resourceName !== undefined && !options.resourceName.trim()) {
      throw new TypeError("AuthMiddleware({ resourceName }) must be a non-empty string");
    }
    if (options.resourceMetadataUrl !== undefined) {
      canonicalIssuer(options.resourceMetadataUrl, "AuthMiddleware({ resourceMetadataUrl })");
      this.metadataUrl = options.resourceMetadataUrl;
    }
  }

  /** The canonical resource URI tokens are bound to: configured, or derived once the HTTP transport listens. */
  get resource(): string | undefined {
    return this.resourceUri;
  }

  setup(server: ServerSetup): void {
    if (this.server && this.server !== server) {
      throw new DefinitionError(`This AuthMiddleware already serves the server "${this.server.info.name}": give each server its own (tokens are bound to one resource URI)`);
    }
    if (this.server) return;
    if (this.provider.bindResource) {
      if (boundProviders.has(this.provider)) {
        throw new DefinitionError(`The auth provider of "${server.info.name}" already serves another server: give each server its own JWTAuth / IntrospectionAuth (tokens are bound to one resource URI)`);
      }
      boundProviders.add(this.provider);
    }
    this.realm ??= server.info.name;
    this.server = server;
    server.setAuthenticator(this);
    if (this.resourceUri) this.useResource(this.resourceUri);
    server.onListen(({ url }) => {
      if (!this.resourceUri) {
        try {
          this.useResource(canonicalResourceUri(url, "the HTTP listening URL"));
        } catch (error) {
          // Listening already: failing here would leave the socket open. Refuse every token instead.
          this.unusableResource = `AuthMiddleware: ${(error as Error).message}; set AuthMiddleware({ resource: "https://<public host>/mcp" }), the URL clients use`;
          writeStderrNotice(`${this.unusableResource}. Every token is refused until then.`);
        }
      }
      // Clients derive the metadata path from the URL they were given: the local endpoint's too.
      this.serveMetadataFor(new URL(url).pathname);
    });
  }

  private useResource(resource: string): void {
    this.resourceUri = resource;
    this.metadataUrl ??= protectedResourceMetadataUrl(resource);
    this.provider.bindResource?.(resource);
    this.serveMetadataFor(new URL(resource).pathname);
  }

  private serveMetadataFor(endpointPath: string): void {
    for (const path of protectedResourceMetadataPaths(endpointPath)) {
      if (this.servedPaths.has(path)) continue;
      this.servedPaths.add(path);
      this.server!.route("GET", path, (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300", "access-control-allow-origin": "*" });
        res.end(JSON.stringify(this.metadata()));
      });
    }
  }

  /**
   * The protected-resource metadata document (RFC 9728) this server serves at
   * `/.well-known/oauth-protected-resource` and its path-suffixed form; undefined until the
   * resource URI is known.
   */
  metadata(): ProtectedResourceMetadata | undefined {
    if (!this.resourceUri) return undefined;
    const servers = this.options.authorizationServers ?? this.provider.authorizationServers;
    const scopes = this.scopes();
    return {
      resource: this.resourceUri,
      ...(servers?.length ? { authorization_servers: [...servers] } : {}),
      ...(scopes.length ? { scopes_supported: scopes } : {}),
      bearer_methods_supported: ["header"],
      ...(this.options.resourceName ? { resource_name: this.options.resourceName } : {}),
      ...(this.options.resourceDocumentation ? { resource_documentation: this.options.resourceDocumentation } : {}),
    };
  }

  private scopes(): string[] {
    if (this.options.scopesSupported) return this.options.scopesSupported;
    const scopes = new Set<string>();
    for (const tool of this.server?.tools() ?? []) for (const scope of tool.scopes) scopes.add(scope);
    return [...scopes];
  }

  /** Resolves who presents `token`; a missing token is anonymous unless a credential is required. */
  async authenticate(token: string | undefined): Promise<CallerIdentity | undefined> {
    if (token === undefined || token === "") {
      if (this.required) throw new UnauthorizedError(MISSING_CREDENTIAL_REASON);
      return undefined;
    }
    if (this.unusableResource) throw new UnauthorizedError("Unauthorized: this server has no resource URI to check tokens against (a configuration problem, reported in its log)");
    try {
      return await this.provider.verify(token);
    } catch (error) {
      if (error instanceof LanternError && error.code === LanternErrorCode.Unauthorized) throw error;
      // A provider's own exception may quote the credential: only its name leaves this process.
      writeStderrNotice(`the auth provider threw ${error instanceof Error ? error.name : typeof error} instead of UnauthorizedError; the request was refused`);
      throw new UnauthorizedError("Unauthorized: the token could not be verified");
    }
  }

  /**
   * The `WWW-Authenticate` value of a 401 (RFC 6750 §3; no error code when no credential was sent),
   * naming the protected-resource metadata and the scopes to ask for (MCP authorization).
   */
  challenge(reason: string): string {
    const parts = this.challengeStart();
    const scopes = this.scopes();
    if (scopes.length) parts.push(`scope=${quoted(scopes.join(" "))}`);
    if (reason !== MISSING_CREDENTIAL_REASON) {
      parts.push(`error=${reason === MALFORMED_HEADER_REASON ? "\"invalid_request\"" : "\"invalid_token\""}`, `error_description=${quoted(reason)}`);
    }
    return parts.join(", ");
  }

  /** The `WWW-Authenticate` value of a 403 for a call that needs `scopes` the token lacks (step-up). */
  scopeChallenge(scopes: readonly string[], reason: string): string {
    return [...this.challengeStart(), "error=\"insufficient_scope\"", `scope=${quoted(scopes.join(" "))}`, `error_description=${quoted(reason)}`].join(", ");
  }

  private challengeStart(): string[] {
    const parts = [`Bearer realm=${quoted(this.realm ?? "mcp")}`];
    if (this.metadataUrl) parts.push(`resource_metadata=${quoted(this.metadataUrl)}`);
    return parts;
  }

  /** Refuses a call that reached the chain without an identity when one is required. */
  handle(ctx: CallContext, next: Next): Promise<unknown> {
    if (this.required && ctx.identity === undefined) {
      return Promise.reject(new UnauthorizedError(`Unauthorized: ${ctx.kind} "${ctx.name}" needs an authenticated caller and this session has no identity`));
    }
    return next();
  }
}
