import "reflect-metadata";
import { once } from "node:events";
import { AuthMiddleware, JWTAuth, McpServer, QuotaMiddleware, type RunningServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";

const SECRET = "http-limits-test-secret-0123456789abcdef";

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
};
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function serve(configure: (server: McpServer) => void, listen: Record<string, unknown> = {}): Promise<{ server: McpServer; running: RunningServer }> {
  const server = new McpServer({ name: "limits", version: "1.0.0" });
  server.addTool({ name: "ping", description: "Answers pong", handler: () => "pong" });
  configure(server);
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false, ...listen });
  return { server, running };
}

const servers: McpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(500)));
});

test("one client opening sessions without closing them cannot lock out another: its least recently used session is closed", async () => {
  const { server, running } = await serve((s) => s.use(new AuthMiddleware(new JWTAuth({ secret: SECRET }, { audience: "limits" }))), { maxSessions: 10, maxSessionsPerClient: 3 });
  servers.push(server);
  const token = (clientId: string) => createToken({ secret: SECRET, clientId, audience: "limits" });
  const hog = await token("hog");
  const open = async (bearer: string) => {
    const response = await fetch(running.url!, { method: "POST", headers: { ...HEADERS, authorization: `Bearer ${bearer}` }, body: JSON.stringify(initialize) });
    await response.arrayBuffer();
    return { status: response.status, sessionId: response.headers.get("mcp-session-id") };
  };
  const hogSessions: string[] = [];
  for (let i = 0; i < 20; i++) {
    const opened = await open(hog);
    expect(opened.status).toBe(200);
    hogSessions.push(opened.sessionId!);
  }
  // The hog holds its 3 most recent sessions, not all 20: everyone else still gets in.
  const other = await open(await token("someone-else"));
  expect(other.status).toBe(200);
  const health = (await (await fetch(running.url!.replace(/\/mcp$/, "/healthz"))).json()) as { sessions: number };
  expect(health.sessions).toBe(4);
  const probe = async (sessionId: string) => {
    const response = await fetch(running.url!, {
      method: "POST",
      headers: { ...HEADERS, authorization: `Bearer ${hog}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    await response.arrayBuffer();
    return response.status;
  };
  expect(await probe(hogSessions[0]!)).toBe(404);
  expect(await probe(hogSessions[19]!)).toBe(200);
});

test("a per-caller request limit answers 429 with Retry-After and the JSON-RPC error, before the body is read", async () => {
  const { server, running } = await serve((s) => s.use(new QuotaMiddleware({ requests: { points: 3, per: "1m" } })));
  servers.push(server);
  const post = () => fetch(running.url!, { method: "POST", headers: HEADERS, body: JSON.stringify(initialize) });
  for (let i = 0; i < 3; i++) {
    const allowed = await post();
    await allowed.arrayBuffer();
    expect(allowed.status).toBe(200);
  }
  const refused = await post();
  expect(refused.status).toBe(429);
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const body = (await refused.json()) as { error: { code: number; message: string; data: { limit: string; retryAfterMs: number } } };
  expect(body.error.code).toBe(-32005);
  expect(body.error.data.limit).toBe("requests");
  expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
});

test("a session belongs to its caller (issuer, subject, client id): the same client id with another subject gets 403", async () => {
  const { server, running } = await serve((s) => s.use(new AuthMiddleware(new JWTAuth({ secret: SECRET }, { audience: "limits" }))));
  servers.push(server);
  const alice = await createToken({ secret: SECRET, clientId: "shared-app", subject: "alice", audience: "limits" });
  const mallory = await createToken({ secret: SECRET, clientId: "shared-app", subject: "mallory", audience: "limits", scopes: ["read"] });
  const opened = await fetch(running.url!, { method: "POST", headers: { ...HEADERS, authorization: `Bearer ${alice}` }, body: JSON.stringify(initialize) });
  await opened.arrayBuffer();
  const sessionId = opened.headers.get("mcp-session-id")!;
  const use = async (bearer: string) => {
    const response = await fetch(running.url!, {
      method: "POST",
      headers: { ...HEADERS, authorization: `Bearer ${bearer}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    return { status: response.status, text: await response.text() };
  };
  const intruder = await use(mallory);
  expect(intruder.status).toBe(403);
  expect(intruder.text).toContain("opened by another caller");
  expect((await use(alice)).status).toBe(200);
});

test("a request with two Host headers is refused with 400; refusals close the connection", async () => {
  const { server, running } = await serve(() => {});
  servers.push(server);
  const { request } = await import("node:http");
  const url = new URL(running.url!);
  const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: [["Host", url.host], ["Host", "evil.example"], ["Content-Type", "application/json"]] as unknown as Record<string, string> }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, connection: res.headers.connection });
    });
    req.on("error", reject);
    req.end(JSON.stringify(initialize));
  });
  expect(answer).toEqual({ status: 400, connection: "close" });
});

test("calls have a time limit by default (60 s; 0 turns it off)", async () => {
  const limited = new McpServer({ name: "t", version: "1" });
  limited.addTool({ name: "slow", description: "x", handler: () => "ok" });
  const unlimited = new McpServer({ name: "t", version: "1" }, { defaultTimeoutMs: 0 });
  unlimited.addTool({ name: "slow", description: "x", handler: () => "ok" });
  expect((await limited.build()).registry.tools.get("slow")!.timeoutMs).toBe(60_000);
  expect((await unlimited.build()).registry.tools.get("slow")!.timeoutMs).toBe(0);
});

/** One POST on a connection of its own (no keep-alive pool), resolving to its status and whole body. */
async function post(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

test.each([["SSE", false], ["JSON", true]])("a cancelled call's response (%s) is ended by the server, not left open until the client hangs up", async (_mode, jsonResponse) => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let stopped!: () => void;
  const handlerStopped = new Promise<void>((resolve) => (stopped = resolve));
  const { server, running } = await serve(
    (s) =>
      s.addTool({
        name: "hang",
        description: "Runs until cancelled",
        handler: (_input, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener("abort", () => { stopped(); reject(ctx.signal.reason); });
            started();
          }),
      }),
    { jsonResponse },
  );
  servers.push(server);
  const opened = await post(running.url!, HEADERS, initialize);
  const session = { ...HEADERS, "mcp-session-id": String(opened.headers["mcp-session-id"]), "mcp-protocol-version": "2025-11-25" };
  const call = post(running.url!, session, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "hang", arguments: {} } });
  await handlerStarted;
  const cancel = await post(running.url!, session, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "user gave up" } });
  expect(cancel.status).toBe(202);
  await handlerStopped;
  // The cancelled call's POST ends, with no JSON-RPC answer (none is sent for a cancelled request).
  const ended = await call;
  expect(ended.text).not.toContain('"id":7');
  expect(ended.status).toBe(jsonResponse ? 204 : 200);
});

test("an unauthenticated request that sends its body slowly gets its 401 and its connection closed, without waiting for the body", async () => {
  const { server, running } = await serve((s) => s.use(new AuthMiddleware(new JWTAuth({ secret: SECRET }, { audience: "limits" }))));
  servers.push(server);
  const { connect } = await import("node:net");
  const url = new URL(running.url!);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, "connect");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (received += chunk));
  const closed = once(socket, "close");
  // Headers promise 100 KB; only a few bytes of it ever come.
  socket.write(`POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nAuthorization: Bearer not-a-token\r\n\r\n{"jsonrpc"`);
  await closed;
  expect(received).toMatch(/^HTTP\/1\.1 401 /);
  expect(received.toLowerCase()).toContain("connection: close");
  expect(socket.destroyed).toBe(true);
});
