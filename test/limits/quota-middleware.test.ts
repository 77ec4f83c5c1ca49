import "reflect-metadata";
import { createServer } from "node:net";
import { LanternErrorCode, McpServer, QuotaMiddleware, RedisStore, type QuotaReport } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { Registry } from "prom-client";
import { httpClient } from "../auth/auth-fixtures.js";
import { callsUntilRefused, Limited, refusal } from "./limits-fixtures.js";

const clients: TestClient[] = [];
const servers: McpServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
  Limited.held = [];
  Limited.started = undefined;
});

function serverWith(quota: QuotaMiddleware): McpServer {
  const server = new McpServer(Limited);
  server.use(quota);
  servers.push(server);
  return server;
}

async function clientOf(server: McpServer, clientId: string, grants: { roles?: string[]; scopes?: string[] } = {}): Promise<TestClient> {
  const client = await createTestClient(server, { identity: { clientId, ...grants } });
  clients.push(client);
  return client;
}

async function quotaOf(client: TestClient): Promise<QuotaReport> {
  const read = await client.client.readResource({ uri: "quota://me" });
  return JSON.parse((read.contents[0] as { text: string }).text) as QuotaReport;
}

/** A port nothing listens on: a Redis there is "unreachable". */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe("QuotaMiddleware quotas by client id, role, scope", () => {
  test("each role gets its own allowance; a client id's own quota wins; roles are looked at before scopes", async () => {
    const server = serverWith(new QuotaMiddleware({
      limit: { points: 1, per: "1d" },
      roles: { free: { points: 2, per: "1d" }, pro: { points: 5, per: "1d" } },
      scopes: { "reports:bulk": { points: 4, per: "1d" } },
      clients: { "batch-importer": { points: 7, per: "1d" } },
    }));
    expect(await callsUntilRefused(await clientOf(server, "f", { roles: ["free"] }), "free")).toBe(2);
    expect(await callsUntilRefused(await clientOf(server, "p", { roles: ["pro"] }), "free")).toBe(5);
    expect(await callsUntilRefused(await clientOf(server, "s", { scopes: ["reports:bulk"] }), "free")).toBe(4);
    expect(await callsUntilRefused(await clientOf(server, "ps", { roles: ["pro"], scopes: ["reports:bulk"] }), "free")).toBe(5);
    expect(await callsUntilRefused(await clientOf(server, "batch-importer", { roles: ["free"] }), "free")).toBe(7);
    expect(await callsUntilRefused(await clientOf(server, "nobody"), "free")).toBe(1);
  });

  test("a refusal names the quota and when to retry", async () => {
    const server = serverWith(new QuotaMiddleware({ roles: { free: { points: 1, per: "1d" } } }));
    const free = await clientOf(server, "f", { roles: ["free"] });
    await free.callTool("free");
    const error = await refusal(free.callTool("free"));
    expect(error.code).toBe(LanternErrorCode.RateLimited);
    expect(error.message).toMatch(/Quota exceeded: role "free" allows 1 call per day for each caller; retry in \d+ h/);
    expect(error.data).toMatchObject({ limit: "quota:role:free", points: 1, windowMs: 86_400_000 });
    expect(error.data.retryAfterMs).toBeGreaterThan(0);
  });

  test("@RateLimit and the quota both apply, in the quota's store", async () => {
    const quota = new QuotaMiddleware({ limit: { points: 5, per: "1d" } });
    const server = serverWith(quota);
    const alice = await clientOf(server, "alice");
    expect(await callsUntilRefused(alice, "echo", { text: "x" })).toBe(3);
    // 4 calls counted by the quota (3 allowed, 1 refused by the tool's limit): 1 left.
    expect(await callsUntilRefused(alice, "free")).toBe(1);
    expect((await refusal(alice.callTool("free"))).data.limit).toBe("quota:default");
    expect(Object.keys(quota.usage()["id:alice"]!.reduce((o, u) => ({ ...o, [u.limit]: u }), {}))).toEqual(["quota:default", "tool:echo"]);
  });

  test("resource reads and prompt gets are not counted", async () => {
    const server = serverWith(new QuotaMiddleware({ limit: { points: 1, per: "1d" } }));
    const alice = await clientOf(server, "alice");
    for (let i = 0; i < 3; i++) await quotaOf(alice);
    expect(await callsUntilRefused(alice, "free")).toBe(1);
  });
});

