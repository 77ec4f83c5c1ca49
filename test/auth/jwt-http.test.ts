import "reflect-metadata";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { UnsecuredJWT } from "jose";
import { AuthMiddleware, JWTAuth, LanternErrorCode, type McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { httpClient, listening, rawCallInSession, rawInitialize, tokenFragments } from "./auth-fixtures.js";

const ISSUER = "https://idp.test";
const AUDIENCE = "notes-api";
const SUBJECT = "subject-5f1c9d";
const CLIENT = "agent-7c2e";

const idp = generateKeyPairSync("rsa", { modulusLength: 2048 });
const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicPem = idp.publicKey.export({ type: "spki", format: "pem" }) as string;

const mint = (overrides: Parameters<typeof createToken>[0] | object = {}, key: KeyObject = idp.privateKey) =>
  createToken({ privateKey: key, issuer: ISSUER, audience: AUDIENCE, subject: SUBJECT, clientId: CLIENT, scopes: ["notes:read"], ...overrides });

let server: McpServer;
let url: string;
let sessions: () => number;
const clients: Client[] = [];

beforeAll(async () => {
  ({ server, url, sessions } = await listening([new AuthMiddleware(new JWTAuth({ publicKey: publicPem }, { issuer: ISSUER, audience: AUDIENCE }))]));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await server.close();
});

describe("a valid RS256 token over Streamable HTTP", () => {
  test("the call runs and the verified identity is the call's identity", async () => {
    const client = await httpClient(url, await mint());
    clients.push(client);
    const result = await client.callTool({ name: "who_am_i", arguments: {} });
    expect(result.structuredContent).toEqual({ clientId: CLIENT, subject: SUBJECT, issuer: ISSUER, scopes: ["notes:read"], roles: [], method: "jwt" });
  });

  test("a token holding the tool's scope may call it", async () => {
    const client = await httpClient(url, await mint({ scopes: ["notes:read", "notes:write"] }));
    clients.push(client);
    const result = await client.callTool({ name: "write_note", arguments: { text: "hi" } });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "saved: hi" }]);
  });
});

describe("refused at the HTTP layer with 401 and a challenge, before any session exists", () => {
  const expectRefused = async (authorization: string | undefined, reason: RegExp, secrets: string[] = []) => {
    const before = sessions();
    const answer = await rawInitialize(url, authorization);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe(LanternErrorCode.Unauthorized);
    expect(answer.body.error?.message).toMatch(reason);
    expect(answer.challenge).toMatch(/^Bearer realm="auth-fixture"/);
    for (const secret of secrets) {
      expect(answer.text).not.toContain(secret);
      expect(answer.challenge).not.toContain(secret);
    }
    expect(sessions()).toBe(before);
    return answer;
  };
  const refusedToken = async (token: string, reason: RegExp) => {
    const answer = await expectRefused(`Bearer ${token}`, reason, tokenFragments(token, [SUBJECT, CLIENT]));
    expect(answer.challenge).toContain('error="invalid_token"');
    expect(answer.challenge).toContain("error_description=");
  };

  test("no Authorization header: a challenge without an error code (RFC 6750 §3.1), naming the metadata and the scopes", async () => {
    const answer = await expectRefused(undefined, /no credentials; send an "Authorization: Bearer <token>" header/);
    const metadataUrl = `${new URL(url).origin}/.well-known/oauth-protected-resource/mcp`;
    expect(answer.challenge).toBe(`Bearer realm="auth-fixture", resource_metadata="${metadataUrl}", scope="notes:write"`);
  });

  test.each([["Basic dXNlcjpwYXNz"], ["Bearer"], ["Bearer two words"], ["Bearer tok\u00e9n"]])("malformed header %j", async (header) => {
    const answer = await expectRefused(header, /Authorization header must be "Bearer <token>"/, ["dXNlcjpwYXNz", "two words"]);
    expect(answer.challenge).toContain('error="invalid_request"');
  });

  test("a token that is not a JWT", async () => {
    await refusedToken("not-a-jwt-at-all", /not a well-formed signed JWT/);
  });

  test("signed by another key (bad signature)", async () => {
    await refusedToken(await mint({}, stranger.privateKey), /signature is invalid/);
  });

  test("claims altered after signing (bad signature)", async () => {
    const [header, , signature] = (await mint()).split(".");
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: SUBJECT, client_id: CLIENT, scope: "notes:write", exp: 4102444800 })).toString("base64url");
    await refusedToken(`${header}.${forged}.${signature}`, /signature is invalid/);
  });

  test("expired", async () => {
    await refusedToken(await mint({ expiresIn: -120 }), /has expired/);
  });

  test("not yet valid (nbf in the future)", async () => {
    await refusedToken(await mint({ notBefore: 3600 }), /not valid yet/);
  });

  test("wrong issuer", async () => {
    await refusedToken(await mint({ issuer: "https://evil.test" }), /issuer \(iss\) is not accepted/);
  });

  test("wrong audience", async () => {
    await refusedToken(await mint({ audience: "some-other-api" }), /audience \(aud\) does not include this server/);
  });

  test("no expiry at all", async () => {
    await refusedToken(await mint({ expiresIn: null }), /no expiry \(exp claim\)/);
  });

  test('alg "none"', async () => {
    const unsigned = new UnsecuredJWT({ client_id: CLIENT, scope: "notes:write" })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(SUBJECT).setExpirationTime("1h").encode();
    await refusedToken(unsigned, /signing algorithm is not accepted \(this server accepts RS256/);
  });

  test("HS256 token whose HMAC key is the server's RSA public key (algorithm confusion)", async () => {
    const confused = await createToken({ secret: publicPem, algorithm: "HS256", issuer: ISSUER, audience: AUDIENCE, subject: SUBJECT, clientId: CLIENT });
    await refusedToken(confused, /signing algorithm is not accepted/);
  });

  test("the SDK client's connect fails with the 401", async () => {
    await expect(httpClient(url, await mint({ expiresIn: -120 }))).rejects.toThrow(/401|expired/);
  });
});

