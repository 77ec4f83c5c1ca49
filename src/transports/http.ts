import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createMcpHandler,
  isInitializeRequest,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJsonContentType,
  isLegacyRequest,
  legacyStatelessFallback,
  type AuthInfo,
  type EventStore,
  type JSONRPCMessage,
  type LegacyHttpHandler,
  type McpHttpHandler,
  type RequestId,
  type Server as SdkServer,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { MALFORMED_HEADER_REASON } from "../auth/auth-middleware.js";
import { insufficientScopeRefusal, requirementsOf, type RequirementLookup } from "../auth/insufficient-scope.js";
import { writeStderrEvent } from "../core/stderr-report.js";
import type { CallerIdentity } from "../core/call-context.js";
import { LanternError, LanternErrorCode, describeError } from "../core/errors.js";
import type { ProtocolHost } from "../core/protocol-host.js";
import type { RouteHandler } from "../core/server-setup.js";

/** Options of the Streamable HTTP transport. */
export interface HttpOptions {
  /** Interface to bind; loopback by default. Binding elsewhere needs `allowedHosts`. */
  host?: string;
  /** Port; 0 picks a free one (see the returned `url`). Default 3000. */
  port?: number;
  /** Path of the MCP endpoint. Default `/mcp`. */
  path?: string;
  /**
   * 2025-era clients without sessions: each request is served on its own (no `Mcp-Session-Id`).
   * 2026-07-28 requests are always served per request, whatever this says.
   */
  stateless?: boolean;
  /**
   * `Host` header values accepted (DNS-rebinding protection). Default: the loopback names with the
   * bound port. `"*"` turns the check off (only behind a proxy that checks it).
   */
  allowedHosts?: string[] | "*";
  /** `Origin` header values accepted when a browser sends one. Default: the loopback origins with the bound port. */
  allowedOrigins?: string[] | "*";
  /** Largest request body accepted, in bytes (HTTP 413 past it). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most concurrent 2025-era sessions (HTTP 503 past it). Default 1,000. */
  maxSessions?: number;
  /**
   * Most 2025-era sessions one client (its identity, else its address) may hold; opening one more
   * closes its least recently used session. Default 32.
   */
  maxSessionsPerClient?: number;
  /** 2025-era sessions idle longer than this are closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Answer POSTs with plain JSON instead of an SSE stream (notifications sent during a call are then dropped). */
  jsonResponse?: boolean;
  /** Stores SSE events so 2025-era clients can resume with `Last-Event-ID`. */
  eventStore?: EventStore;
  /** SSE `retry` hint sent to clients, in ms. */
  retryIntervalMs?: number;
  /** Longest time a client may take to send a whole request (headers and body), in ms. Default 30,000. */
  requestTimeoutMs?: number;
  /** Longest time a client may take to send the request headers, in ms. Default 10,000. */
  headersTimeoutMs?: number;
  /** Most TCP connections open at once (more are refused). Default 1,024. */
  maxConnections?: number;
  /**
   * On shutdown, how long the port stays open after `/healthz` turned 503, answering every new MCP
   * request 503 with `Retry-After` and `Connection: close` (`/healthz` and routes such as `/metrics`
   * keep answering), so a load balancer's health check takes the server out before its connections
   * close (set it to the balancer's check interval times its fall count, plus a margin). Runs
   * alongside the wait for in-flight calls. Default 0.
   */
  drainDelayMs?: number;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

const DEFAULTS = {
  host: "127.0.0.1",
  port: 3000,
  path: "/mcp",
  maxBodyBytes: 1024 * 1024,
  maxSessions: 1000,
  maxSessionsPerClient: 32,
  sessionIdleMs: 30 * 60_000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxConnections: 1024,
  drainDelayMs: 0,
};

/**
 * Readiness, as `/healthz` reports it: `starting` until the server is fully up, `ready`, then
 * `draining` from the start of its shutdown. Only a ready server runs MCP requests; the others are
 * refused with 503 before anything runs, so a load balancer may safely send them elsewhere.
 */
type Readiness = "starting" | "ready" | "draining";

/** Seconds a refused client (or load balancer) should wait before trying again. */
const NOT_READY_RETRY_AFTER = "1";

interface LiveSession {
  sdk: SdkServer;
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeen: number;
  /** Who opened the session: only the same caller (issuer, subject, client id) may use its id. */
  owner: string;
  /** Requests in flight that came alone in their POST, by id: a cancel ends that POST's response. */
  open: Map<RequestId, ServerResponse>;
}

const jsonRpcError = (res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}, id: unknown = null): void => {
  if (res.headersSent) {
    res.end();
    return;
  }
  // A request refused before its body was read (401, 403, 413, ...) gets no more of our time.
  if (status >= 400) headers = { ...headers, connection: "close" };
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id }));
};

