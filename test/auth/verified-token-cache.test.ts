import "reflect-metadata";
import { jest } from "@jest/globals";
import { JWTAuth, UnauthorizedError, VERIFIED_TOKEN_MAX_AGE_MS } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { SECRET } from "./auth-fixtures.js";

// Only Date is faked: jose and the cache read the clock through Date.now(); WebCrypto and promises run for real.
const onlyDate = ["hrtime", "nextTick", "performance", "queueMicrotask", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "setTimeout", "clearTimeout"] as const;

afterEach(() => {
  jest.useRealTimers();
});

describe("JWTAuth remembers verified tokens", () => {
  test("a token verified once is accepted again as the same frozen identity; with the cache off, verified anew", async () => {
    const token = await createToken({ secret: SECRET, clientId: "agent-1", scopes: ["a"] });
    const cached = new JWTAuth({ secret: SECRET });
    const first = await cached.verify(token);
    expect(await cached.verify(token)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const uncached = new JWTAuth({ secret: SECRET }, { verifiedTokenCacheSize: 0 });
    const one = await uncached.verify(token);
    expect(await uncached.verify(token)).not.toBe(one);
    expect(one).toEqual(first);
  });

  test("a remembered token that has since expired is refused as expired", async () => {
    jest.useFakeTimers({ doNotFake: [...onlyDate] });
    const start = Date.now();
    const token = await createToken({ secret: SECRET, clientId: "agent-1", expiresIn: 30 });
    const auth = new JWTAuth({ secret: SECRET });
    await expect(auth.verify(token)).resolves.toMatchObject({ clientId: "agent-1" });
    jest.setSystemTime(start + 31_000);
    await expect(auth.verify(token)).rejects.toThrow(new UnauthorizedError("Unauthorized: the token has expired; obtain a new one"));
  });

  test("a remembered token is refused once it is older than maxTokenAgeSec, even without exp", async () => {
    jest.useFakeTimers({ doNotFake: [...onlyDate] });
    const start = Date.now();
    const token = await createToken({ secret: SECRET, clientId: "agent-1", expiresIn: null });
    const auth = new JWTAuth({ secret: SECRET }, { requireExpiry: false, maxTokenAgeSec: 30 });
    await expect(auth.verify(token)).resolves.toMatchObject({ clientId: "agent-1" });
    jest.setSystemTime(start + 20_000);
    await expect(auth.verify(token)).resolves.toMatchObject({ clientId: "agent-1" });
    jest.setSystemTime(start + 32_000);
    await expect(auth.verify(token)).rejects.toThrow(new UnauthorizedError("Unauthorized: the token is older than this server accepts; obtain a new one"));
  });

  test("a remembered token is verified in full again after VERIFIED_TOKEN_MAX_AGE_MS", async () => {
    jest.useFakeTimers({ doNotFake: [...onlyDate] });
    const start = Date.now();
    const token = await createToken({ secret: SECRET, clientId: "agent-1", expiresIn: 3600 });
    const auth = new JWTAuth({ secret: SECRET });
    const first = await auth.verify(token);
    jest.setSystemTime(start + VERIFIED_TOKEN_MAX_AGE_MS - 1000);
    expect(await auth.verify(token)).toBe(first);
    jest.setSystemTime(start + VERIFIED_TOKEN_MAX_AGE_MS + 1000);
    const again = await auth.verify(token);
    expect(again).not.toBe(first);
    expect(again.clientId).toBe("agent-1");
  });

  test("refused tokens are not remembered, and the cache is bounded", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { verifiedTokenCacheSize: 2 });
    const bad = await createToken({ secret: `${SECRET}-other`, clientId: "x" });
    await expect(auth.verify(bad)).rejects.toThrow(/signature is invalid/);
    await expect(auth.verify(bad)).rejects.toThrow(/signature is invalid/);
    const tokens = await Promise.all(["a", "b", "c"].map((clientId) => createToken({ secret: SECRET, clientId })));
    const identities = [];
    for (const token of tokens) identities.push(await auth.verify(token));
    // "a" was the oldest of three in a cache of two: verified anew; "c" still remembered.
    expect(await auth.verify(tokens[0]!)).not.toBe(identities[0]);
    expect(await auth.verify(tokens[2]!)).toBe(identities[2]);
    // A refusal takes no slot: "a" survives a refused token and "b" in a cache of two.
    const fresh = new JWTAuth({ secret: SECRET }, { verifiedTokenCacheSize: 2 });
    const firstA = await fresh.verify(tokens[0]!);
    await expect(fresh.verify(bad)).rejects.toThrow(/signature is invalid/);
    await fresh.verify(tokens[1]!);
    expect(await fresh.verify(tokens[0]!)).toBe(firstA);
    expect(() => new JWTAuth({ secret: SECRET }, { verifiedTokenCacheSize: -1 })).toThrow(/"verifiedTokenCacheSize" must be a whole number/);
  });
});
