import "reflect-metadata";
import { createSecretKey, generateKeyPairSync } from "node:crypto";
import { identityFromClaims, JWTAuth, UnauthorizedError } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { SECRET } from "./auth-fixtures.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec384 = generateKeyPairSync("ec", { namedCurve: "P-384" });

const reasonOf = (promise: Promise<unknown>) => promise.then(() => "accepted", (e: unknown) => (e instanceof UnauthorizedError ? e.message : `not an UnauthorizedError: ${String(e)}`));

describe("JWTAuth refuses unsafe configurations when built", () => {
  test.each([
    ["an empty secret", () => new JWTAuth({ secret: "" }), /empty secret: is the environment variable/],
    ["an undefined secret (unset env var)", () => new JWTAuth({ secret: process.env.LANTERN_SURELY_UNSET_VARIABLE! }), /empty secret/],
    ["a 31-byte secret", () => new JWTAuth({ secret: "x".repeat(31) }), /31-byte secret: HMAC secrets must be at least 32 bytes/],
    ["a secret KeyObject given as publicKey", () => new JWTAuth({ publicKey: createSecretKey(Buffer.alloc(32)) }), /secret key: pass a shared secret as JWTAuth\(\{ secret \}\)/],
    ["RS256 allowed with a secret", () => new JWTAuth({ secret: SECRET }, { algorithms: ["HS256", "RS256"] }), /"RS256" cannot be used with this key \(it allows HS256, HS384, HS512\)/],
    ["HS256 allowed with an RSA key", () => new JWTAuth({ publicKey: rsa.publicKey }, { algorithms: ["HS256"] }), /"HS256" cannot be used with this key/],
    ["ES256 allowed with a P-384 key", () => new JWTAuth({ publicKey: ec384.publicKey }, { algorithms: ["ES256"] }), /it allows ES384/],
    ["none allowed", () => new JWTAuth({ secret: SECRET }, { algorithms: ["none"] }), /"none" cannot be used/],
    ["a plain-http JWKS URL off loopback", () => new JWTAuth({ jwksUrl: "http://idp.example/jwks.json" }), /must be an https URL/],
    ["a JWKS URL that is not absolute", () => new JWTAuth({ jwksUrl: "jwks.json" }), /^JWTAuth\(\{ jwksUrl \}\) must be an absolute URL such as "https:\/\/idp\.example\/\.well-known\/jwks\.json": got "jwks\.json"$/],
    ["a JWK whose alg its key cannot serve", () => new JWTAuth({ publicKey: { ...rsa.publicKey.export({ format: "jwk" }), alg: "ES256" } as never }), /says alg "ES256"/],
  ])("%s", (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test("algorithms are pinned to the key type", () => {
    expect(new JWTAuth({ secret: SECRET }).algorithms).toEqual(["HS256", "HS384", "HS512"]);
    expect(new JWTAuth({ publicKey: rsa.publicKey.export({ type: "spki", format: "pem" }) as string }).algorithms).toEqual(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]);
    expect(new JWTAuth({ publicKey: rsa.privateKey }).algorithms).toContain("RS256");
    expect(new JWTAuth({ publicKey: ec384.publicKey.export({ format: "jwk" }) as never }).algorithms).toEqual(["ES384"]);
    expect(new JWTAuth({ publicKey: { ...rsa.publicKey.export({ format: "jwk" }), alg: "PS256" } as never }).algorithms).toEqual(["PS256"]);
  });
});

describe("JWTAuth.verify", () => {
  test("HS512 and an algorithms subset", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { algorithms: ["HS512"] });
    expect((await auth.verify(await createToken({ secret: SECRET, algorithm: "HS512", subject: "s" }))).clientId).toBe("s");
    expect(await reasonOf(auth.verify(await createToken({ secret: SECRET, subject: "s" })))).toMatch(/accepts HS512\)/);
  });

  test("PS256 and ES384 public keys", async () => {
    expect((await new JWTAuth({ publicKey: rsa.publicKey }).verify(await createToken({ privateKey: rsa.privateKey, algorithm: "PS256", subject: "p" }))).clientId).toBe("p");
    expect((await new JWTAuth({ publicKey: ec384.publicKey }).verify(await createToken({ privateKey: ec384.privateKey, subject: "e" }))).clientId).toBe("e");
  });

  test("clockToleranceSec accepts a token that expired within the tolerance", async () => {
    const token = await createToken({ secret: SECRET, subject: "s", expiresIn: -5 });
    expect(await reasonOf(new JWTAuth({ secret: SECRET }).verify(token))).toMatch(/expired/);
    expect((await new JWTAuth({ secret: SECRET }, { clockToleranceSec: 30 }).verify(token)).subject).toBe("s");
  });

  test("requireExpiry: false accepts a token without exp", async () => {
    const token = await createToken({ secret: SECRET, subject: "s", expiresIn: null });
    expect(await reasonOf(new JWTAuth({ secret: SECRET }).verify(token))).toMatch(/no expiry/);
    expect((await new JWTAuth({ secret: SECRET }, { requireExpiry: false }).verify(token)).subject).toBe("s");
  });

  test("issuer and audience lists", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { issuer: ["https://a.test", "https://b.test"], audience: ["x", "y"] });
    expect((await auth.verify(await createToken({ secret: SECRET, subject: "s", issuer: "https://b.test", audience: ["z", "y"] }))).issuer).toBe("https://b.test");
    expect(await reasonOf(auth.verify(await createToken({ secret: SECRET, subject: "s", issuer: "https://b.test", audience: "z" })))).toMatch(/audience/);
    expect(await reasonOf(auth.verify(await createToken({ secret: SECRET, subject: "s", issuer: "https://c.test", audience: "x" })))).toMatch(/issuer/);
  });

  test("clientIdClaim: the client id comes from that claim only", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { clientIdClaim: "tenant_app" });
    expect((await auth.verify(await createToken({ secret: SECRET, subject: "s", claims: { tenant_app: "app-9" } }))).clientId).toBe("app-9");
    expect(await reasonOf(auth.verify(await createToken({ secret: SECRET, subject: "s", clientId: "c" })))).toBe('Unauthorized: the token has no "tenant_app" claim to identify the client');
  });
});