/** The JSON-RPC code the SDK's transport answers its HTTP-level refusals with. */
const TRANSPORT_ERROR = -32000;

/** A POST's body as parsed, and its text as received (both undefined for GET and DELETE). */
interface Posted {
  body: unknown;
  text: string | undefined;
}

/** Thrown while reading a body that is too large. */
class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const bearerToken = (req: IncomingMessage): { token?: string; malformed?: boolean } => {
  const header = req.headers.authorization;
  if (header === undefined) return {};
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match ? { token: match[1] } : { malformed: true };
};

/** Who a session belongs to: the full identity, or (without authentication) nobody in particular. */
const ownerOf = (identity: CallerIdentity | undefined): string =>
  identity ? `${identity.issuer ?? ""}\u0000${identity.subject ?? ""}\u0000${identity.clientId}` : "";

/** How many sessions a client holds is counted by its identity, else by its address. */
const clientKeyOf = (identity: CallerIdentity | undefined, req: IncomingMessage): string =>
  identity ? `id:${ownerOf(identity)}` : `addr:${req.socket.remoteAddress ?? "unknown"}`;

const countHeader = (req: IncomingMessage, name: string): number => {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) count++;
  return count;
};

/**
 * The web-standard view of a request whose body was already read: its text goes along as received
 * (re-serializing the parsed body could overflow the stack on deep nesting, and costs a copy).
 */
function webRequest(req: IncomingMessage, text: string | undefined, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { method: req.method, headers, body: text, ...(signal ? { signal } : {}) });
}

/** Aborts when the client hangs up before its response was finished. */
function hangUpSignal(res: ServerResponse): AbortSignal {
  const aborted = new AbortController();
  res.once("close", () => { if (!res.writableFinished) aborted.abort(); });
  return aborted.signal;
}

/** Writes a web-standard `Response` to a Node response, streaming its body (SSE included). */
async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => { headers[key] = value; });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => { reader.cancel().catch(() => {}); };
  res.once("close", cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!res.write(value)) await once(res, "drain");
    }
  } catch {
    // The client went away mid-stream: nothing left to deliver.
  } finally {
    res.off("close", cancel);
    res.end();
  }
}

/**
 * Streamable HTTP on node:http, both protocol eras on one endpoint: MCP 2026-07-28 requests are
 * served per request (any replica can answer any request); 2025-era clients get stateful sessions
 * (or per-request serving with `stateless: true`). Also `GET /healthz`, routes other parts add
 * (`/metrics`), a Host/Origin allow-list, a body-size limit, and bearer authentication before
 * anything else is created.
 */
export class HttpTransportHost {
  private readonly http: HttpServer;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly sessionsByClient = new Map<string, Set<string>>();
  private readonly options: typeof DEFAULTS & HttpOptions;
  private readonly modern: McpHttpHandler;
  private readonly legacyStateless: LegacyHttpHandler;
  private readonly removeNotifier: () => void;
  /** What each call requires (the registry is the server's for its whole life: looked up once, not per request). */
  private readonly requirementOf: RequirementLookup;
  private allowedHosts: Set<string> | "*" = new Set();
  private allowedOrigins: Set<string> | "*" = new Set();
  private sweeper: NodeJS.Timeout | undefined;
  private readiness: Readiness = "starting";
  private drainStartedAt = 0;
  /** POSTs whose response has not finished yet (SSE GET streams are not counted: they never end on their own). */
  private activePosts = 0;
  private postsDrained: (() => void) | undefined;

