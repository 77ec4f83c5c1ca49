import "reflect-metadata";
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { jest } from "@jest/globals";
import {
  AuthMiddleware,
  canonicalResourceUri,
  insufficientScopeRefusal,
  IntrospectionAuth,
  JWTAuth,
  protectedResourceMetadataUrl,
  type CallerIdentity,
  type McpServer,
  type RequirementLookup,
} from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { httpClient, listening, rawInitialize, SECRET } from "./auth-fixtures.js";

/** A local HTTP endpoint answering every request with `answer(req, body)`; records what it received. */
async function endpoint(answer: (req: IncomingMessage, body: string) => { status?: number; json: object }) {
  const received: { headers: IncomingMessage["headers"]; body: string; path: string }[] = [];
  const http: HttpServer = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => { body += chunk.toString(); });
    req.on("end", () => {
      received.push({ headers: req.headers, body, path: req.url ?? "" });
      const { status = 200, json } = answer(req, body);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); }),
  };
}

describe("resource URIs and metadata locations", () => {
  test.each([
    ["HTTPS://MCP.Example.com/mcp/", "https://mcp.example.com/mcp"],
    ["https://mcp.example.com", "https://mcp.example.com"],
    ["http://127.0.0.1:3000/mcp", "http://127.0.0.1:3000/mcp"],
  ])("%s is canonically %s", (input, canonical) => {
    expect(canonicalResourceUri(input, "resource")).toBe(canonical);
  });

  test.each([
    ["https://mcp.example.com/mcp#frag", /must not have a fragment/],
    ["https://mcp.example.com/mcp?tenant=1", /must not have a query/],
    ["http://mcp.example.com/mcp", /must be an https URL \(plain http only on loopback addresses\)/],
    ["/mcp", /must be an absolute URL/],
  ])("%s is refused", (input, reason) => {
    expect(() => canonicalResourceUri(input, "AuthMiddleware({ resource })")).toThrow(reason);
  });

  test("the metadata URL inserts the well-known prefix between host and path (RFC 9728 §3.1)", () => {
    expect(protectedResourceMetadataUrl("https://mcp.example.com/api/mcp")).toBe("https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp");
    expect(protectedResourceMetadataUrl("https://mcp.example.com")).toBe("https://mcp.example.com/.well-known/oauth-protected-resource");
  });
});

describe("configuration mistakes fail when the server is built, naming the option", () => {
  test.each([
    ["an unknown AuthMiddleware option", () => new AuthMiddleware(new JWTAuth({ secret: SECRET }), { audience: "x" } as never), /unknown option "audience"/],
    ["authorizationServers that are not URLs", () => new AuthMiddleware(new JWTAuth({ secret: SECRET }), { authorizationServers: ["auth.example.com"] }), /authorizationServers \}\) must be an absolute URL/],
    ["a scope with a space", () => new AuthMiddleware(new JWTAuth({ secret: SECRET }), { scopesSupported: ["a b"] }), /"scopesSupported" takes non-empty strings without spaces/],
    ["two different issuers", () => new JWTAuth({ issuer: "https://a.example" }, { issuer: "https://b.example" }), /names the issuer https:\/\/a\.example and options\.issuer says "https:\/\/b\.example"; name the issuer once/],
    ["an empty audience list", () => new JWTAuth({ secret: SECRET }, { audience: [] }), /"audience" must be a non-empty string or a non-empty list of non-empty strings, got an array of 0/],
    ["a key-source option of another source", () => new JWTAuth({ secret: SECRET, cooldownMs: 5 } as never), /JWTAuth key source \(the first argument of new JWTAuth\): unknown option "cooldownMs"/],
    ["a plain-http issuer off loopback", () => new JWTAuth({ issuer: "http://auth.example.com" }), /must be an https URL/],
    ["introspection without an authorization server", () => new IntrospectionAuth({ clientId: "a", clientSecret: "b" }), /needs the authorization server/],
    ["introspection with an empty secret", () => new IntrospectionAuth({ issuer: "https://a.example", clientId: "a", clientSecret: "" }), /empty clientSecret/],
    ["an unsupported client authentication", () => new IntrospectionAuth({ issuer: "https://a.example", clientId: "a", clientSecret: "b", clientAuthMethod: "private_key_jwt" as never }), /"clientAuthMethod" must be one of "client_secret_basic", "client_secret_post", got the string "private_key_jwt"/],
  ])("%s", (_what, build, reason) => {
    expect(build).toThrow(reason);
  });

  test("one provider serving two servers is refused: its tokens are bound to one resource URI", async () => {
    const { McpServer: Lantern } = await import("lantern-mcp");
    const { Notes } = await import("./auth-fixtures.js");
    const shared = new JWTAuth({ secret: SECRET });
    const first = new Lantern(Notes).use(new AuthMiddleware(shared));
    await first.build();
    const second = new Lantern(Notes).use(new AuthMiddleware(shared));
    await expect(second.build()).rejects.toThrow(/already serves another server: give each server its own JWTAuth/);
  });

  test("the same issuer given in the key source and in the options is accepted", () => {
    expect(new JWTAuth({ issuer: "https://a.example" }, { issuer: "https://a.example" }).authorizationServers).toEqual(["https://a.example"]);
  });
});

