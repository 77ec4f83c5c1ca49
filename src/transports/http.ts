import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { MALFORMED_HEADER_REASON } from "../auth/auth-middleware.js";
import { LanternError, LanternErrorCode, describeError } from "../core/errors.js";
import type { CallerIdentity } from "../core/call-context.js";
import type { RouteHandler } from "../core/server-setup.js";
import type { SessionHost } from "../core/session-host.js";

/** Options of the Streamable HTTP transport. */
export interface HttpOptions {
  /** Interface to bind; loopback by default. Binding elsewhere needs `allowedHosts`. */
  host?: string;
  /** Port; 0 picks a free one (see the returned `url`). Default 3000. */
  port?: number;
  /** Path of the MCP endpoint. Default `/mcp`. */
  path?: string;
  /** One transport per request, no `Mcp-Session-Id` (horizontal scaling without sticky sessions). */
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
  /** Most concurrent sessions (HTTP 503 past it). Default 1,000. */
  maxSessions?: number;
  /** Sessions idle longer than this are closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Answer POSTs with plain JSON instead of an SSE stream, when the client accepts both. */
  jsonResponse?: boolean;
  /** Stores SSE events so clients can resume with `Last-Event-ID`. */
  eventStore?: EventStore;
  /** SSE `retry` hint sent to clients, in ms. */
  retryIntervalMs?: number;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

interface LiveSession {
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
  /** The client that opened the session (with an authenticator): only it may use the session id. */
  owner: string | undefined;
}

const jsonRpcError = (res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void => {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
};

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

/**
 * Streamable HTTP on node:http: the MCP endpoint (stateful sessions by default), `GET /healthz`,
 * routes other parts add (`/metrics`), a Host/Origin allow-list, a body-size limit, and bearer
 * authentication before any session is created.
 */
export class HttpTransportHost {
  private readonly http: HttpServer;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly options: Required<Pick<HttpOptions, "host" | "port" | "path" | "maxBodyBytes" | "maxSessions" | "sessionIdleMs">> & HttpOptions;
  private allowedHosts: Set<string> | "*" = new Set();
  private allowedOrigins: Set<string> | "*" = new Set();
  private sweeper: NodeJS.Timeout | undefined;
  private accepting = true;
  /** POSTs whose response has not finished yet (SSE GET streams are not counted: they never end on their own). */
  private activePosts = 0;
  private postsDrained: (() => void) | undefined;

  constructor(
    private readonly host: SessionHost,
    private readonly routes: ReadonlyMap<string, RouteHandler>,
    options: HttpOptions = {},
  ) {
    this.options = { host: "127.0.0.1", port: 3000, path: "/mcp", maxBodyBytes: 1024 * 1024, maxSessions: 1000, sessionIdleMs: 30 * 60_000, ...options };
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        process.stderr.write(`[lantern] HTTP request failed: ${describeError(error)}\n`);
        jsonRpcError(res, 500, LanternErrorCode.InternalError, "Internal server error");
      });
    });
  }

  /** Starts listening; resolves to the endpoint's URL. */
  async start(): Promise<{ url: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const port = (this.http.address() as AddressInfo).port;
    const isLoopback = ["127.0.0.1", "localhost", "::1"].includes(this.options.host);
    if (this.options.allowedHosts === "*") this.allowedHosts = "*";
    else if (this.options.allowedHosts) this.allowedHosts = new Set(this.options.allowedHosts.map((h) => h.toLowerCase()));
    else if (isLoopback) this.allowedHosts = new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`));
    else throw new Error(`Binding to ${this.options.host} needs allowedHosts (the Host header values clients use): without it DNS rebinding could reach the server`);
    if (this.options.allowedOrigins === "*") this.allowedOrigins = "*";
    else if (this.options.allowedOrigins) this.allowedOrigins = new Set(this.options.allowedOrigins);
    else this.allowedOrigins = new Set(LOOPBACK_NAMES.map((name) => `http://${name}:${port}`));
    this.sweeper = setInterval(() => this.closeIdleSessions(), Math.min(this.options.sessionIdleMs, 60_000));
    this.sweeper.unref();
    const shownHost = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    return { url: `http://${shownHost}:${port}${this.options.path}`, port };
  }

  /** Refuses new sessions and requests from now on (in-flight ones finish). */
  stopAccepting(): void {
    this.accepting = false;
    this.http.close();
  }

  /** Waits until every POST has been answered, or `graceMs` passed. */
  async drain(graceMs: number): Promise<void> {
    if (this.activePosts === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      timer.unref();
      this.postsDrained = () => { clearTimeout(timer); resolve(); };
    });
  }

  /** Closes every session and the listening socket. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.sessions.values()].map((s) => s.transport.close()));
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** Sessions currently open. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      res.writeHead(this.accepting ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: this.accepting ? "ok" : "shutting_down", sessions: this.sessions.size, inFlight: this.host.activeCalls }));
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
    if (!this.accepting) {
      jsonRpcError(res, 503, LanternErrorCode.InternalError, "The server is shutting down");
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
        jsonRpcError(res, 401, LanternErrorCode.Unauthorized, message, { "www-authenticate": authenticator.challenge(message) });
        return;
      }
      if (identity) {
        (req as IncomingMessage & { auth?: unknown }).auth = {
          token: "",
          clientId: identity.clientId,
          scopes: [...identity.scopes],
          extra: { identity },
        };
      }
    }

    // The caller's address reaches CallContext.remoteAddress through the auth info (rate limits key anonymous callers by it).
    const auth = ((req as IncomingMessage & { auth?: { token: string; clientId: string; scopes: string[]; extra?: Record<string, unknown> } }).auth ??= { token: "", clientId: "", scopes: [] });
    auth.extra = { ...auth.extra, remoteAddress: req.socket.remoteAddress };

    let body: unknown;
    if (req.method === "POST") {
      try {
        const text = await readBody(req, this.options.maxBodyBytes);
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

    if (this.options.stateless) {
      const transport = this.newTransport(undefined);
      res.on("close", () => void transport.close());
      await this.host.connect(transport, { transport: "http" });
      await transport.handleRequest(req, res, body);
      return;
    }

    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const live = this.sessions.get(sessionId);
      if (!live) {
        jsonRpcError(res, 404, LanternErrorCode.InvalidRequest, "Session not found: it expired or was closed; initialize a new session");
        return;
      }
      if (live.owner !== identity?.clientId) {
        jsonRpcError(res, 403, LanternErrorCode.Forbidden, "Forbidden: this session was opened by another client; initialize a session of your own");
        return;
      }
      live.lastSeen = Date.now();
      await live.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== "POST" || !isInitialize(body)) {
      jsonRpcError(res, 400, LanternErrorCode.InvalidRequest, "Bad request: no Mcp-Session-Id header; the first request of a session must be initialize");
      return;
    }
    if (this.sessions.size >= this.options.maxSessions) {
      jsonRpcError(res, 503, LanternErrorCode.InternalError, `Too many sessions (maxSessions = ${this.options.maxSessions}); close idle sessions or raise the limit`);
      return;
    }
    const transport = this.newTransport(randomUUID, (id) => {
      this.sessions.set(id, { transport, lastSeen: Date.now(), owner: identity?.clientId });
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await this.host.connect(transport, { transport: "http" });
    await transport.handleRequest(req, res, body);
  }

  private newTransport(sessionIdGenerator: (() => string) | undefined, onsessioninitialized?: (id: string) => void): StreamableHTTPServerTransport {
    return new StreamableHTTPServerTransport({
      sessionIdGenerator,
      ...(onsessioninitialized ? { onsessioninitialized } : {}),
      enableJsonResponse: this.options.jsonResponse ?? false,
      ...(this.options.eventStore ? { eventStore: this.options.eventStore } : {}),
      ...(this.options.retryIntervalMs !== undefined ? { retryInterval: this.options.retryIntervalMs } : {}),
    });
  }

  private closeIdleSessions(): void {
    const cutoff = Date.now() - this.options.sessionIdleMs;
    for (const [id, live] of this.sessions) {
      if (live.lastSeen < cutoff) {
        this.sessions.delete(id);
        void live.transport.close();
      }
    }
  }
}

const isInitialize = (body: unknown): boolean =>
  Array.isArray(body) ? body.some((m) => isInitializeRequest(m as JSONRPCMessage)) : isInitializeRequest(body as JSONRPCMessage);