  constructor(
    private readonly host: ProtocolHost,
    private readonly routes: ReadonlyMap<string, RouteHandler>,
    options: HttpOptions = {},
    /** The server's replica id, which `/healthz` reports. */
    private readonly replicaId?: string,
  ) {
    this.options = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options)) {
      // `undefined` means "the default", never "no limit".
      if (value !== undefined) (this.options as unknown as Record<string, unknown>)[key] = value;
    }
    const onerror = (error: Error) => writeStderrEvent("warn", "http_protocol_error", { message: error.message });
    this.modern = createMcpHandler((request) => host.createServer({ era: request.era, transport: "http", perRequest: true }), {
      legacy: "reject",
      responseMode: this.options.jsonResponse ? "json" : "auto",
      maxRequestBodySize: this.options.maxBodyBytes,
      onerror,
    });
    this.legacyStateless = legacyStatelessFallback(
      () => host.createServer({ era: "legacy", transport: "http", perRequest: true }),
      onerror,
      { maxRequestBodySize: this.options.maxBodyBytes },
    );
    this.removeNotifier = host.addNotifier(this.modern.notify);
    this.requirementOf = requirementsOf(host.registry);
    this.http = createServer({ requestTimeout: this.options.requestTimeoutMs, headersTimeout: this.options.headersTimeoutMs }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        writeStderrEvent("error", "http_request_failed", { message: describeError(error) });
        jsonRpcError(res, 500, LanternErrorCode.InternalError, "Internal server error");
      });
    });
  }

  /** Starts listening; resolves to the endpoint's URL. */
  async start(): Promise<{ url: string; port: number }> {
    const isLoopback = ["127.0.0.1", "localhost", "::1"].includes(this.options.host);
    // Refused before binding: a port opened and then refused would stay open.
    if (!this.options.allowedHosts && !isLoopback) {
      throw new Error(`Binding to ${this.options.host} needs allowedHosts (the Host header values clients use): without it DNS rebinding could reach the server`);
    }
    this.http.maxConnections = this.options.maxConnections;
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const port = (this.http.address() as AddressInfo).port;
    if (this.options.allowedHosts === "*") this.allowedHosts = "*";
    else if (this.options.allowedHosts) this.allowedHosts = new Set(this.options.allowedHosts.map((h) => h.toLowerCase()));
    else this.allowedHosts = new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`));
    if (this.options.allowedOrigins === "*") this.allowedOrigins = "*";
    else if (this.options.allowedOrigins) this.allowedOrigins = new Set(this.options.allowedOrigins);
    else this.allowedOrigins = new Set(LOOPBACK_NAMES.map((name) => `http://${name}:${port}`));
    this.sweeper = setInterval(() => this.closeIdleSessions(), Math.max(1000, Math.min(this.options.sessionIdleMs, 60_000)));
    this.sweeper.unref();
    const shownHost = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    return { url: `http://${shownHost}:${port}${this.options.path}`, port };
  }

  /** Starts running MCP requests; until then they are refused and `/healthz` says "starting". */
  markReady(): void {
    if (this.readiness === "starting") this.readiness = "ready";
  }

  /**
   * Refuses new requests from now on (in-flight ones finish); `/healthz` says "draining". The port
   * stays open until `close()`, answering 503 with `Retry-After`, so a load balancer retries elsewhere.
   */
  stopAccepting(): void {
    if (this.readiness === "draining") return;
    this.readiness = "draining";
    this.drainStartedAt = Date.now();
  }

  /** Waits until every POST has been answered (at most `graceMs`), and until `drainDelayMs` has passed. */
  async drain(graceMs: number): Promise<void> {
    if (this.activePosts > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        // Not unref'd: the shutdown waits here (bounded by graceMs) before its hooks run.
        this.postsDrained = () => { clearTimeout(timer); resolve(); };
      });
    }
    const delayLeft = this.drainStartedAt + this.options.drainDelayMs - Date.now();
    if (delayLeft > 0) await new Promise((resolve) => setTimeout(resolve, delayLeft));
  }

  /** Closes every session, the 2026-era handler and the listening socket. */
  async close(): Promise<void> {
    this.stopAccepting();
    clearInterval(this.sweeper);
    this.removeNotifier();
    await Promise.allSettled([...this.sessions.values()].map((s) => s.sdk.close()));
    this.sessions.clear();
    this.sessionsByClient.clear();
    await this.modern.close().catch(() => {});
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** 2025-era sessions currently open. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (countHeader(req, "host") > 1) {
      jsonRpcError(res, 400, LanternErrorCode.InvalidRequest, "Bad request: more than one Host header");
      return;
    }
    const host = (req.headers.host ?? "").toLowerCase();
    if (this.allowedHosts !== "*" && !this.allowedHosts.has(host)) {
      jsonRpcError(res, 403, LanternErrorCode.InvalidRequest, `Forbidden: Host header "${host}" is not allowed (DNS-rebinding protection); add it to allowedHosts`);
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && this.allowedOrigins !== "*" && !this.allowedOrigins.has(origin)) {
      jsonRpcError(res, 403, LanternErrorCode.InvalidRequest, `Forbidden: Origin "${origin}" is not allowed; add it to allowedOrigins`);
      return;
    }
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/healthz" && req.method === "GET") {
      const ready = this.readiness === "ready";
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ready ? "ok" : this.readiness, replica: this.replicaId, sessions: this.sessions.size, connections: this.host.connectionCount, inFlight: this.host.activeCalls }));
      return;
    }
    const route = this.routes.get(`${req.method} ${path}`);
    if (route) {
      await route(req, res);
      return;
    }
    if (path !== this.options.path) {
      jsonRpcError(res, 404, LanternErrorCode.InvalidRequest, `Not found: ${path}; the MCP endpoint is ${this.options.path}`);
      return;
    }
    if (this.readiness !== "ready") {
      // Nothing has run: a load balancer may retry this request on another server.
      const why = this.readiness === "starting" ? "The server is starting" : "The server is shutting down";
      jsonRpcError(res, 503, LanternErrorCode.InternalError, `${why}; retry shortly (on another replica, behind a load balancer)`, { "retry-after": NOT_READY_RETRY_AFTER });
      req.resume();
      return;
    }
    if (req.method === "POST") {
      this.activePosts++;
      res.once("close", () => {
        if (--this.activePosts === 0 && this.postsDrained) {
          this.postsDrained();
          this.postsDrained = undefined;
        }
      });
    }
    await this.handleMcp(req, res);
  }

  private async handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authenticator = this.host.authenticator;
    let identity: CallerIdentity | undefined;
    if (authenticator) {
      const { token, malformed } = bearerToken(req);
      try {
        if (malformed) throw new LanternError(LanternErrorCode.Unauthorized, MALFORMED_HEADER_REASON, undefined, "refused");
        identity = await authenticator.authenticate(token);
      } catch (error) {
        const message = error instanceof LanternError ? error.message : "Unauthorized: the token could not be verified";
        this.host.reportRefusal({ reason: "unauthorized", transport: "http", detail: message });
        jsonRpcError(res, 401, LanternErrorCode.Unauthorized, message, { "www-authenticate": authenticator.challenge(message) });
        return;
      }
    }
    const remoteAddress = req.socket.remoteAddress;
    // The caller's identity and address reach CallContext through the request's auth info.
    const authInfo: AuthInfo = identity
      ? { token: "", clientId: identity.clientId, scopes: [...identity.scopes], extra: { identity, remoteAddress } }
      : { token: "", clientId: "", scopes: [], extra: { remoteAddress } };
    const gate = this.host.requestGate;
    if (gate) {
      const verdict = await gate(identity, remoteAddress);
      if (!verdict.allowed) {
        const error = verdict.error ?? { code: LanternErrorCode.RateLimited, message: "Too many requests" };
        res.writeHead(429, { "content-type": "application/json", "retry-after": String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))) });
        res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) }, id: null }));
        req.resume();
        return;
      }
    }

    let body: unknown;
    let text: string | undefined;
    if (req.method === "POST") {
      try {
        text = await readBody(req, this.options.maxBodyBytes);
        body = JSON.parse(text);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          jsonRpcError(res, 413, LanternErrorCode.InvalidRequest, `Request body too large: the limit is ${this.options.maxBodyBytes} bytes (maxBodyBytes)`);
        } else {
          jsonRpcError(res, 400, LanternErrorCode.ParseError, `Parse error: the body is not valid JSON (${error instanceof Error ? error.message : "unreadable"})`);
        }
        return;
      }
    }

    // OAuth step-up (MCP authorization): a call needing scopes the token lacks gets HTTP 403
    // `insufficient_scope` here; it still runs through its chain, refused, so that it is recorded.
    const scopeRefusal = authenticator && insufficientScopeRefusal(body, identity, this.requirementOf, authenticator);
    if (scopeRefusal) {
      const sessionId = req.headers["mcp-session-id"];
      await this.host.recordRefused(scopeRefusal.calls, identity, "http", typeof sessionId === "string" ? sessionId : undefined);
      res.writeHead(scopeRefusal.status, { "content-type": "application/json", "www-authenticate": scopeRefusal.wwwAuthenticate });
      res.end(JSON.stringify(scopeRefusal.body));
      return;
    }

    // A request on a 2025 session goes straight to it; anything else may be 2026-era.
    if (req.headers["mcp-session-id"] === undefined || this.options.stateless) {
      const request = webRequest(req, text, hangUpSignal(res));
      if (req.method === "POST" && !(await isLegacyRequest(request, body))) {
        await sendResponse(res, await this.modern.fetch(request, { authInfo, parsedBody: body }));
        return;
      }
      if (this.options.stateless) {
        await sendResponse(res, await this.legacyStateless(request, { authInfo, parsedBody: body }));
        return;
      }
    }
    await this.handleSession(req, res, { body, text }, identity, authInfo);
  }

  /** A 2025-era request: to its session, or (initialize) to a new one. */
  private async handleSession(req: IncomingMessage, res: ServerResponse, posted: Posted, identity: CallerIdentity | undefined, authInfo: AuthInfo): Promise<void> {
    const { body } = posted;
    const sessionId = req.headers["mcp-session-id"];
    const owner = ownerOf(identity);
    if (typeof sessionId === "string") {
      const live = this.sessions.get(sessionId);
      if (!live) {
        jsonRpcError(res, 404, LanternErrorCode.InvalidRequest, "Session not found: it expired or was closed; initialize a new session");
        return;
      }
      if (live.owner !== owner) {
        jsonRpcError(res, 403, LanternErrorCode.Forbidden, "Forbidden: this session was opened by another caller; initialize a session of your own");
        return;
      }
      live.lastSeen = Date.now();
      await this.serveSession(live, req, res, posted, authInfo);
      return;
    }
    if (req.method !== "POST" || !isInitialize(body)) {
      jsonRpcError(res, 400, LanternErrorCode.InvalidRequest, "Bad request: no Mcp-Session-Id header; the first request of a session must be initialize");
      return;
    }
    if (Array.isArray(body)) {
      jsonRpcError(res, 400, LanternErrorCode.InvalidRequest, "Bad request: initialize must be sent on its own, not in a batch");
      return;
    }
    // What the transport would refuse anyway is refused before anything is made for it.
    const accept = req.headers.accept ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      jsonRpcError(res, 406, TRANSPORT_ERROR, "Not Acceptable: the Accept header must list both application/json and text/event-stream");
      return;
    }
    if (!isJsonContentType(req.headers["content-type"] ?? null)) {
      jsonRpcError(res, 415, TRANSPORT_ERROR, "Unsupported Media Type: Content-Type must be application/json");
      return;
    }
    const clientKey = clientKeyOf(identity, req);
    this.makeRoomFor(clientKey);
    if (this.sessions.size >= this.options.maxSessions) {
      jsonRpcError(res, 503, LanternErrorCode.InternalError, `Too many sessions (maxSessions = ${this.options.maxSessions}); close idle sessions or raise the limit`);
      return;
    }
    const sdk = this.host.createServer({ era: "legacy", transport: "http", identity: undefined, perRequest: false });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        this.sessions.set(id, live);
        let mine = this.sessionsByClient.get(clientKey);
        if (!mine) this.sessionsByClient.set(clientKey, (mine = new Set()));
        mine.add(id);
      },
      enableJsonResponse: this.options.jsonResponse ?? false,
      ...(this.options.eventStore ? { eventStore: this.options.eventStore } : {}),
      ...(this.options.retryIntervalMs !== undefined ? { retryInterval: this.options.retryIntervalMs } : {}),
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (!id) return;
      this.sessions.delete(id);
      const mine = this.sessionsByClient.get(clientKey);
      mine?.delete(id);
      if (mine?.size === 0) this.sessionsByClient.delete(clientKey);
    };
    const live: LiveSession = { sdk, transport, lastSeen: Date.now(), owner, open: new Map() };
    await sdk.connect(transport);
    try {
      await this.serveSession(live, req, res, posted, authInfo);
    } finally {
      // An initialize that was refused (or failed) opened no session: free what was made for it.
      if (!transport.sessionId || !this.sessions.has(transport.sessionId)) await sdk.close();
    }
  }

  /**
   * Serves one request of a 2025-era session. A `notifications/cancelled` also ends the response of
   * the request it cancels (the SDK stops the handler and, as the spec asks, sends no answer; without
   * this the cancelled POST's stream would stay open until the client hung up).
   */
  private async serveSession(live: LiveSession, req: IncomingMessage, res: ServerResponse, { body, text }: Posted, authInfo: AuthInfo): Promise<void> {
    const solo = !Array.isArray(body) && isJSONRPCRequest(body as JSONRPCMessage) ? (body as { id: RequestId }).id : undefined;
    if (solo !== undefined) {
      live.open.set(solo, res);
      res.once("close", () => { if (live.open.get(solo) === res) live.open.delete(solo); });
    }
    // No hang-up signal: a session's transport does not read one; a client that goes away cancels
    // its response stream (sendResponse), which is what frees it.
    const request = webRequest(req, text);
    const answer = await live.transport.handleRequest(request, { authInfo, parsedBody: body });
    for (const message of Array.isArray(body) ? body : [body]) {
      if (!isJSONRPCNotification(message as JSONRPCMessage) || (message as { method: string }).method !== "notifications/cancelled") continue;
      const cancelled = (message as { params?: { requestId?: RequestId } }).params?.requestId;
      const response = cancelled === undefined ? undefined : live.open.get(cancelled);
      if (cancelled === undefined || !response) continue;
      live.open.delete(cancelled);
      live.transport.closeSSEStream(cancelled);
      // A JSON (not SSE) response has no stream to close: answer the abandoned POST with no content.
      if (!response.headersSent) {
        response.writeHead(204, { connection: "close" });
        response.end();
      }
    }
    await sendResponse(res, answer);
  }

  /** Keeps one client below its session cap by closing its least recently used session. */
  private makeRoomFor(clientKey: string): void {
    const mine = this.sessionsByClient.get(clientKey);
    if (!mine || mine.size < this.options.maxSessionsPerClient) return;
    let oldest: [string, LiveSession] | undefined;
    for (const id of mine) {
      const live = this.sessions.get(id);
      if (live && (!oldest || live.lastSeen < oldest[1].lastSeen)) oldest = [id, live];
    }
    if (!oldest) return;
    this.sessions.delete(oldest[0]);
    mine.delete(oldest[0]);
    void oldest[1].sdk.close();
  }

  private closeIdleSessions(): void {
    const cutoff = Date.now() - this.options.sessionIdleMs;
    for (const [id, live] of this.sessions) {
      if (live.lastSeen < cutoff) {
        this.sessions.delete(id);
        void live.sdk.close();
      }
    }
  }
}

const isInitialize = (body: unknown): boolean =>
  Array.isArray(body) ? body.some((m) => isInitializeRequest(m as JSONRPCMessage)) : isInitializeRequest(body as JSONRPCMessage);