describe("a configured resource URI (behind a proxy)", () => {
  const RESOURCE = "https://mcp.example.com/api/mcp";
  let server: McpServer;
  let url: string;

  beforeAll(async () => {
    ({ server, url } = await listening([
      new AuthMiddleware(new JWTAuth({ secret: SECRET }), { resource: RESOURCE, authorizationServers: ["https://auth.example.com"], resourceName: "Notes", scopesSupported: ["notes:read", "notes:write"] }),
    ]));
  });

  afterAll(async () => {
    await server.close();
  });

  test("the metadata is served at the resource's path-suffixed well-known path, the bare one and the local endpoint's", async () => {
    const origin = new URL(url).origin;
    for (const path of ["/.well-known/oauth-protected-resource/api/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: ["https://auth.example.com"],
        scopes_supported: ["notes:read", "notes:write"],
        bearer_methods_supported: ["header"],
        resource_name: "Notes",
      });
    }
  });

  test("the challenge names the public metadata URL and the configured scopes", async () => {
    const answer = await rawInitialize(url);
    expect(answer.challenge).toBe('Bearer realm="auth-fixture", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp", scope="notes:read notes:write"');
  });

  test("tokens must be issued for the configured resource, not for the listening URL", async () => {
    const forListener = await rawInitialize(url, `Bearer ${await createToken({ secret: SECRET, audience: url, subject: "s" })}`);
    expect(forListener.status).toBe(401);
    expect(forListener.body.error?.message).toMatch(/audience \(aud\) does not include this server/);
    const client = await httpClient(url, await createToken({ secret: SECRET, audience: RESOURCE, subject: "s", clientId: "proxied" }));
    expect((await client.callTool({ name: "who_am_i", arguments: {} })).structuredContent).toMatchObject({ clientId: "proxied" });
    await client.close();
  });
});

describe("issuer discovery failures", () => {
  test("metadata naming another issuer is refused (RFC 8414 §3.3), and the client is told the keys could not be fetched", async () => {
    const liar = await endpoint(() => ({ json: { issuer: "https://someone-else.example", jwks_uri: "https://someone-else.example/jwks" } }));
    try {
      const auth = new JWTAuth({ issuer: liar.url });
      const token = await createToken({ secret: SECRET, subject: "s" });
      await expect(auth.verify(token)).rejects.toThrow(/signing algorithm is not accepted/);
      const { generateKeyPairSync } = await import("node:crypto");
      const rsaToken = await createToken({ privateKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey, subject: "s" });
      await expect(auth.verify(rsaToken)).rejects.toThrow("Unauthorized: the authorization server's metadata (and so its key set) could not be fetched; try again later");
      expect(liar.received[0]!.path).toBe("/.well-known/oauth-authorization-server");
    } finally {
      await liar.close();
    }
  });
});

describe("explicit key sets and stdio", () => {
  test("JWTAuth({ jwksUrl, issuer }): the explicit key set wins, no metadata is fetched, and iss is checked", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwks = await endpoint(() => ({ json: { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "k", use: "sig" }] } }));
    try {
      const auth = new JWTAuth({ jwksUrl: `${jwks.url}/keys`, issuer: jwks.url });
      expect(auth.authorizationServers).toEqual([jwks.url]);
      expect((await auth.verify(await createToken({ privateKey, kid: "k", issuer: jwks.url, clientId: "c" }))).clientId).toBe("c");
      await expect(auth.verify(await createToken({ privateKey, kid: "k", issuer: "https://other.example", clientId: "c" }))).rejects.toThrow(/issuer \(iss\) is not accepted/);
      expect(jwks.received.map((r) => r.path)).toEqual(["/keys"]);
    } finally {
      await jwks.close();
    }
  });

  test("stdio with a configured resource: the start-up token must be issued for it", async () => {
    const { McpServer: Lantern } = await import("lantern-mcp");
    const { Notes } = await import("./auth-fixtures.js");
    const server = new Lantern(Notes).use(new AuthMiddleware(new JWTAuth({ secret: SECRET }), { resource: "https://mcp.example.com/mcp" }));
    const token = await createToken({ secret: SECRET, audience: "https://elsewhere.example/mcp", subject: "s" });
    await expect(server.listen({ transport: "stdio", token, handleSignals: false })).rejects.toThrow(/audience \(aud\) does not include this server/);
  });
});

