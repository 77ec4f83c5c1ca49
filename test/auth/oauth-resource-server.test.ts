import "reflect-metadata";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { AuthMiddleware, IntrospectionAuth, JWTAuth, LanternErrorCode, type CallContext, type McpServer, type Next } from "lantern-mcp";
import { httpClient, listening, rawCallInSession, rawInitialize } from "./auth-fixtures.js";
import { startAuthorizationServer, type AuthorizationServer } from "./authorization-server.js";

/** The parameters of a `WWW-Authenticate: Bearer ...` challenge. */
const challengeParams = (header: string | null): Record<string, string> => {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
};

const SCOPES = ["notes:read", "notes:write"];
const jwtResources = new Set<string>();

let as: AuthorizationServer;
/** Lantern verifying JWT access tokens, their keys discovered from the issuer. */
let jwtServer: { server: McpServer; url: string };
/** Lantern verifying opaque tokens by introspection. */
let introspectionServer: { server: McpServer; url: string };
/** What every call looked like on its way out of the chain: name, status, client id. */
const recorded: string[] = [];
const clients: Client[] = [];

const recorder = async (ctx: CallContext, next: Next) => {
  try {
    return await next();
  } finally {
    recorded.push(`${ctx.name}:${ctx.outcome?.status}:${ctx.clientId}`);
  }
};

const connect = async (url: string, token: string) => {
  const client = await httpClient(url, token);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  as = await startAuthorizationServer(SCOPES, (resource) => jwtResources.has(resource));
  const jwt = await listening([recorder, new AuthMiddleware(new JWTAuth({ issuer: as.issuer, cooldownMs: 0 }))]);
  jwtServer = jwt;
  jwtResources.add(jwt.url);
  introspectionServer = await listening([
    recorder,
    new AuthMiddleware(new IntrospectionAuth({ issuer: as.issuer, clientId: as.introspector.id, clientSecret: as.introspector.secret })),
  ]);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await jwtServer.server.close();
  await introspectionServer.server.close();
  await as.close();
});

describe("discovery, as an MCP client without a token goes through it", () => {
  test("401 → protected-resource metadata → authorization-server metadata → token endpoint → the call succeeds", async () => {
    const refused = await rawInitialize(jwtServer.url);
    expect(refused.status).toBe(401);
    const challenge = challengeParams(refused.challenge);
    expect(challenge.scope).toBe("notes:write");
    expect(challenge.error).toBeUndefined();

    const metadataResponse = await fetch(challenge.resource_metadata!);
    expect(metadataResponse.status).toBe(200);
    const metadata = (await metadataResponse.json()) as Record<string, unknown>;
    expect(metadata).toEqual({
      resource: jwtServer.url,
      authorization_servers: [as.issuer],
      scopes_supported: ["notes:write"],
      bearer_methods_supported: ["header"],
    });
    // The bare well-known path serves the same document.
    expect(await (await fetch(`${new URL(jwtServer.url).origin}/.well-known/oauth-protected-resource`)).json()).toEqual(metadata);

    // RFC 8414 first, then OpenID Connect discovery (oidc-provider serves only the latter).
    const issuer = (metadata.authorization_servers as string[])[0]!;
    let asMetadata: Record<string, unknown> | undefined;
    for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
      const response = await fetch(`${issuer}${path}`);
      if (response.status === 200) {
        asMetadata = (await response.json()) as Record<string, unknown>;
        break;
      }
      await response.text();
    }
    expect(asMetadata?.issuer).toBe(issuer);

    const basic = Buffer.from(`${as.agent.id}:${as.agent.secret}`).toString("base64");
    const tokenResponse = await fetch(asMetadata!.token_endpoint as string, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: "client_credentials", resource: metadata.resource as string, scope: "notes:read" }).toString(),
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

    const client = await connect(jwtServer.url, token);
    const result = await client.callTool({ name: "who_am_i", arguments: {} });
    // A client-credentials token's subject is the client itself.
    expect(result.structuredContent).toEqual({ clientId: as.agent.id, subject: as.agent.id, issuer: as.issuer, scopes: ["notes:read"], roles: [], method: "jwt" });
  });
});

