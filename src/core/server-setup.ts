import type { IncomingMessage, ServerResponse } from "node:http";
import type { LoggingLevel } from "@modelcontextprotocol/server";
import type { CallContext, CallerIdentity, SessionInfo } from "./call-context.js";
import type { MemberKind, RateLimitRule, ResourceOptions, ServerInfo } from "./definitions.js";
import type { Middleware } from "./middleware.js";
import type { ResourceHandler, ToolSpec } from "./programmatic.js";
import type { ProviderFactory, ProviderOptions } from "./providers.js";

/** A handler for an extra HTTP route of the Streamable HTTP transport (`/metrics`, ...). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Settles who is calling from the credentials a request carries (HTTP headers, or a token source). */
export interface Authenticator {
  /**
   * Resolves the identity for a bearer token, or throws `UnauthorizedError` with the reason.
   * `token` is undefined when the request carried none.
   */
  authenticate(token: string | undefined): Promise<CallerIdentity | undefined>;
  /** The `WWW-Authenticate` challenge sent with HTTP 401 responses. */
  challenge(reason: string): string;
  /** When true, the tools, resources, templates and prompts lists show each caller only what it may use. */
  readonly hideForbiddenTools?: boolean;
  /**
   * The `WWW-Authenticate` challenge of an HTTP 403 for a call that needs `scopes` the token lacks
   * (`error="insufficient_scope"`, RFC 6750 §3.1). Without it, such calls are refused inside the
   * chain as JSON-RPC errors only.
   */
  scopeChallenge?(scopes: readonly string[], reason: string): string;
}

/** Where an HTTP server listens, once its transport accepts requests. */
export interface ListeningEndpoint {
  transport: "http";
  /** The MCP endpoint, e.g. `http://127.0.0.1:3000/mcp`. */
  url: string;
}

/** One caller's standing against one limit, as last counted on this replica (the dashboard's Agents tab). */
export interface CallerLimitUsage {
  /** `tool:search`, `quota:role:free`, `requests`. */
  limit: string;
  points: number;
  windowMs: number;
  /** Points left in the current window (all of them once the window has ended). */
  remaining: number;
  /** `Date.now()`-based time the window refills. */
  resetsAt: number;
  /** Calls of this caller the limit refused since the server started. */
  refused: number;
}

/** Turns `@RateLimit` rules into steps of the members' chains, all keeping counts in one store. */
export interface ToolLimiter {
  /** The innermost step of the chain of a member limited by `rule`. */
  limitStep(rule: RateLimitRule, member: { kind: MemberKind; name: string }): Middleware;
  /** The key the caller of `ctx` is counted under (one per client id, else per anonymous key). */
  callerKey(identity: CallerIdentity | undefined, ctx?: CallContext): string;
  /** The standing of the caller counted under `key` against each limit it met; undefined when not counted recently (bounded). */
  usageFor(key: string): CallerLimitUsage[] | undefined;
}

/** What a request gate decides for one HTTP request: go on, or refuse (429) with when to retry. */
export interface RequestVerdict {
  allowed: boolean;
  /** 0 when allowed; the wait to announce in `Retry-After` when not. */
  retryAfterMs: number;
  /** The refusal: the JSON-RPC error the 429 carries. */
  error?: { code: number; message: string; data?: unknown };
}

/** Decides, before anything is parsed, whether a caller may make another HTTP request (per-caller request limits). */
export type RequestGate = (identity: CallerIdentity | undefined, remoteAddress: string | undefined) => Promise<RequestVerdict>;

/**
 * A request refused before it reached a chain (so no call's signals record it): bad or missing
 * credentials, or a name the server does not have. `reason` is a short fixed list (safe as a
 * metric label); `name` is what the client asked for (untrusted: never a label).
 */
export interface RefusalEvent {
  reason: "unauthorized" | "unknown_tool" | "unknown_prompt" | "unknown_resource";
  transport: "stdio" | "http" | "memory";
  /** The caller, when it was identified (unknown names); absent for a failed authentication. */
  clientId?: string;
  /** The tool or prompt name, or resource URI, asked for; or the refusal's reason for a failed authentication. */
  detail?: string;
}

/** A message a tool sent with `ServerLogger`, as server-side listeners see it. */
export interface ClientLogRecord {
  level: LoggingLevel;
  data: unknown;
  logger: string | undefined;
  ctx: CallContext;
}

/** What a registered tool looks like to other parts (metrics label allow-lists, the dashboard). */
export interface ToolSummary {
  name: string;
  title?: string;
  description: string;
  scopes: readonly string[];
}

/** A session opening or closing, for parts that track connected clients. */
export interface SessionEvent {
  type: "open" | "close";
  session: SessionInfo;
}

/**
 * What a middleware's `setup(server)` may do when the server is built: the extension points the
 * observability parts use to add routes, resources, injectable values and shutdown hooks.
 */
export interface ServerSetup {
  readonly info: ServerInfo;
  /** This process's name among the replicas of a fleet: read it here, once, and keep it (never per call). */
  readonly replicaId: string;
  /** The tools registered so far (their names are the only tool label values metrics ever use). */
  tools(): readonly ToolSummary[];
  /** Adds a tool (`metrics://server`'s siblings, helpers of other parts). */
  addTool(spec: ToolSpec): void;
  /** Adds a resource, such as `metrics://server`. */
  addResource(uri: string, handler: ResourceHandler, options?: ResourceOptions): void;
  /** Adds an HTTP route to the Streamable HTTP transport (`GET /metrics`). */
  route(method: string, path: string, handler: RouteHandler): void;
  /**
   * Makes a value injectable with `@Inject(token)`: `factory` runs at most once per call, may `get`
   * other tokens, and `dispose` tears its value down after the call.
   */
  provide<T>(token: unknown, factory: ProviderFactory<T>, options?: ProviderOptions<T>): void;
  /** Runs when the server closes, after in-flight calls finished (LIFO). */
  onShutdown(hook: () => void | Promise<void>): void;
  /**
   * Runs once the HTTP transport listens, before it serves the first request, with the endpoint's
   * URL (known only then when the port was 0). Not called for stdio.
   */
  onListen(listener: (endpoint: ListeningEndpoint) => void): void;
  /** Settles identities at the transport, before any middleware runs. */
  setAuthenticator(authenticator: Authenticator): void;
  /** Keeps the counts of every `@RateLimit` (a `QuotaMiddleware` sets its store); one per server. */
  setToolLimiter(limiter: ToolLimiter): void;
  /** Checks every HTTP request per caller before it is parsed (answered 429 when refused); one per server. */
  setRequestGate(gate: RequestGate): void;
  /** Receives every `ServerLogger` message (the structured log records them). */
  onClientLog(listener: (record: ClientLogRecord) => void): void;
  /** Receives session open/close events; returns a function that stops them. */
  onSession(listener: (event: SessionEvent) => void): () => void;
  /** Told about every refused request that never became a call (failed authentication, unknown names); returns a function that stops it. */
  onRefusal(listener: (event: RefusalEvent) => void): () => void;
  /** Watches every call once it ended; returns a function that stops watching. */
  observeCalls(observer: (ctx: CallContext, error: unknown) => void): () => void;
}