describe("IntrospectionAuth against a minimal introspection endpoint", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test("client_secret_basic: form-urlencoded credentials in the Basic header; the token in the form body", async () => {
    const as = await endpoint(() => ({ json: { active: true, client_id: "agent", scope: "a b", exp: Math.floor(Date.now() / 1000) + 600 } }));
    try {
      const auth = new IntrospectionAuth({ introspectionEndpoint: `${as.url}/introspect`, clientId: "mcp server", clientSecret: "s3cr:t" });
      const identity = await auth.verify("opaque-token-1");
      expect(identity).toMatchObject({ clientId: "agent", scopes: ["a", "b"], method: "introspection" });
      expect(as.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from("mcp+server:s3cr%3At").toString("base64")}`);
      expect(Object.fromEntries(new URLSearchParams(as.received[0]!.body))).toEqual({ token: "opaque-token-1", token_type_hint: "access_token" });
    } finally {
      await as.close();
    }
  });

  test("client_secret_post: the credentials travel in the form body, no Authorization header", async () => {
    const as = await endpoint(() => ({ json: { active: true, sub: "u1" } }));
    try {
      await new IntrospectionAuth({ introspectionEndpoint: `${as.url}/introspect`, clientId: "rs", clientSecret: "pw", clientAuthMethod: "client_secret_post" }).verify("t2");
      expect(as.received[0]!.headers.authorization).toBeUndefined();
      expect(Object.fromEntries(new URLSearchParams(as.received[0]!.body))).toMatchObject({ token: "t2", client_id: "rs", client_secret: "pw" });
    } finally {
      await as.close();
    }
  });

  test("an active token is remembered no longer than its exp", async () => {
    const exp = Math.floor(Date.now() / 1000) + 5;
    const as = await endpoint(() => ({ json: { active: true, client_id: "agent", exp } }));
    try {
      const auth = new IntrospectionAuth({ introspectionEndpoint: `${as.url}/introspect`, clientId: "rs", clientSecret: "pw", cacheMaxAgeMs: 60_000 });
      await auth.verify("short-lived");
      await auth.verify("short-lived");
      expect(as.received).toHaveLength(1);
      // Only the clock moves (to just past exp); the endpoint still says active with that exp.
      jest.useFakeTimers({ doNotFake: ["hrtime", "nextTick", "performance", "queueMicrotask", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "setTimeout", "clearTimeout"], now: exp * 1000 + 1 });
      await expect(auth.verify("short-lived")).rejects.toThrow("Unauthorized: the token has expired; obtain a new one");
      expect(as.received).toHaveLength(2);
    } finally {
      await as.close();
    }
  });

  test("a bound resource is the audience; an explicit audience wins over it", async () => {
    const as = await endpoint(() => ({ json: { active: true, client_id: "agent", aud: ["api://notes"] } }));
    try {
      const bound = new IntrospectionAuth({ introspectionEndpoint: `${as.url}/introspect`, clientId: "rs", clientSecret: "pw" });
      bound.bindResource("https://mcp.example.com/mcp");
      await expect(bound.verify("t")).rejects.toThrow(/audience \(aud\) does not include this server/);
      const explicit = new IntrospectionAuth({ introspectionEndpoint: `${as.url}/introspect`, clientId: "rs", clientSecret: "pw", audience: "api://notes" });
      explicit.bindResource("https://mcp.example.com/mcp");
      expect((await explicit.verify("t")).clientId).toBe("agent");
    } finally {
      await as.close();
    }
  });
});

describe("insufficientScopeRefusal (pure)", () => {
  const requirements: RequirementLookup = (kind, name) =>
    kind === "tool" && name === "write_note" ? { scopes: ["notes:read", "notes:write"], roles: [] }
      : kind === "tool" && name === "purge" ? { scopes: [], roles: ["admin"] }
        : kind === "resource" && name.startsWith("notes://") ? { scopes: ["notes:read"], roles: [] }
          : undefined;
  const authenticator = {
    challenge: (reason: string) => `Bearer challenge for ${reason.slice(0, 20)}`,
    scopeChallenge: (scopes: readonly string[]) => `Bearer error="insufficient_scope", scope="${scopes.join(" ")}"`,
  };
  const reader: CallerIdentity = { clientId: "c", scopes: ["notes:read"], roles: [], claims: {}, method: "jwt" };
  const call = (name: string, id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } });

  test("a tool needing a scope the token lacks: 403 naming every scope the tool requires", () => {
    const refusal = insufficientScopeRefusal(call("write_note", "r-9"), reader, requirements, authenticator)!;
    expect(refusal.status).toBe(403);
    expect(refusal.wwwAuthenticate).toBe('Bearer error="insufficient_scope", scope="notes:read notes:write"');
    expect(refusal.body).toEqual({
      jsonrpc: "2.0",
      id: "r-9",
      error: { code: -32003, message: 'Forbidden: tool "write_note" requires scope "notes:write"; the caller lacks it (obtain a token with scope "notes:read notes:write")', data: { scopes: ["notes:write"] } },
    });
    expect(refusal.calls).toEqual([{ kind: "tool", name: "write_note", id: "r-9", args: {}, meta: undefined }]);
  });

  test("a resource read is checked by its URI", () => {
    const anonymousRead = insufficientScopeRefusal({ jsonrpc: "2.0", id: 2, method: "resources/read", params: { uri: "notes://1" } }, undefined, requirements, authenticator)!;
    expect(anonymousRead.status).toBe(401);
    // No token at all: the ordinary 401 challenge, not a step-up one.
    expect(anonymousRead.wwwAuthenticate).toBe("Bearer challenge for Unauthorized: no cre");
    expect(anonymousRead.body).toEqual({
      jsonrpc: "2.0",
      id: 2,
      error: { code: -32001, message: 'Unauthorized: resource "notes://1" requires scope "notes:read"; send a token that holds it', data: { scopes: ["notes:read"] } },
    });
    expect(anonymousRead.calls).toEqual([{ kind: "resource", name: "notes://1", id: 2, args: {}, meta: undefined }]);
  });

  test("a JSON-RPC batch: one refusal (id null) for every call lacking a scope, naming all their scopes", () => {
    const batch = [call("nope", 1), call("write_note", 2), { jsonrpc: "2.0", id: 3, method: "resources/read", params: { uri: "notes://1" } }];
    const refusal = insufficientScopeRefusal(batch, { ...reader, scopes: [] }, requirements, authenticator)!;
    expect(refusal.status).toBe(403);
    expect(refusal.wwwAuthenticate).toBe('Bearer error="insufficient_scope", scope="notes:read notes:write"');
    expect(refusal.body.id).toBeNull();
    expect(refusal.body.error.data).toEqual({ scopes: ["notes:read", "notes:write"] });
    expect(refusal.calls.map((c) => [c.kind, c.name, c.id])).toEqual([["tool", "write_note", 2], ["resource", "notes://1", 3]]);
  });

  test.each([
    ["the scope is held", call("write_note"), { ...reader, scopes: ["notes:read", "notes:write"] }],
    ["only a role is missing (no OAuth challenge for roles)", call("purge"), reader],
    ["an unknown tool (answered not found later)", call("nope"), reader],
    ["tools/list", { jsonrpc: "2.0", id: 1, method: "tools/list" }, reader],
    ["a notification", { jsonrpc: "2.0", method: "tools/call", params: { name: "write_note" } }, reader],
    ["a malformed call", { jsonrpc: "2.0", id: 1, method: "tools/call", params: { arguments: {} } }, reader],
    ["a JSON-RPC response", { jsonrpc: "2.0", id: 1, result: {} }, reader],
  ])("nothing to refuse when %s", (_what, body, identity) => {
    expect(insufficientScopeRefusal(body, identity, requirements, authenticator)).toBeUndefined();
  });

  test("without a scopeChallenge (another authenticator) nothing is refused here", () => {
    expect(insufficientScopeRefusal(call("write_note"), reader, requirements, { challenge: () => "Bearer" })).toBeUndefined();
  });
});
