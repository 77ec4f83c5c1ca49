import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import winston from "winston";
import { verifyAuditLog, type McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { AUDIT_SECRET, connectClient, JWT_SECRET, readAudit, tokenFor } from "./stress-support.js";

/**
 * The bad-input corpus: what a client can get wrong, sent raw over HTTP to the full production
 * stack, and the answer each one gets. This table is the documentation of those answers
 * (README "Inputs, outputs and errors" and "Transports"); after every case the server must still
 * answer the next good call.
 */

/** Tokens the corpus sends, minted before it runs. */
type TokenName = "good" | "expired" | "wrongSignature" | "algNone" | "wrongAudience" | "wrongIssuer" | "notYetValid" | "malformed";

interface BadInput {
  what: string;
  /** The raw body (a function when it is large: built only when sent). */
  body?: string | (() => string);
  method?: string;
  path?: string;
  /** Headers added to (or, when undefined, removed from) the session's usual ones. */
  headers?: Record<string, string | undefined>;
  /** Which token to send; `null` sends no Authorization header. Default "good". */
  token?: TokenName | null;
  /** Send without the session's Mcp-Session-Id. */
  noSession?: boolean;
  answer: {
    status: number;
    /** The JSON-RPC error code, in the JSON body or in the SSE event. */
    code?: number;
    message?: RegExp;
    /** The call ran: a result, not an error. */
    result?: true;
  };
}

let nextId = 100;
const message = (method: string, params?: unknown) => JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, ...(params === undefined ? {} : { params }) });
const callTool = (name: string, args: unknown) => message("tools/call", { name, arguments: args });

const PARSE_ERROR = { status: 400, code: -32700, message: /^Parse error: the body is not valid JSON/ };
const NOT_JSON_RPC = { status: 400, code: -32700, message: /^Parse error: Invalid JSON-RPC message$/ };
const METHOD_NOT_FOUND = { status: 200, code: -32601, message: /^Method not found$/ };
const invalidArguments = (tool: string, detail: RegExp) => ({
  status: 200,
  code: -32602,
  message: new RegExp(`^Invalid arguments for tool "${tool}": .*${detail.source}`),
});
const unauthorized = (detail: RegExp) => ({ status: 401, code: -32001, message: new RegExp(`^Unauthorized: .*${detail.source}`) });
const nested = (depth: number, open: string, close: string, leaf: string) => open.repeat(depth) + leaf + close.repeat(depth);

