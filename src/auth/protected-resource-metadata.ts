/**
 * The OAuth 2.0 Protected Resource Metadata document (RFC 9728) an MCP server serves so that a
 * client holding no token can find the authorization server that issues tokens for it.
 *
 * @example
 * const metadata: ProtectedResourceMetadata = {
 *   resource: "https://mcp.example.com/mcp",
 *   authorization_servers: ["https://auth.example.com"],
 *   scopes_supported: ["inventory:read", "inventory:write"],
 *   bearer_methods_supported: ["header"],
 * };
 */
export interface ProtectedResourceMetadata {
  /** The canonical URI of the MCP endpoint (RFC 8707): the audience tokens must be issued for. */
  resource: string;
  /** Issuer identifiers of the authorization servers whose tokens the server accepts. */
  authorization_servers?: string[];
  /** Every scope a tool, resource or prompt of the server may require. */
  scopes_supported?: string[];
  /** How the token is sent: only the `Authorization` header (RFC 6750 §2.1). */
  bearer_methods_supported: ["header"];
  resource_name?: string;
  resource_documentation?: string;
}

/** The well-known path prefix of RFC 9728 §3. */
const PROTECTED_RESOURCE_WELL_KNOWN = "/.well-known/oauth-protected-resource";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** True for an https URL, or a plain `http:` one whose host is a loopback address. */
export const isSecureUrl = (url: URL): boolean => url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));

/**
 * `input` parsed, when it is an absolute https URL (or plain http on a loopback address); else a
 * `TypeError` naming `where` it was configured, with `example` as the kind of URL expected.
 */
export function secureUrl(input: string | URL, where: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new TypeError(`${where} must be an absolute URL such as "${example}": got ${JSON.stringify(String(input))}`);
  }
  if (!isSecureUrl(url)) throw new TypeError(`${where} must be an https URL (plain http only on loopback addresses): got ${url.protocol}//${url.host}`);
  return url;
}

/**
 * The canonical form of a resource URI (RFC 8707 §2, as the MCP authorization spec uses it):
 * absolute, https (or http on a loopback address), lower-case scheme and host, no fragment, no
 * query, no trailing slash. Throws a `TypeError` naming what is wrong, with `where` as the option
 * that held it.
 *
 * @example
 * canonicalResourceUri("HTTPS://MCP.Example.com/mcp/", "AuthMiddleware({ resource })"); // "https://mcp.example.com/mcp"
 */
export function canonicalResourceUri(input: string | URL, where: string): string {
  const url = secureUrl(input, where, "https://mcp.example.com/mcp");
  if (url.hash) throw new TypeError(`${where} must not have a fragment (RFC 8707 §2): got ${url.href}`);
  if (url.search) throw new TypeError(`${where} must not have a query: got ${url.href}`);
  if (url.username || url.password) throw new TypeError(`${where} must not carry credentials`);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * Where the metadata of `resource` lives (RFC 9728 §3.1): the well-known prefix inserted between
 * the host and the resource's path.
 *
 * @example
 * protectedResourceMetadataUrl("https://mcp.example.com/mcp"); // "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.origin}${PROTECTED_RESOURCE_WELL_KNOWN}${path}`;
}

/**
 * The paths a server answers with the metadata of an endpoint at `endpointPath`: the path-suffixed
 * form RFC 9728 names, and the bare well-known path clients try when the challenge named no URL.
 *
 * @example
 * protectedResourceMetadataPaths("/mcp"); // ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
 */
export function protectedResourceMetadataPaths(endpointPath: string): string[] {
  const path = endpointPath === "/" ? "" : endpointPath.replace(/\/+$/, "");
  return path ? [`${PROTECTED_RESOURCE_WELL_KNOWN}${path}`, PROTECTED_RESOURCE_WELL_KNOWN] : [PROTECTED_RESOURCE_WELL_KNOWN];
}