describe("JWT access tokens (keys discovered from the issuer)", () => {
  test("a token issued for another resource is refused (audience binding, RFC 8707)", async () => {
    jwtResources.add("https://other.example/mcp");
    const { access_token: token } = await as.token({ client: as.agent, resource: "https://other.example/mcp", scope: "notes:read" });
    expect(token.split(".")).toHaveLength(3);
    const answer = await rawInitialize(jwtServer.url, `Bearer ${token}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toBe("Unauthorized: the token's audience (aud) does not include this server");
    expect(challengeParams(answer.challenge).error).toBe("invalid_token");
  });

  test("a token from another issuer is refused, even one signed with the same key", async () => {
    const impostor = await startAuthorizationServer(SCOPES, () => true, as.signingJwk());
    try {
      const { access_token: token } = await impostor.token({ client: impostor.agent, resource: jwtServer.url, scope: "notes:read" });
      const answer = await rawInitialize(jwtServer.url, `Bearer ${token}`);
      expect(answer.status).toBe(401);
      expect(answer.body.error?.message).toBe("Unauthorized: the token's issuer (iss) is not accepted by this server");
    } finally {
      await impostor.close();
    }
  });

  test("step-up: 403 insufficient_scope naming the scope, then success with a token that holds it; the refusal is recorded", async () => {
    const { access_token: reader } = await as.token({ client: as.agent, resource: jwtServer.url, scope: "notes:read" });
    const call = { jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "write_note", arguments: { text: "step-up" } } };
    recorded.length = 0;
    const refused = await rawCallInSession(jwtServer.url, reader, call);
    expect(refused.status).toBe(403);
    const challenge = challengeParams(refused.challenge);
    expect(challenge).toMatchObject({ error: "insufficient_scope", scope: "notes:write", resource_metadata: `${new URL(jwtServer.url).origin}/.well-known/oauth-protected-resource/mcp` });
    expect(refused.body.error?.code).toBe(LanternErrorCode.Forbidden);
    expect(recorded).toEqual([`write_note:refused:${as.agent.id}`]);

    const { access_token: writer } = await as.token({ client: as.agent, resource: jwtServer.url, scope: challenge.scope! });
    const client = await connect(jwtServer.url, writer);
    const result = await client.callTool({ name: "write_note", arguments: { text: "step-up" } });
    expect(result.content).toEqual([{ type: "text", text: "saved: step-up" }]);
  });

  test("the authorization server rotates its signing key while Lantern runs: new tokens are accepted, the withdrawn key's are refused", async () => {
    const { access_token: before } = await as.token({ client: as.agent, resource: jwtServer.url, scope: "notes:read" });
    const { access_token: beforeUnused } = await as.token({ client: as.agent, resource: jwtServer.url, scope: "notes:read" });
    const first = await connect(jwtServer.url, before);
    expect((await first.callTool({ name: "who_am_i", arguments: {} })).structuredContent).toMatchObject({ method: "jwt" });
    const oldKid = as.currentKid();

    as.rotateKeys();
    const { access_token: after } = await as.token({ client: as.agent, resource: jwtServer.url, scope: "notes:read" });
    expect(JSON.parse(Buffer.from(after.split(".")[0]!, "base64url").toString()).kid).not.toBe(oldKid);
    const second = await connect(jwtServer.url, after);
    expect((await second.callTool({ name: "who_am_i", arguments: {} })).structuredContent).toMatchObject({ clientId: as.agent.id, method: "jwt" });

    const stale = await rawInitialize(jwtServer.url, `Bearer ${beforeUnused}`);
    expect(stale.status).toBe(401);
    expect(stale.body.error?.message).toMatch(/no key of the issuer's key set \(JWKS\) matches the token's key id/);
  });
});

describe("opaque tokens, checked by introspection (RFC 7662)", () => {
  const introspections = () => as.requests.filter((path) => path === "/token/introspection").length;

  test("an active token: the identity is the call's, as for a JWT; a second request is served from the cache", async () => {
    const { access_token: token } = await as.token({ client: as.agent, resource: introspectionServer.url, scope: "notes:read notes:write" });
    expect(token.split(".")).toHaveLength(1);
    const before = introspections();
    const client = await connect(introspectionServer.url, token);
    const result = await client.callTool({ name: "who_am_i", arguments: {} });
    expect(result.structuredContent).toEqual({ clientId: as.agent.id, subject: null, issuer: as.issuer, scopes: ["notes:read", "notes:write"], roles: [], method: "introspection" });
    await client.callTool({ name: "write_note", arguments: { text: "opaque" } });
    expect(introspections()).toBe(before + 1);
  });

  test("a revoked token is refused, and the refusal is not remembered", async () => {
    const { access_token: token } = await as.token({ client: as.agent, resource: introspectionServer.url, scope: "notes:read" });
    await as.revoke(token, as.agent);
    const before = introspections();
    for (let i = 0; i < 2; i++) {
      const answer = await rawInitialize(introspectionServer.url, `Bearer ${token}`);
      expect(answer.status).toBe(401);
      expect(answer.body.error?.message).toMatch(/the token is not active \(expired, revoked or unknown/);
    }
    expect(introspections()).toBe(before + 2);
  });

  test("an expired token is refused", async () => {
    const { access_token: token } = await as.token({ client: as.agent, resource: introspectionServer.url, scope: "notes:read" });
    as.expire(token);
    const answer = await rawInitialize(introspectionServer.url, `Bearer ${token}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toMatch(/the token is not active/);
  });

  test("an opaque token for another resource is refused", async () => {
    const { access_token: token } = await as.token({ client: as.agent, resource: "https://other.example/opaque-mcp", scope: "notes:read" });
    const answer = await rawInitialize(introspectionServer.url, `Bearer ${token}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toBe("Unauthorized: the token's audience (aud) does not include this server");
  });

  test("wrong client credentials at the introspection endpoint: refused, and the operator is told why", async () => {
    const { server, url } = await listening([new AuthMiddleware(new IntrospectionAuth({ issuer: as.issuer, clientId: as.introspector.id, clientSecret: "not-the-secret" }))]);
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const { access_token: token } = await as.token({ client: as.agent, resource: url, scope: "notes:read" });
      const answer = await rawInitialize(url, `Bearer ${token}`);
      expect(answer.status).toBe(401);
      expect(answer.body.error?.message).toBe("Unauthorized: the token could not be checked with the authorization server; try again later");
      expect(written.join("")).toMatch(/refused this server's client credentials \(HTTP 401\)/);
      expect(written.join("")).not.toContain(token);
    } finally {
      process.stderr.write = write;
      await server.close();
    }
  });
});