describe("concurrency caps", () => {
  test("at most N calls of one caller in flight; another caller is not held back; a finished call frees a slot", async () => {
    const server = serverWith(new QuotaMiddleware({ concurrency: 2 }));
    const alice = await clientOf(server, "alice");
    const bob = await clientOf(server, "bob");
    const started = (n: number) => new Promise<void>((resolve) => {
      Limited.started = () => { if (Limited.held.length === n) resolve(); };
    });
    const two = started(2);
    const first = alice.callTool("hold");
    const second = alice.callTool("hold");
    await two;
    const error = await refusal(alice.callTool("hold"));
    expect(error.message).toContain("at most 2 of one caller's calls at a time");
    expect(error.data).toMatchObject({ limit: "concurrency", points: 2 });
    expect((await quotaOf(alice)).concurrency).toEqual({ max_in_flight: 2, in_flight: 2 });
    const bobStarted = started(3);
    const bobs = bob.callTool("hold");
    await bobStarted;
    for (const release of Limited.held.splice(0, 1)) release();
    await first;
    const again = started(3);
    const third = alice.callTool("hold");
    await again;
    for (const release of Limited.held.splice(0)) release();
    await Promise.all([second, bobs, third]);
    expect((await quotaOf(alice)).concurrency).toEqual({ max_in_flight: 2, in_flight: 0 });
  });
});

describe("quota://me", () => {
  test("tells the caller its own limits, what is left and when it refills", async () => {
    const server = serverWith(new QuotaMiddleware({ roles: { free: { points: 10, per: "1d" } }, concurrency: 3, requests: { points: 100, per: "1m" } }));
    const free = await clientOf(server, "free-agent", { roles: ["free"] });
    const fresh = await quotaOf(free);
    expect(fresh.client_id).toBe("free-agent");
    expect(fresh.quota).toMatchObject({ limit: "quota:role:free", points: 10, window: "day", window_ms: 86_400_000, remaining: 10, resets_in_ms: null, resets_at: null });
    expect(fresh.tools.map((t) => [t.limit, t.points, t.cost, t.remaining])).toEqual([["tool:echo", 3, 1, 3], ["tool:report", 10, 4, 10]]);
    expect(fresh.requests).toMatchObject({ limit: "requests", points: 100, remaining: 100 });
    await free.callTool("echo", { text: "x" });
    await free.callTool("report");
    const used = await quotaOf(free);
    expect(used.quota!.remaining).toBe(8);
    expect(used.quota!.resets_in_ms).toBeGreaterThan(0);
    expect(used.quota!.resets_in_ms).toBeLessThanOrEqual(86_400_000);
    expect(Date.parse(used.quota!.resets_at!)).toBeGreaterThan(Date.now());
    expect(used.tools.map((t) => [t.limit, t.remaining])).toEqual([["tool:echo", 2], ["tool:report", 6]]);
    // Another caller's use is not in it.
    expect((await quotaOf(await clientOf(server, "other", { roles: ["free"] }))).quota!.remaining).toBe(10);
  });
});

describe("checkRequest (for a transport, before dispatch)", () => {
  test("takes one request point per call and answers when to retry once spent", async () => {
    const quota = new QuotaMiddleware({ requests: { points: 2, per: "1m" } });
    serverWith(quota);
    const key = quota.requestKey(undefined, "203.0.113.9");
    expect(key).toBe("anon:203.0.113.9");
    expect(await quota.checkRequest(key)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await quota.checkRequest(key)).toEqual({ allowed: true, retryAfterMs: 0 });
    const refused = await quota.checkRequest(key);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.error?.code).toBe(LanternErrorCode.RateLimited);
    expect(refused.error?.message).toContain("allows 2 calls per minute");
    const alice = quota.requestKey({ clientId: "alice", scopes: [], roles: [], claims: {}, method: "test" }, "203.0.113.9");
    expect(alice).toBe("id:alice");
    expect((await quota.checkRequest(alice)).allowed).toBe(true);
  });

  test("without a requests limit every request is allowed", async () => {
    expect(await new QuotaMiddleware({}).checkRequest("anon:x")).toEqual({ allowed: true, retryAfterMs: 0 });
  });
});