const CORPUS: BadInput[] = [
  // Malformed JSON: HTTP 400, -32700, the parser's reason.
  { what: "malformed JSON", body: "{not json", answer: PARSE_ERROR },
  { what: "an empty body", body: "", answer: PARSE_ERROR },
  { what: "a truncated message", body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"', answer: PARSE_ERROR },
  { what: "trailing garbage after the message", body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"} x', answer: PARSE_ERROR },
  { what: "single-quoted JSON", body: "{'jsonrpc':'2.0','id':1,'method':'tools/list'}", answer: PARSE_ERROR },
  { what: "NaN as the id", body: '{"jsonrpc":"2.0","id":NaN,"method":"ping"}', answer: PARSE_ERROR },
  { what: "control bytes", body: "\u0000\u0001\u00ff", answer: PARSE_ERROR },

  // Well-formed JSON that is not a JSON-RPC message: HTTP 400, -32700 "Invalid JSON-RPC message" (the SDK's answer).
  { what: "no jsonrpc member", body: JSON.stringify({ id: 1, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: 'jsonrpc "1.0"', body: JSON.stringify({ jsonrpc: "1.0", id: 1, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "an id but no method", body: JSON.stringify({ jsonrpc: "2.0", id: 1 }), answer: NOT_JSON_RPC },
  { what: "a number as the method", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: 42 }), answer: NOT_JSON_RPC },
  { what: "an object as the id", body: JSON.stringify({ jsonrpc: "2.0", id: { a: 1 }, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "an array as the id", body: JSON.stringify({ jsonrpc: "2.0", id: [1], method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "a boolean as the id", body: JSON.stringify({ jsonrpc: "2.0", id: true, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "a fractional id", body: JSON.stringify({ jsonrpc: "2.0", id: 1.5, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "a null id", body: JSON.stringify({ jsonrpc: "2.0", id: null, method: "tools/list" }), answer: NOT_JSON_RPC },
  { what: "params as an array", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: [1, 2] }), answer: NOT_JSON_RPC },
  { what: "params as a string", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: "find_items" }), answer: NOT_JSON_RPC },
  { what: "a bare number", body: "42", answer: NOT_JSON_RPC },
  { what: "a bare string", body: '"tools/list"', answer: NOT_JSON_RPC },
  { what: "null", body: "null", answer: NOT_JSON_RPC },
  { what: "a batch of garbage", body: '[1, 2, "x"]', answer: NOT_JSON_RPC },
  { what: "a batch of one request and garbage", body: `[${message("ping")}, 1]`, answer: NOT_JSON_RPC },
  { what: "a __proto__ member on the message itself", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","__proto__":{"method":"x"}}`, answer: NOT_JSON_RPC },
  // The SDK accepts an empty batch as "nothing to answer" (JSON-RPC 2.0 would say -32600).
  { what: "an empty batch", body: "[]", answer: { status: 202 } },

  // Unknown methods: the request reaches the session and gets -32601.
  { what: "an unknown method", body: message("tools/destroy"), answer: METHOD_NOT_FOUND },
  { what: "an empty method name", body: message(""), answer: METHOD_NOT_FOUND },
  { what: '"__proto__" as the method', body: message("__proto__"), answer: METHOD_NOT_FOUND },
  { what: '"constructor" as the method', body: message("constructor"), answer: METHOD_NOT_FOUND },
  { what: "an unknown notification (nothing to answer)", body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/whatever" }), answer: { status: 202 } },

  // Known methods with params that do not fit: -32602 naming the field.
  { what: "tools/call without a name", body: message("tools/call", { arguments: {} }), answer: { status: 200, code: -32602, message: /^Invalid params for tools\/call: params\.name: / } },
  { what: "tools/call with arguments that are not an object", body: message("tools/call", { name: "find_items", arguments: "lamp" }), answer: { status: 200, code: -32602, message: /^Invalid params for tools\/call: params\.arguments: / } },
  { what: "an unknown tool", body: callTool("drop_tables", {}), answer: { status: 200, code: -32602, message: /^Unknown tool: drop_tables$/ } },
  { what: "an unknown resource", body: message("resources/read", { uri: "inventory://nothing/here" }), answer: { status: 200, code: -32602, message: /^Resource not found: inventory:\/\/nothing\/here$/ } },
  { what: "resources/read without a uri", body: message("resources/read", {}), answer: { status: 200, code: -32602, message: /^Invalid params for resources\/read: params\.uri: / } },
  { what: "an unknown prompt", body: message("prompts/get", { name: "nope" }), answer: { status: 200, code: -32602, message: /^Unknown prompt: nope$/ } },
  { what: "a prompt argument of the wrong type", body: message("prompts/get", { name: "restock", arguments: { sku: 5 } }), answer: { status: 200, code: -32602, message: /^Invalid params for prompts\/get: params\.arguments\.sku: / } },
  { what: "a prompt argument breaking its rule", body: message("prompts/get", { name: "restock", arguments: { sku: "lamp" } }), answer: { status: 200, code: -32602, message: /^Invalid arguments for prompt "restock": sku must match/ } },
  { what: "an unknown log level", body: message("logging/setLevel", { level: "loud" }), answer: { status: 200, code: -32602, message: /^Invalid params for logging\/setLevel: params\.level: / } },
  { what: "initialize again on a live session", body: message("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "again", version: "1" } }), answer: { status: 400, code: -32600, message: /Server already initialized/ } },

  // A wrong type (or a broken rule) for every argument of every tool: -32602, the field and rule named.
  { what: "find_items: query a number", body: callTool("find_items", { query: 5 }), answer: invalidArguments("find_items", /query must be a string/) },
  { what: "find_items: query null", body: callTool("find_items", { query: null }), answer: invalidArguments("find_items", /query must be a string/) },
  { what: "find_items: query an array", body: callTool("find_items", { query: ["lamp"] }), answer: invalidArguments("find_items", /query must be a string/) },
  { what: "find_items: query empty", body: callTool("find_items", { query: "" }), answer: invalidArguments("find_items", /query must be longer than or equal to 1/) },
  { what: "find_items: query missing", body: callTool("find_items", {}), answer: invalidArguments("find_items", /query must be a string/) },
  { what: "find_items: limit a string", body: callTool("find_items", { query: "lamp", limit: "10" }), answer: invalidArguments("find_items", /limit must be an integer number/) },
  { what: "find_items: limit fractional", body: callTool("find_items", { query: "lamp", limit: 2.5 }), answer: invalidArguments("find_items", /limit must be an integer number/) },
  { what: "find_items: limit an object", body: callTool("find_items", { query: "lamp", limit: {} }), answer: invalidArguments("find_items", /limit must be an integer number/) },
  { what: "find_items: limit below its minimum", body: callTool("find_items", { query: "lamp", limit: 0 }), answer: invalidArguments("find_items", /limit must not be less than 1/) },
  { what: "find_items: limit above its maximum", body: callTool("find_items", { query: "lamp", limit: 51 }), answer: invalidArguments("find_items", /limit must not be greater than 50/) },
  { what: "adjust_stock: sku a number", body: callTool("adjust_stock", { sku: 1, delta: 1, reason: "test" }), answer: invalidArguments("adjust_stock", /sku must match/) },
  { what: "adjust_stock: sku in the wrong format", body: callTool("adjust_stock", { sku: "lamp-1", delta: 1, reason: "test" }), answer: invalidArguments("adjust_stock", /sku must match/) },
  { what: "adjust_stock: delta a string", body: callTool("adjust_stock", { sku: "LMP-001", delta: "1", reason: "test" }), answer: invalidArguments("adjust_stock", /delta must be an integer number/) },
  { what: "adjust_stock: delta out of range", body: callTool("adjust_stock", { sku: "LMP-001", delta: 5000, reason: "test" }), answer: invalidArguments("adjust_stock", /delta must not be greater than 1000/) },
  { what: "adjust_stock: reason a number", body: callTool("adjust_stock", { sku: "LMP-001", delta: 1, reason: 7 }), answer: invalidArguments("adjust_stock", /reason must be a string/) },
  { what: "adjust_stock: reason too short", body: callTool("adjust_stock", { sku: "LMP-001", delta: 1, reason: "ab" }), answer: invalidArguments("adjust_stock", /reason must be longer than or equal to 3/) },
  { what: "adjust_stock: every argument missing", body: callTool("adjust_stock", {}), answer: invalidArguments("adjust_stock", /sku must match.*delta must be an integer number.*reason must be a string/) },
  { what: "reconcile: warehouse not one of the list", body: callTool("reconcile", { warehouse: "paris" }), answer: invalidArguments("reconcile", /warehouse must be one of the following values: berlin, lisbon/) },
  { what: "reconcile: warehouse a number", body: callTool("reconcile", { warehouse: 1 }), answer: invalidArguments("reconcile", /warehouse must be one of the following values/) },
  { what: "reconcile: batches a string", body: callTool("reconcile", { warehouse: "berlin", batches: "5" }), answer: invalidArguments("reconcile", /batches must be an integer number/) },
  { what: "reconcile: batches below its minimum", body: callTool("reconcile", { warehouse: "berlin", batches: 0 }), answer: invalidArguments("reconcile", /batches must not be less than 1/) },
  { what: "reconcile: batches above its maximum", body: callTool("reconcile", { warehouse: "berlin", batches: 21 }), answer: invalidArguments("reconcile", /batches must not be greater than 20/) },

  // Unknown properties and reserved keys.
  { what: "an unknown property", body: callTool("find_items", { query: "lamp", drop: true }), answer: invalidArguments("find_items", /property drop should not exist/) },
  { what: 'a "constructor" argument', body: callTool("find_items", { query: "lamp", constructor: { prototype: { admin: true } } }), answer: { status: 200, code: -32602, message: /^Argument "constructor" is not allowed: "constructor" is a reserved key$/ } },
  { what: 'a "prototype" argument', body: callTool("find_items", { query: "lamp", prototype: {} }), answer: { status: 200, code: -32602, message: /^Argument "prototype" is not allowed/ } },
  { what: 'a nested "__proto__" key', body: '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"find_items","arguments":{"query":"lamp","filter":{"__proto__":{"admin":true}}}}}', answer: { status: 200, code: -32602, message: /^Argument "filter\.__proto__" is not allowed: "__proto__" is a reserved key$/ } },
  // A top-level "__proto__" argument never reaches Lantern: the SDK's schema drops that key, and the call runs without it.
  { what: 'a top-level "__proto__" argument (dropped by the SDK)', body: '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"find_items","arguments":{"query":"lamp","__proto__":{"admin":true}}}}', answer: { status: 200, result: true } },

  // Deep nesting: refused at 64 levels, and the refusal is still audited (see the last test).
  { what: "arguments nested 3,000 objects deep", body: () => `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"find_items","arguments":{"query":"x","deep":${nested(3000, '{"a":', "}", "1")}}}}`, answer: { status: 200, code: -32602, message: /^Arguments nest deeper than 64 levels at "deep\.a\.a/ } },
  { what: "an argument nested 100,000 arrays deep", body: () => `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"find_items","arguments":{"query":${nested(100_000, "[", "]", "1")}}}}`, answer: { status: 200, code: -32602, message: /^Arguments nest deeper than 64 levels at "query\[0\]\[0\]/ } },

  // Huge bodies: HTTP 413 before anything is parsed.
  { what: "a body over 1 MiB", body: () => callTool("find_items", { query: "x".repeat(2 * 1024 * 1024) }), answer: { status: 413, code: -32600, message: /^Request body too large: the limit is 1048576 bytes/ } },
  { what: "a declared Content-Length over 1 MiB", body: "{}", headers: { "content-length": String(64 * 1024 * 1024) }, answer: { status: 413, code: -32600, message: /^Request body too large/ } },

  // Bad tokens: HTTP 401 with a WWW-Authenticate challenge, before any session is touched.
  { what: "no Authorization header", token: null, body: message("tools/list"), answer: unauthorized(/no credentials/) },
  { what: "a Basic instead of a Bearer credential", token: null, headers: { authorization: "Basic YWRtaW46YWRtaW4=" }, body: message("tools/list"), answer: unauthorized(/must be "Bearer <token>"/) },
  { what: "an empty bearer token", token: null, headers: { authorization: "Bearer " }, body: message("tools/list"), answer: unauthorized(/must be "Bearer <token>"/) },
  { what: "a token that is not a JWT", token: "malformed", body: message("tools/list"), answer: unauthorized(/not a well-formed signed JWT/) },
  { what: "an expired token", token: "expired", body: message("tools/list"), answer: unauthorized(/the token has expired/) },
  { what: "a token signed with another key", token: "wrongSignature", body: message("tools/list"), answer: unauthorized(/signature is invalid/) },
  { what: 'an unsigned token (alg "none")', token: "algNone", body: message("tools/list"), answer: unauthorized(/signing algorithm is not accepted/) },
  { what: "a token for another audience", token: "wrongAudience", body: message("tools/list"), answer: unauthorized(/audience \(aud\)/) },
  { what: "a token from another issuer", token: "wrongIssuer", body: message("tools/list"), answer: unauthorized(/issuer \(iss\)/) },
  { what: "a token not valid yet", token: "notYetValid", body: message("tools/list"), answer: unauthorized(/not valid yet/) },

  // HTTP-level mistakes.
  { what: "a foreign Host header (DNS rebinding)", headers: { host: "evil.example:80" }, body: message("tools/list"), answer: { status: 403, code: -32600, message: /^Forbidden: Host header "evil\.example:80" is not allowed/ } },
  { what: "a foreign Origin", headers: { origin: "https://evil.example" }, body: message("tools/list"), answer: { status: 403, code: -32600, message: /^Forbidden: Origin "https:\/\/evil\.example" is not allowed/ } },
  { what: "an unknown session id", headers: { "mcp-session-id": "00000000-0000-0000-0000-000000000000" }, body: message("tools/list"), answer: { status: 404, code: -32600, message: /^Session not found/ } },
  { what: "no session id on a request other than initialize", noSession: true, body: message("tools/list"), answer: { status: 400, code: -32600, message: /^Bad request: no Mcp-Session-Id header/ } },
  { what: "a Content-Type other than JSON", headers: { "content-type": "text/plain" }, body: message("tools/list"), answer: { status: 415, code: -32000, message: /^Unsupported Media Type/ } },
  { what: "an Accept header without text/event-stream", headers: { accept: "application/json" }, body: message("tools/list"), answer: { status: 406, code: -32000, message: /^Not Acceptable/ } },
  { what: "an unsupported protocol version header", headers: { "mcp-protocol-version": "1999-01-01" }, body: message("tools/list"), answer: { status: 400, code: -32000, message: /Unsupported protocol version: 1999-01-01/ } },
  { what: "a path that is not the endpoint", path: "/admin", method: "GET", answer: { status: 404, code: -32600, message: /^Not found: \/admin; the MCP endpoint is \/mcp$/ } },
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A raw request with any headers (fetch cannot set Host or a false Content-Length). */
function send(base: string, path: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
        req.destroy();
      });
      res.on("error", reject);
    });
    // The server may answer 413 and close before it read a large body: that answer is what counts.
    req.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
    // A Content-Length that promises more than is sent: the request stays open, the answer must not wait for it.
    if (body !== undefined && headers["content-length"] !== undefined && Number(headers["content-length"]) !== Buffer.byteLength(body)) {
      req.write(body);
      return;
    }
    req.end(body);
  });
}

/** The JSON-RPC message of an answer: the JSON body, or the first event of an SSE stream. */
function rpcOf(answer: Answer): { error?: { code: number; message: string }; result?: unknown } | undefined {
  if (answer.text === "") return undefined;
  const data = String(answer.headers["content-type"]).includes("text/event-stream")
    ? answer.text.split("\n").find((line) => line.startsWith("data: "))?.slice(6)
    : answer.text;
  return data === undefined ? undefined : JSON.parse(data);
}

describe("the bad-input corpus against the full production stack", () => {
  let dir: string;
  let server: McpServer;
  let base: string;
  let good: Client;
  let sessionId: string;
  const tokens = {} as Record<TokenName, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lantern-corpus-"));
    ({ server } = createProductionServer({
      auditPath: join(dir, "audit.jsonl"),
      auditSecret: AUDIT_SECRET,
      jwtSecret: JWT_SECRET,
      durability: "flush",
      logTransports: [new winston.transports.Stream({ stream: new PassThrough().resume() })],
    }));
    const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
    base = `http://127.0.0.1:${running.port}`;
    const claims = { secret: JWT_SECRET, clientId: "corpus", issuer: "lantern-dev", audience: "inventory-api", scopes: ["inventory:read", "inventory:write"] };
    tokens.good = await tokenFor("corpus");
    tokens.expired = await createToken({ ...claims, expiresIn: -60 });
    tokens.wrongSignature = await createToken({ ...claims, secret: "another-secret-of-at-least-32-bytes-long!!" });
    tokens.wrongAudience = await createToken({ ...claims, audience: "billing-api" });
    tokens.wrongIssuer = await createToken({ ...claims, issuer: "https://evil.example" });
    tokens.notYetValid = await createToken({ ...claims, notBefore: 3600 });
    tokens.malformed = "not.a.jwt";
    const payload = tokens.good.split(".")[1];
    tokens.algNone = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${payload}.`;

    ({ client: good } = await connectClient(running.url!, tokens.good, "good-client"));
    // The raw session the corpus sends on.
    const init = await send(base, "/mcp", "POST", sessionHeaders(undefined), message("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "corpus", version: "1" } }));
    sessionId = String(init.headers["mcp-session-id"]);
    await send(base, "/mcp", "POST", sessionHeaders(sessionId), JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  });

  afterAll(async () => {
    await good?.close();
    await server?.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  function sessionHeaders(session: string | undefined, token: string | null = tokens.good): Record<string, string> {
    return {
      host: new URL(base).host,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
      ...(session ? { "mcp-session-id": session } : {}),
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
    };
  }

  it("has at least 50 cases", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
    expect(new Set(CORPUS.map((c) => c.what)).size).toBe(CORPUS.length);
  });

  it.each(CORPUS.map((c) => [c.what, c] as const))("%s", async (_what, input) => {
    const token = input.token === undefined ? tokens.good : input.token === null ? null : tokens[input.token];
    const headers = sessionHeaders(input.noSession ? undefined : sessionId, token);
    for (const [name, value] of Object.entries(input.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const body = typeof input.body === "function" ? input.body() : input.body;
    const answer = await send(base, input.path ?? "/mcp", input.method ?? "POST", headers, body);

    expect(answer.status).toBe(input.answer.status);
    const rpc = rpcOf(answer);
    if (input.answer.code !== undefined) {
      expect(rpc?.error?.code).toBe(input.answer.code);
      expect(rpc?.error?.message).toMatch(input.answer.message!);
      // Answers never echo a token.
      for (const t of Object.values(tokens)) for (const part of [t, ...t.split(".")]) if (part.length > 20) expect(answer.text).not.toContain(part);
    }
    if (input.answer.result) expect(rpc?.result).toBeDefined();
    if (input.answer.status === 401) expect(String(answer.headers["www-authenticate"])).toMatch(/^Bearer realm="inventory-api"/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();

    // The server keeps serving: the next good call, on its own session and on the corpus's session.
    const next = (await good.callTool({ name: "find_items", arguments: { query: "lamp" } })) as CallToolResult;
    expect((next.structuredContent as { items: unknown[] }).items).toHaveLength(2);
    const onSession = rpcOf(await send(base, "/mcp", "POST", sessionHeaders(sessionId), message("ping")));
    expect(onSession).toMatchObject({ result: {} });
  });

  it("audited every tool call the corpus made, refusals included, in a chain that verifies", async () => {
    const health = (await (await fetch(`${base}/healthz`, { headers: { host: new URL(base).host } })).json()) as { inFlight: number };
    expect(health.inFlight).toBe(0);
    const entries = readAudit(join(dir, "audit.jsonl"));
    const deep = entries.find((e) => e.session_id === sessionId && e.request_id === "10")!;
    expect(deep).toMatchObject({ tool: "find_items", status: "error", error: { type: "-32602" } });
    expect(JSON.stringify(deep.args)).toContain("[TOO DEEP]");
    // The server still runs: its head may lag the last entries (live).
    const verification = await verifyAuditLog(join(dir, "audit.jsonl"), { secret: AUDIT_SECRET, live: true });
    expect(verification.problems).toEqual([]);
    expect(verification.ok).toBe(true);
  });
});