describe("per-tool authorisation", () => {
  test("a missing scope is refused over HTTP with 403 insufficient_scope naming the scope (step-up), and -32003 in the body", async () => {
    const answer = await rawCallInSession(url, await mint({ scopes: ["notes:read"] }), { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "write_note", arguments: { text: "hi" } } });
    expect(answer.status).toBe(403);
    expect(answer.challenge).toMatch(/^Bearer realm="auth-fixture", resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp", error="insufficient_scope", scope="notes:write", error_description=/);
    expect(answer.body.id).toBe(7);
    expect(answer.body.error?.code).toBe(LanternErrorCode.Forbidden);
    expect(answer.body.error?.message).toContain('tool "write_note" requires scope "notes:write"; the caller lacks it');
    expect(answer.body.error?.data).toEqual({ scopes: ["notes:write"] });
  });

  test("a missing role is refused with -32003 naming the role", async () => {
    const client = await httpClient(url, await mint({ roles: ["editor"] }));
    clients.push(client);
    const error = await client.callTool({ name: "purge", arguments: {} }).then(() => undefined, (e: unknown) => e);
    expect((error as McpError).code).toBe(LanternErrorCode.Forbidden);
    expect((error as McpError).message).toContain('requires role "admin"');
  });

  test("tools/list shows every tool unless hideForbiddenTools is set", async () => {
    const client = await httpClient(url, await mint({ scopes: [] }));
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["purge", "who_am_i", "write_note"]);
  });
});

describe("sessions belong to the client that opened them", () => {
  test("another client's valid token cannot use the session id", async () => {
    const owner = await mint();
    const init = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${owner}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "owner", version: "1" } } }),
    });
    const sessionId = init.headers.get("mcp-session-id")!;
    expect(sessionId).toBeTruthy();
    await init.text();
    const list = (token: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
      });
    const intruder = await list(await mint({ clientId: "someone-else" }));
    expect(intruder.status).toBe(403);
    expect(((await intruder.json()) as { error: { message: string } }).error.message).toContain("opened by another caller");
    const own = await list(owner);
    expect(own.status).toBe(200);
    await own.text();
  });
});
