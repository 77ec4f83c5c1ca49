import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/** The records of one kind (AccessToken, Client, ...) the authorization server keeps, by id. */
type Records = Map<string, Record<string, unknown>>;

/** A client of the authorization server: its id and secret. */
export interface TestClient {
  id: string;
  secret: string;
}

export interface TokenOptions {
  client: TestClient;
  /** The resource indicator (RFC 8707): the audience of the token. */
  resource: string;
  scope: string;
}

/**
 * A real OAuth 2.1 / OpenID Connect authorization server (oidc-provider) on 127.0.0.1, issuing
 * client-credentials access tokens for resource indicators: JWTs for `jwtResources`, opaque
 * tokens otherwise. Its signing key can be rotated while it runs; its token store can be reached
 * (to age a token), as its operator could.
 */
export interface AuthorizationServer {
  issuer: string;
  /** A client that may ask for tokens with every scope. */
  agent: TestClient;
  /** The resource server's own client, for token introspection. */
  introspector: TestClient;
  /** The kid tokens are signed with now. */
  currentKid(): string;
  token(options: TokenOptions): Promise<{ access_token: string; scope?: string; token_type: string }>;
  revoke(token: string, client: TestClient): Promise<void>;
  /** Makes a stored (opaque) token expired, as if its lifetime had passed. */
  expire(token: string): void;
  /** Signs new tokens with a new key and publishes only it (the old key is withdrawn). */
  rotateKeys(): void;
  /** The private JWK tokens are signed with now (another server may be started with it). */
  signingJwk(): object;
  /** Requests the server answered, by path. */
  requests: string[];
  close(): Promise<void>;
}

const signingKey = (kid: string) => ({ ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" });

/**
 * Starts the authorization server; `jwtResources` says which resource indicators get JWT access
 * tokens; `sharedKey` makes it sign with another server's key.
 */
export async function startAuthorizationServer(scopes: string[], jwtResources: (resource: string) => boolean, sharedKey?: object): Promise<AuthorizationServer> {
  const stores = new Map<string, Records>();
  const store = (name: string): Records => {
    let records = stores.get(name);
    if (!records) stores.set(name, (records = new Map()));
    return records;
  };
  class MemoryStore {
    constructor(private readonly name: string) {}
    async upsert(id: string, payload: Record<string, unknown>) { store(this.name).set(id, payload); }
    async find(id: string) { return store(this.name).get(id); }
    async findByUserCode() { return undefined; }
    async findByUid() { return undefined; }
    async consume(id: string) { const record = store(this.name).get(id); if (record) record.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id: string) { store(this.name).delete(id); }
    async revokeByGrantId(grantId: string) { for (const [id, record] of store(this.name)) if (record.grantId === grantId) store(this.name).delete(id); }
  }

  const agent = { id: "agent", secret: randomBytes(24).toString("base64url") };
  const introspector = { id: "lantern-resource-server", secret: randomBytes(24).toString("base64url") };
  const requests: string[] = [];
  let kid = "k1";
  let key = (sharedKey as ReturnType<typeof signingKey> | undefined) ?? signingKey(kid);

  const http = createServer();
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const build = () =>
    new Provider(issuer, {
      adapter: MemoryStore as never,
      clients: [
        { client_id: agent.id, client_secret: agent.secret, grant_types: ["client_credentials"], redirect_uris: [], response_types: [], id_token_signed_response_alg: "ES256", scope: scopes.join(" ") },
        { client_id: introspector.id, client_secret: introspector.secret, grant_types: [], redirect_uris: [], response_types: [], id_token_signed_response_alg: "ES256" },
      ],
      jwks: { keys: [key] },
      scopes,
      ttl: { ClientCredentials: 600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // Lantern's own client may introspect any token; a client may revoke its own.
        introspection: { enabled: true, allowedPolicy: async (_ctx: unknown, client: { clientId: string }) => client.clientId === introspector.id },
        revocation: { enabled: true, allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) => client.clientId === token.clientId },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined as never,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            scope: scopes.join(" "),
            audience: resource,
            accessTokenTTL: 600,
            ...(jwtResources(resource) ? { accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } } } : { accessTokenFormat: "opaque" }),
          }),
        },
      },
    } as never);
  let provider = build();
  let handler = provider.callback();
  http.on("request", (req: IncomingMessage, res: ServerResponse) => {
    requests.push((req.url ?? "").split("?")[0]!);
    handler(req, res);
  });

  const endpoint = (path: string) => `${issuer}${path}`;
  const basic = (client: TestClient) => `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64")}`;

  return {
    issuer,
    agent,
    introspector,
    requests,
    currentKid: () => kid,
    signingJwk: () => key,
    async token({ client, resource, scope }) {
      const response = await fetch(endpoint("/token"), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client) },
        body: new URLSearchParams({ grant_type: "client_credentials", resource, scope }).toString(),
      });
      const body = (await response.json()) as { access_token: string; scope?: string; token_type: string; error?: string; error_description?: string };
      if (response.status !== 200) throw new Error(`token request failed: HTTP ${response.status} ${body.error}: ${body.error_description}`);
      return body;
    },
    async revoke(token, client) {
      const response = await fetch(endpoint("/token/revocation"), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(client) },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
      });
      if (response.status !== 200) throw new Error(`revocation failed: HTTP ${response.status} ${await response.text()}`);
    },
    expire(token) {
      // Client-credentials grants keep their access tokens in the ClientCredentials store.
      const record = store("ClientCredentials").get(token);
      if (!record) throw new Error("no such opaque token in the authorization server's store");
      record.exp = Math.floor(Date.now() / 1000) - 60;
    },
    rotateKeys() {
      kid = `k${Number(kid.slice(1)) + 1}`;
      key = signingKey(kid);
      provider = build();
      handler = provider.callback();
    },
    close: () => new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); }),
  };
}
