import "reflect-metadata";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { APIKeyAuth, AuthMiddleware, JWTAuth, LanternErrorCode, UnauthorizedError, type AuthProvider, type McpServer } from "lantern-mcp";
import { createTestClient, createToken } from "lantern-mcp/testing";
import { httpClient, listening, Notes, rawInitialize, SECRET } from "./auth-fixtures.js";

const servers: McpServer[] = [];
const clients: Client[] = [];
const serve = async (...args: Parameters<typeof listening>) => {
  const s = await listening(...args);
  servers.push(s.server);
  return s;
};
const connect = async (url: string, token?: string) => {
  const client = await httpClient(url, token);
  clients.push(client);
  return client;
};

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("JWTAuth with a shared secret (HS256)", () => {
  test("accepts a token signed with the secret and refuses one signed with another", async () => {
    const { url } = await serve([new AuthMiddleware(new JWTAuth({ secret: SECRET }))]);
    // No audience configured: tokens are bound to the server's own resource URI, its listening URL here.
    const client = await connect(url, await createToken({ secret: SECRET, audience: url, subject: "user-1", claims: { azp: "web-app" }, scopes: ["notes:write"] }));
    const result = await client.callTool({ name: "who_am_i", arguments: {} });
    expect(result.structuredContent).toMatchObject({ clientId: "web-app", subject: "user-1", scopes: ["notes:write"] });
    const forged = await createToken({ secret: `${SECRET}-but-not-quite`, audience: url, subject: "user-1" });
    expect((await rawInitialize(url, `Bearer ${forged}`)).body.error?.message).toMatch(/signature is invalid/);
  });

  test("an RS256 token is refused by a secret-keyed server", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const { url } = await serve([new AuthMiddleware(new JWTAuth({ secret: SECRET }))]);
    const answer = await rawInitialize(url, `Bearer ${await createToken({ privateKey, subject: "s" })}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toMatch(/algorithm is not accepted \(this server accepts HS256, HS384, HS512\)/);
  });

  test("hideForbiddenTools: tools/list shows only what the caller may call", async () => {
    const { url } = await serve([new AuthMiddleware(new JWTAuth({ secret: SECRET }), { hideForbiddenTools: true })]);
    const reader = await connect(url, await createToken({ secret: SECRET, audience: url, clientId: "reader", scopes: ["notes:read"] }));
    expect((await reader.listTools()).tools.map((t) => t.name)).toEqual(["who_am_i"]);
    const admin = await connect(url, await createToken({ secret: SECRET, audience: url, clientId: "admin", scopes: ["notes:write"], roles: ["admin"] }));
    expect((await admin.listTools()).tools.map((t) => t.name).sort()).toEqual(["purge", "who_am_i", "write_note"]);
  });
});

describe("APIKeyAuth", () => {
  const KEY = "k_live_7f3a9c1e5b2d4f6a8c0e";
  const provider = () => new APIKeyAuth([
    { key: KEY, clientId: "billing", scopes: ["notes:write"] },
    { key: "k_live_second_key_for_ci_01", clientId: "ci" },
  ]);

  test("the matching key's identity is the call's identity", async () => {
    const { url } = await serve([new AuthMiddleware(provider())]);
    const client = await connect(url, KEY);
    expect((await client.callTool({ name: "who_am_i", arguments: {} })).structuredContent).toMatchObject({ clientId: "billing", scopes: ["notes:write"], method: "api-key" });
    expect((await client.callTool({ name: "write_note", arguments: { text: "x" } })).isError).toBeFalsy();
  });

  test("an unknown key is refused with 401 and the key is not echoed", async () => {
    const { url } = await serve([new AuthMiddleware(provider())]);
    const guess = `${KEY.slice(0, -1)}X`;
    const answer = await rawInitialize(url, `Bearer ${guess}`);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).toBe("Unauthorized: the API key is not valid");
    expect(answer.text).not.toContain(guess);
  });

  test("bad configurations fail when built, naming the entry", () => {
    expect(() => new APIKeyAuth([])).toThrow(/at least one/);
    expect(() => new APIKeyAuth([{ key: "", clientId: "a" }])).toThrow(/entry #0 \(client "a"\) has no key/);
    expect(() => new APIKeyAuth([{ key: "short", clientId: "a" }])).toThrow(/shorter than 16/);
    expect(() => new APIKeyAuth([{ key: "has spaces in the key!", clientId: "a" }])).toThrow(/only the characters/);
    expect(() => new APIKeyAuth([{ key: KEY, clientId: "a" }, { key: KEY, clientId: "b" }])).toThrow(/entry #1 .* listed twice/);
  });
});

describe("AuthMiddleware", () => {
  test("required: false lets anonymous calls in (no identity) but still refuses bad tokens and scoped tools", async () => {
    const { url } = await serve([new AuthMiddleware(new JWTAuth({ secret: SECRET }), { required: false })]);
    const anonymous = await connect(url);
    const who = await anonymous.callTool({ name: "who_am_i", arguments: {} });
    expect(who.structuredContent).toMatchObject({ clientId: "auth-test-client", method: null });
    // A scoped tool asks an anonymous caller to authenticate: HTTP 401 (RFC 6750), before the SDK sees the call.
    const error = await anonymous.callTool({ name: "write_note", arguments: { text: "x" } }).then(() => undefined, (e: unknown) => e);
    expect((error as { code?: number }).code).toBe(401);
    expect((error as Error).message).toContain('tool \\"write_note\\" requires scope \\"notes:write\\"; send a token that holds it');
    const expired = await createToken({ secret: SECRET, audience: url, subject: "s", expiresIn: -60 });
    expect((await rawInitialize(url, `Bearer ${expired}`)).status).toBe(401);
  });

  test("a custom provider's own exception is answered generically: its message may quote the token", async () => {
    const leaky: AuthProvider = { verify: async (token) => { throw new Error(`lookup failed for ${token}`); } };
    const { url } = await serve([new AuthMiddleware(leaky, { realm: "custom", resourceMetadataUrl: "https://notes.test/.well-known/oauth-protected-resource" })]);
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const answer = await rawInitialize(url, "Bearer sensitive-token-value");
      expect(answer.status).toBe(401);
      expect(answer.body.error?.message).toBe("Unauthorized: the token could not be verified");
      expect(answer.text).not.toContain("sensitive-token-value");
      expect(answer.challenge).toBe('Bearer realm="custom", resource_metadata="https://notes.test/.well-known/oauth-protected-resource", scope="notes:write", error="invalid_token", error_description="Unauthorized: the token could not be verified"');
      expect(written.join("")).toContain("the auth provider threw Error instead of UnauthorizedError");
      expect(written.join("")).not.toContain("sensitive-token-value");
    } finally {
      process.stderr.write = write;
    }
  });

  test("a custom provider's UnauthorizedError reason reaches the client", async () => {
    const revoked: AuthProvider = { verify: async () => { throw new UnauthorizedError("Unauthorized: the token was revoked"); } };
    const { url } = await serve([new AuthMiddleware(revoked)]);
    expect((await rawInitialize(url, "Bearer abc")).body.error?.message).toBe("Unauthorized: the token was revoked");
  });

  test("in memory: a session without an identity is refused with -32001 inside the chain; with one it runs", async () => {
    const makeServer = async () => {
      const { McpServer: Lantern } = await import("lantern-mcp");
      return new Lantern(Notes).use(new AuthMiddleware(new JWTAuth({ secret: SECRET })));
    };
    const anonymous = await createTestClient(await makeServer());
    const error = await anonymous.callTool("who_am_i").then(() => undefined, (e: unknown) => e);
    expect((error as McpError).code).toBe(LanternErrorCode.Unauthorized);
    expect((error as McpError).message).toContain('tool "who_am_i" needs an authenticated caller');
    await anonymous.close();
    await anonymous.server.close();
    const known = await createTestClient(await makeServer(), { identity: { clientId: "tester", scopes: ["notes:write"] } });
    expect((await known.callTool("write_note", { text: "x" })).content).toEqual([{ type: "text", text: "saved: x" }]);
    await known.close();
    await known.server.close();
  });

  test("stdio: required with no token refuses to start; an invalid token too, naming the reason", async () => {
    const { McpServer: Lantern } = await import("lantern-mcp");
    const saved = process.env.LANTERN_TOKEN;
    delete process.env.LANTERN_TOKEN;
    try {
      const server = new Lantern(Notes).use(new AuthMiddleware(new JWTAuth({ secret: SECRET })));
      await expect(server.listen({ transport: "stdio", handleSignals: false })).rejects.toThrow(/requires a token; set LANTERN_TOKEN/);
      const other = new Lantern(Notes).use(new AuthMiddleware(new JWTAuth({ secret: SECRET })));
      const expired = await createToken({ secret: SECRET, subject: "s", expiresIn: -60 });
      await expect(other.listen({ transport: "stdio", token: expired, handleSignals: false })).rejects.toThrow(/has expired/);
    } finally {
      if (saved !== undefined) process.env.LANTERN_TOKEN = saved;
    }
  });
});