describe("identityFromClaims", () => {
  test("client id: client_id, then azp, then sub", () => {
    expect(identityFromClaims({ client_id: "c", azp: "a", sub: "s" }, { method: "jwt" }).clientId).toBe("c");
    expect(identityFromClaims({ azp: "a", sub: "s" }, { method: "jwt" }).clientId).toBe("a");
    expect(identityFromClaims({ sub: "s" }, { method: "jwt" }).clientId).toBe("s");
    expect(() => identityFromClaims({ client_id: "", scope: "x" }, { method: "jwt" })).toThrow(/names no client/);
  });

  test("scopes from a space-separated scope and/or an scp array or string; roles from roles", () => {
    const identity = identityFromClaims({ sub: "s", scope: "a  b", scp: ["b", "c", 7], roles: ["admin", null] }, { method: "jwt" });
    expect(identity.scopes).toEqual(["a", "b", "c"]);
    expect(identity.roles).toEqual(["admin"]);
    expect(identityFromClaims({ sub: "s", scp: "read write" }, { method: "jwt" }).scopes).toEqual(["read", "write"]);
    expect(identityFromClaims({ sub: "s", roles: "r1 r2" }, { method: "jwt" }).roles).toEqual(["r1", "r2"]);
  });

  test("the raw claims are kept, frozen", () => {
    const identity = identityFromClaims({ sub: "s", iss: "https://i.test", tenant: "t1" }, { method: "jwt" });
    expect(identity).toMatchObject({ subject: "s", issuer: "https://i.test", claims: { tenant: "t1" }, method: "jwt" });
    expect(Object.isFrozen(identity.claims)).toBe(true);
  });
});

describe("createToken", () => {
  test("needs exactly one key", async () => {
    await expect(createToken({})).rejects.toThrow(/exactly one of/);
    await expect(createToken({ secret: SECRET, privateKey: rsa.privateKey })).rejects.toThrow(/exactly one of/);
  });

  test("writes the claims a server reads", async () => {
    const token = await createToken({ secret: SECRET, subject: "s", clientId: "c", scopes: ["a", "b"], roles: ["r"], issuer: "i", audience: "au", kid: "k1", claims: { extra: 1 } });
    const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, "base64url").toString()) as Record<string, unknown>);
    expect(header).toEqual({ alg: "HS256", kid: "k1" });
    expect(payload).toMatchObject({ sub: "s", client_id: "c", scope: "a b", roles: ["r"], iss: "i", aud: "au", extra: 1 });
    expect(payload!.exp as number - (payload!.iat as number)).toBe(3600);
  });
});
