import "reflect-metadata";
import { generateKeyPairSync } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { AuthMiddleware, JWTAuth, LanternErrorCode, type McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { httpClient, jwksServer, listening, rawInitialize, tokenFragments } from "./auth-fixtures.js";

const current = generateKeyPairSync("ec", { namedCurve: "P-256" });
const next = generateKeyPairSync("ed25519");
const publicJwk = (key: typeof current.publicKey, kid: string) => ({ ...key.export({ format: "jwk" }), kid, use: "sig" });

let jwks: Awaited<ReturnType<typeof jwksServer>>;
let server: McpServer;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  jwks = await jwksServer([publicJwk(current.publicKey, "k-2024")]);
  // cooldownMs 0: an unknown kid refetches at once (production default: at most every 30 s).
  ({ server, url } = await listening([new AuthMiddleware(new JWTAuth({ jwksUrl: jwks.url, cooldownMs: 0 }, { audience: "notes-api" }))]));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await server.close();
  await jwks.close();
});

test("a token whose kid is in the JWKS is accepted (ES256), and the key set is fetched once and cached", async () => {
  const token = await createToken({ privateKey: current.privateKey, kid: "k-2024", audience: "notes-api", clientId: "jwks-client" });
  const client = await httpClient(url, token);
  clients.push(client);
  const result = await client.callTool({ name: "who_am_i", arguments: {} });
  expect(result.structuredContent).toMatchObject({ clientId: "jwks-client", method: "jwt" });
  await client.callTool({ name: "who_am_i", arguments: {} });
  expect(jwks.fetches()).toBe(1);
});

test("an unknown kid is refused with 401 after a refetch of the key set", async () => {
  const before = jwks.fetches();
  const token = await createToken({ privateKey: next.privateKey, kid: "k-2025", audience: "notes-api", subject: "rotated-subject" });
  const answer = await rawInitialize(url, `Bearer ${token}`);
  expect(answer.status).toBe(401);
  expect(answer.body.error?.code).toBe(LanternErrorCode.Unauthorized);
  expect(answer.body.error?.message).toMatch(/no key of the issuer's key set \(JWKS\) matches the token's key id \(kid\)/);
  expect(answer.challenge).toContain('error="invalid_token"');
  for (const fragment of tokenFragments(token, ["rotated-subject", "k-2025"])) expect(answer.text).not.toContain(fragment);
  expect(jwks.fetches()).toBe(before + 1);
});

test("once the issuer publishes the new key, its tokens are accepted (EdDSA) without a restart", async () => {
  jwks.keys.push(publicJwk(next.publicKey, "k-2025"));
  const token = await createToken({ privateKey: next.privateKey, kid: "k-2025", audience: "notes-api", clientId: "rotated" });
  const client = await httpClient(url, token);
  clients.push(client);
  const result = await client.callTool({ name: "who_am_i", arguments: {} });
  expect(result.structuredContent).toMatchObject({ clientId: "rotated" });
});

test("an HS256 token is refused even with a kid the JWKS knows", async () => {
  const token = await createToken({ secret: "x".repeat(40), algorithm: "HS256", kid: "k-2024", audience: "notes-api", subject: "s" });
  const answer = await rawInitialize(url, `Bearer ${token}`);
  expect(answer.status).toBe(401);
  expect(answer.body.error?.message).toMatch(/signing algorithm is not accepted/);
});