describe("anonymous callers", () => {
  test("over HTTP the call context carries the remote address, and anonymous callers share its bucket", async () => {
    const server = serverWith(new QuotaMiddleware({ limit: { points: 2, per: "1d" } }));
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    const one = await httpClient(running.url!);
    const two = await httpClient(running.url!);
    const where = await one.callTool({ name: "where_from", arguments: {} });
    expect((where.structuredContent as { remoteAddress: string }).remoteAddress).toBe("127.0.0.1");
    await two.callTool({ name: "free", arguments: {} });
    const error = await refusal(one.callTool({ name: "free", arguments: {} }));
    expect(error.data.limit).toBe("quota:default");
    await one.close();
    await two.close();
  });

  test("a key function keys them its own way", async () => {
    const server = serverWith(new QuotaMiddleware({ limit: { points: 1, per: "1d" }, key: (ctx) => ctx.clientInfo?.name }));
    const a = await createTestClient(server, { clientInfo: { name: "tenant-a", version: "1" } });
    const b = await createTestClient(server, { clientInfo: { name: "tenant-b", version: "1" } });
    clients.push(a, b);
    expect(await callsUntilRefused(a, "free")).toBe(1);
    expect(await callsUntilRefused(b, "free")).toBe(1);
  });
});

describe("onStoreUnavailable (a Redis nobody answers at)", () => {
  const unreachable = async () => new RedisStore({ url: `redis://127.0.0.1:${await closedPort()}`, connectTimeoutMs: 200 });

  test('"allow" runs the calls uncounted and counts them', async () => {
    const registry = new Registry();
    const quota = new QuotaMiddleware({ store: await unreachable(), limit: { points: 1, per: "1d" }, onStoreUnavailable: "allow", registry, namespace: "shop" });
    const alice = await clientOf(serverWith(quota), "alice");
    for (let i = 0; i < 3; i++) expect((await alice.callTool("free")).isError).toBeFalsy();
    expect(quota.counts.storeUnavailable).toEqual({ allowed: 3, denied: 0 });
    expect((await quotaOf(alice)).store_unavailable).toBe(true);
    expect(await registry.metrics()).toContain('shop_rate_limit_store_unavailable_total{action="allowed"} 3');
  });

  test('"deny" refuses them with -32005 and counts them', async () => {
    const registry = new Registry();
    const quota = new QuotaMiddleware({ store: await unreachable(), limit: { points: 1, per: "1d" }, onStoreUnavailable: "deny", registry });
    const alice = await clientOf(serverWith(quota), "alice");
    const error = await refusal(alice.callTool("echo", { text: "x" }));
    expect(error.code).toBe(LanternErrorCode.RateLimited);
    expect(error.message).toContain("the limit store is unreachable");
    expect(error.data).toEqual({ limit: "store", retryAfterMs: 1000 });
    expect(quota.counts.storeUnavailable).toEqual({ allowed: 0, denied: 1 });
    const text = await registry.metrics();
    expect(text).toContain('mcp_rate_limit_store_unavailable_total{action="denied"} 1');
    expect(text).toContain('mcp_rate_limit_refused_total{limit="store"} 1');
  });
});

describe("bad options are refused, naming them", () => {
  test.each([
    [{ limits: {} }, 'unknown option "limits"'],
    [{ onStoreUnavailable: "retry" }, '"onStoreUnavailable" must be one of "allow", "deny", got the string "retry"'],
    [{ store: "redis" }, 'store must be "memory" or a RedisStore, got "redis"'],
    [{ concurrency: 0 }, '"concurrency" must be a whole number of at least 1, got the number 0'],
    [{ roles: { free: { points: 10, per: "2d" } } }, 'roles["free"]: per "2d" is not a window'],
    [{ limit: { points: -1, per: "1d" } }, "limit.points must be a positive whole number, got -1"],
    [{ requests: { points: 1, per: "1s", burst: 2 } }, 'requests has unknown option "burst"'],
  ])("%j", (options, message) => {
    expect(() => new QuotaMiddleware(options as never)).toThrow(message);
  });

  test("RedisStore wants a redis:// url or a client, and hides a password in its message", () => {
    expect(() => new RedisStore({})).toThrow("give either url (redis://host:port) or client");
    expect(() => new RedisStore({ url: "http://user:secret@host" })).toThrow('url must start with redis:// or rediss://, got "http://***@host"');
    expect(() => new RedisStore({ url: "redis://h", db: 2 } as never)).toThrow('unknown option "db"');
  });

  test("two QuotaMiddlewares on one server are refused when it is built", async () => {
    const server = serverWith(new QuotaMiddleware({}));
    server.use(new QuotaMiddleware({}));
    await expect(server.build()).rejects.toThrow("Only one limit store can keep @RateLimit counts");
  });
});
