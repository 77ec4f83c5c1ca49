import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  Server as SdkServer,
  type CacheHint,
  type ClientCapabilities,
  type Implementation,
  type LoggingLevel,
  type ResultTypeMap,
  type ServerContext,
  type ServerNotification,
  type ServerNotifier,
  type Transport,
} from "@modelcontextprotocol/server";
import {
  CallContext,
  type CallChannel,
  type CallerIdentity,
  type CallKind,
  type ClientRequestMethod,
  type ProtocolEra,
  type SessionInfo,
  type TransportKind,
} from "./call-context.js";
import type { ServerInfo } from "./definitions.js";
import { CallAbort, CallDeadlines } from "./call-abort.js";
import { DefinitionError, InvalidParamsError, LanternError, NotFoundError, ServerShutdownError, TimeoutError } from "./errors.js";
import type { Chain } from "./middleware.js";
import { InputExchange } from "./protocol/input-exchange.js";
import type { RequestStateSeal } from "./protocol/request-state.js";
import { SubscriptionBook } from "./protocol/subscriptions.js";
import type { Registry } from "./registry.js";
import { LOG_LEVELS } from "./server-logger.js";
import type { Authenticator, ClientLogRecord, RefusalEvent, RequestGate, SessionEvent } from "./server-setup.js";

/** How a transport hands a connection to the host. */
export interface ConnectOptions {
  transport: TransportKind;
  /** The identity of every call of this connection, when the transport settled it once (stdio with a token). */
  identity?: CallerIdentity;
}

/** What one SDK server instance serves: one 2026-era request, or one connection (a 2025 session, a stdio process). */
export interface ServingUnit extends ConnectOptions {
  era: ProtocolEra;
  /** One request only (2026-era HTTP, stateless 2025-era HTTP): nothing to track between requests. */
  perRequest: boolean;
}

/** Told about every call once it has ended (`ctx.outcome` is set; `error` is what it threw, if it threw). */
export type CallObserver = (ctx: CallContext, error: unknown) => void;

/** Cache hints for the cacheable results of MCP 2026-07-28 (`ttlMs`, `cacheScope`), per operation. */
export type CacheHints = Partial<Record<"tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "resources/read" | "server/discover", CacheHint>>;

interface HostHooks {
  authenticator(): Authenticator | undefined;
  requestGate(): RequestGate | undefined;
  observers: readonly CallObserver[];
  clientLog(record: ClientLogRecord): void;
  session(event: SessionEvent): void;
  refusal(event: RefusalEvent): void;
  defaultTimeoutMs: number | undefined;
  cacheHints: CacheHints | undefined;
  seal: RequestStateSeal;
}

const severity = new Map(LOG_LEVELS.map((level, index) => [level, index]));

/** A long-lived connection: a 2025-era session (HTTP, in-memory) or a stdio connection of either era. */
class Connection implements SessionInfo {
  sessionId: string | undefined;
  clientInfo: Implementation | undefined;
  protocolVersion: string | undefined;
  /** The threshold the client set with `logging/setLevel` (2025 era); undefined: every level. */
  logLevel: LoggingLevel | undefined;
  closed = false;
  opened = false;

  constructor(
    readonly sdk: SdkServer,
    readonly transport: TransportKind,
    readonly era: ProtocolEra,
    readonly identity: CallerIdentity | undefined,
  ) {}
}

/** The channel of one request: what it may send the client, and at which log level. */
class RequestChannel implements CallChannel {
  constructor(
    private readonly sdkCtx: ServerContext,
    private readonly sdk: SdkServer,
    private readonly connection: Connection | undefined,
    private readonly era: ProtocolEra,
    private readonly host: ProtocolHost,
    /** Answers carried from earlier rounds (multi-round-trip). */
    readonly earlierAnswers: Readonly<Record<string, unknown>>,
  ) {}

  notify(notification: ServerNotification): Promise<void> {
    if (this.connection?.closed) return Promise.resolve();
    return this.sdkCtx.mcpReq.notify(notification);
  }

  request<M extends ClientRequestMethod>(method: M, params: Record<string, unknown>, signal: AbortSignal): Promise<ResultTypeMap[M]> {
    return this.sdkCtx.mcpReq.send({ method, params }, { signal }) as Promise<ResultTypeMap[M]>;
  }

  clientCapabilities(): ClientCapabilities | undefined {
    if (this.era === "modern") return envelopeOf(this.sdkCtx)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
    return this.sdk.getClientCapabilities();
  }

  log(level: LoggingLevel, data: unknown, logger: string | undefined): Promise<void> {
    let threshold: LoggingLevel | undefined;
    if (this.era === "modern") {
      threshold = envelopeOf(this.sdkCtx)?.[LOG_LEVEL_META_KEY] as LoggingLevel | undefined;
      // In the 2026 era a request without a log level asked for no messages.
      if (threshold === undefined) return Promise.resolve();
    } else {
      threshold = this.connection?.logLevel;
    }
    if (threshold !== undefined && (severity.get(level) ?? 0) < (severity.get(threshold) ?? 0)) return Promise.resolve();
    return this.notify({ method: "notifications/message", params: { level, data, ...(logger ? { logger } : {}) } });
  }

  recordLog(level: LoggingLevel, data: unknown, logger: string | undefined): void {
    const ctx = CallContext.current();
    if (ctx) this.host.recordClientLog({ level, data, logger, ctx });
  }

  openInputs(ctx: CallContext): InputExchange {
    return this.host.openInputs(ctx, this.earlierAnswers);
  }

  canCloseStream(): boolean {
    return typeof this.sdkCtx.http?.closeSSE === "function" && !this.connection?.closed;
  }

  closeStream(): void {
    this.sdkCtx.http?.closeSSE?.();
  }
}

/** The 2026-era `_meta` envelope of a request (protocol version, client info and capabilities, log level). */
const envelopeOf = (sdkCtx: ServerContext): Readonly<Record<string, unknown>> | undefined =>
  sdkCtx.mcpReq.envelope as Readonly<Record<string, unknown>> | undefined;

/** The caller of a request: the identity its transport attached (HTTP), else the connection's (stdio with a token). */
const callerOf = (sdkCtx: ServerContext, unit: ServingUnit): CallerIdentity | undefined =>
  (sdkCtx.http?.authInfo?.extra as { identity?: CallerIdentity } | undefined)?.identity ?? unit.identity;

const NO_ANSWERS: Readonly<Record<string, unknown>> = Object.freeze({});

type SchemaIssue = { path: (string | number)[]; message: string; code?: string };

/** The schema issues of a request the SDK refused before its handler ran, if `error` is one. */
function requestSchemaIssues(method: string, error: unknown): SchemaIssue[] | undefined {
  if (!(error instanceof Error) || error instanceof LanternError) return undefined;
  const text = error.message;
  const prefix = `Invalid ${method} request: `;
  const json = text.startsWith(prefix) ? text.slice(prefix.length) : text.startsWith("[") ? text : undefined;
  if (json === undefined) return undefined;
  try {
    const issues = JSON.parse(json) as unknown;
    if (Array.isArray(issues) && issues.length > 0 && issues.every((i) => Array.isArray(i?.path) && i.path[0] === "params" && typeof i.message === "string")) {
      return issues as SchemaIssue[];
    }
  } catch {
    // Not a schema report: leave the error as it is.
  }
  return undefined;
}

/**
 * The SDK server, with one Lantern rule on top: params that do not fit their method's schema
 * (tools/call without a name, an unknown log level) are the client's mistake and answer -32602
 * naming each field, as the argument validator does, instead of a schema library's dump.
 */
class LanternSdkServer extends SdkServer {
  protected override _wrapHandler(method: string, handler: Parameters<SdkServer["_wrapHandler"]>[1]): ReturnType<SdkServer["_wrapHandler"]> {
    const inner = super._wrapHandler(method, handler);
    const mapError = (error: unknown): never => {
      const issues = requestSchemaIssues(method, error);
      if (!issues) throw error;
      const mapped = issues.map((i) => ({ property: i.path.map(String).join("."), constraints: { [i.code ?? "invalid"]: i.message } }));
      throw new InvalidParamsError(`Invalid params for ${method}: ${mapped.map((i) => `${i.property}: ${Object.values(i.constraints)[0]}`).join("; ")}`, mapped);
    };
    // The SDK's wrapped handlers are async functions: a promise every time, never a synchronous throw.
    return (request, ctx) => inner(request, ctx).catch(mapError);
  }
}

const LIST_OPERATIONS = ["tools/list", "prompts/list", "resources/list", "resources/templates/list"] as const;

/**
 * Serves a built registry over the official SDK's protocol layer, in both protocol eras: it makes
 * one SDK server per unit of serving (a 2026-era request, a 2025 session, a stdio connection), all
 * sharing the registry and its composed chains, and turns each request into a {@link CallContext}
 * the chain runs in.
 */
export class ProtocolHost {
  private readonly connections = new Set<Connection>();
  private inFlight = 0;
  private drained: (() => void) | undefined;
  /** How each call in flight ends early (shutdown aborts them all). */
  private readonly aborts = new Set<CallAbort>();
  private readonly deadlines = new CallDeadlines();
  private readonly subscriptions = new SubscriptionBook<Connection>();
  private readonly notifiers = new Set<ServerNotifier>();
  private readonly cacheHints: CacheHints | undefined;

  constructor(
    readonly info: ServerInfo,
    readonly registry: Registry,
    private readonly hooks: HostHooks,
  ) {
    this.cacheHints = privateListsWhenFiltered(hooks.cacheHints, hooks.authenticator()?.hideForbiddenTools === true);
  }

  /** Calls running right now. */
  get activeCalls(): number {
    return this.inFlight;
  }

  /** Connections open right now (2025 sessions, stdio, in-memory). */
  get connectionCount(): number {
    return this.connections.size;
  }

  get authenticator(): Authenticator | undefined {
    return this.hooks.authenticator();
  }

  /** The per-caller HTTP request limit, if a part set one. */
  get requestGate(): RequestGate | undefined {
    return this.hooks.requestGate();
  }

  /**
   * A new SDK server with Lantern's handlers for one unit of serving. A long-lived unit is tracked
   * (list-changed notifications, subscriptions) until its transport closes.
   */
  createServer(unit: ServingUnit): SdkServer {
    const sdk = new LanternSdkServer(
      { name: this.info.name, version: this.info.version, ...(this.info.title ? { title: this.info.title } : {}) },
      {
        capabilities: {
          tools: { listChanged: true },
          resources: { subscribe: true, listChanged: true },
          prompts: { listChanged: true },
          logging: {},
          completions: {},
        },
        ...(this.info.instructions ? { instructions: this.info.instructions } : {}),
        ...(this.cacheHints ? { cacheHints: this.cacheHints } : {}),
      },
    );
    const connection = unit.perRequest ? undefined : new Connection(sdk, unit.transport, unit.era, unit.identity);
    this.installHandlers(sdk, unit, connection);
    if (connection) {
      this.connections.add(connection);
      sdk.oninitialized = () => this.opened(connection);
      if (unit.era === "modern") this.opened(connection);
      sdk.onclose = () => this.closed(connection);
    }
    return sdk;
  }

  /** Serves one client over a transport you made (2025 era: the in-memory transport of tests, say). */
  async connect(transport: Transport, options: ConnectOptions): Promise<SdkServer> {
    const sdk = this.createServer({ ...options, era: "legacy", perRequest: false });
    await sdk.connect(transport);
    return sdk;
  }

  /** Adds a publisher of 2026-era change events (`subscriptions/listen` streams); returns its removal. */
  addNotifier(notifier: ServerNotifier): () => void {
    this.notifiers.add(notifier);
    return () => this.notifiers.delete(notifier);
  }

  /** Sends list-changed notifications to every connection and 2026-era subscription. */
  async announceListChanged(): Promise<void> {
    for (const notifier of this.notifiers) {
      notifier.toolsChanged();
      notifier.resourcesChanged();
      notifier.promptsChanged();
    }
    await Promise.allSettled(
      [...this.connections].filter((c) => c.opened).flatMap((c) => [c.sdk.sendToolListChanged(), c.sdk.sendResourceListChanged(), c.sdk.sendPromptListChanged()]),
    );
  }

  /**
   * Sends `notifications/resources/updated` to every 2025 session subscribed to `uri` and to
   * 2026-era subscriptions that asked for it; resolves to how many 2025 sessions were told.
   */
  async notifyResourceUpdated(uri: string): Promise<number> {
    for (const notifier of this.notifiers) notifier.resourceUpdated(uri);
    const connections = this.subscriptions.subscribers(uri);
    const sent = await Promise.allSettled(connections.map((c) => c.sdk.sendResourceUpdated({ uri })));
    return sent.filter((r) => r.status === "fulfilled").length;
  }

  /** Tells the refusal listeners about a request that never became a call. */
  reportRefusal(event: RefusalEvent): void {
    this.hooks.refusal(event);
  }

  /** Hands a ServerLogger message to the server-side listeners. */
  recordClientLog(record: ClientLogRecord): void {
    this.hooks.clientLog(record);
  }

  /** The input exchange of one multi-round-trip round. */
  openInputs(ctx: CallContext, earlier: Readonly<Record<string, unknown>>): InputExchange {
    return new InputExchange(ctx, this.hooks.seal, earlier);
  }

  /** Waits until no call is in flight, or `graceMs` passed; then aborts what still runs. */
  async drain(graceMs: number): Promise<void> {
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        // Not unref'd: a hung call with nothing else keeping the process alive must not let it exit
        // before the shutdown hooks ran (the wait is bounded by graceMs).
        this.drained = () => { clearTimeout(timer); resolve(); };
      });
    }
    // The SDK sends a response a few ticks after its handler settles: let those go out first.
    await new Promise((resolve) => setImmediate(resolve));
    for (const call of this.aborts) call.abort(new ServerShutdownError());
  }

  /** Closes every connection's transport. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.connections].map((c) => c.sdk.close()));
    this.connections.clear();
  }

  private opened(connection: Connection): void {
    if (connection.opened || connection.closed) return;
    connection.opened = true;
    connection.sessionId = connection.sdk.transport?.sessionId;
    connection.clientInfo = connection.sdk.getClientVersion();
    connection.protocolVersion = connection.sdk.getNegotiatedProtocolVersion();
    this.hooks.session({ type: "open", session: connection });
  }

  private closed(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    this.subscriptions.drop(connection);
    if (connection.opened) this.hooks.session({ type: "close", session: connection });
  }

  private installHandlers(sdk: SdkServer, unit: ServingUnit, connection: Connection | undefined): void {
    const registry = this.registry;
    sdk.setRequestHandler("logging/setLevel", async (request) => {
      const level = request.params.level;
      if (!severity.has(level)) {
        throw new InvalidParamsError(`Unknown log level "${String(level)}"; use one of ${LOG_LEVELS.join(", ")}`);
      }
      if (connection) connection.logLevel = level;
      return {};
    });
    sdk.setRequestHandler("tools/list", (_request, sdkCtx) => ({ tools: registry.visibleTo(callerOf(sdkCtx, unit)).tools }));
    sdk.setRequestHandler("tools/call", (request, sdkCtx) => {
      const tool = registry.tools.get(request.params.name);
      if (!tool) throw this.unknown("tool", request.params.name, sdkCtx, unit);
      return this.run(tool.chain, "tool", tool.name, request.params.arguments ?? {}, sdkCtx, sdk, unit, connection, tool.timeoutMs) as never;
    });
    sdk.setRequestHandler("resources/list", (_request, sdkCtx) => ({ resources: registry.visibleTo(callerOf(sdkCtx, unit)).resources }));
    sdk.setRequestHandler("resources/templates/list", (_request, sdkCtx) => ({ resourceTemplates: registry.visibleTo(callerOf(sdkCtx, unit)).resourceTemplates as never }));
    sdk.setRequestHandler("resources/read", (request, sdkCtx) => {
      const found = registry.findResource(request.params.uri);
      if (!found) throw this.unknown("resource", request.params.uri, sdkCtx, unit);
      return this.run(found.resource.chain, "resource", request.params.uri, found.variables, sdkCtx, sdk, unit, connection, this.hooks.defaultTimeoutMs) as never;
    });
    if (connection && unit.era === "legacy") {
      const subscriber = connection;
      sdk.setRequestHandler("resources/subscribe", (request) => {
        if (!registry.findResource(request.params.uri)) throw new NotFoundError("resource", request.params.uri);
        this.subscriptions.subscribe(subscriber, request.params.uri);
        return {};
      });
      sdk.setRequestHandler("resources/unsubscribe", (request) => {
        this.subscriptions.unsubscribe(subscriber, request.params.uri);
        return {};
      });
    }
    sdk.setRequestHandler("completion/complete", (request) => registry.completions.complete(request.params, registry));
    sdk.setRequestHandler("prompts/list", (_request, sdkCtx) => ({ prompts: registry.visibleTo(callerOf(sdkCtx, unit)).prompts }));
    sdk.setRequestHandler("prompts/get", (request, sdkCtx) => {
      const prompt = registry.prompts.get(request.params.name);
      if (!prompt) throw this.unknown("prompt", request.params.name, sdkCtx, unit);
      return this.run(prompt.chain, "prompt", prompt.name, request.params.arguments ?? {}, sdkCtx, sdk, unit, connection, this.hooks.defaultTimeoutMs) as never;
    });
  }

  /** The error for a name the server does not have, reported to the refusal listeners first. */
  private unknown(kind: "tool" | "prompt" | "resource", name: string, sdkCtx: ServerContext, unit: ServingUnit): NotFoundError {
    const identity = callerOf(sdkCtx, unit);
    this.hooks.refusal({ reason: `unknown_${kind}`, transport: unit.transport, ...(identity ? { clientId: identity.clientId } : {}), detail: name });
    return new NotFoundError(kind, name);
  }

  /** Builds the call's context and runs its composed chain inside it. */
  private run(
    chain: Chain,
    kind: CallKind,
    name: string,
    args: Record<string, unknown>,
    sdkCtx: ServerContext,
    sdk: SdkServer,
    unit: ServingUnit,
    connection: Connection | undefined,
    timeoutMs: number | undefined,
  ): Promise<unknown> {
    const request = sdkCtx.mcpReq;
    const ending = new CallAbort(request.signal, name);
    const era: ProtocolEra = request.envelope ? "modern" : unit.era;
    const info: SessionInfo = era === "legacy" && connection ? connection : perRequestInfo(envelopeOf(sdkCtx), unit, sdk, era);
    const sealed = request.requestState();
    const identity = callerOf(sdkCtx, unit);
    let earlier = NO_ANSWERS;
    let refusal: Error | undefined;
    let continuation: ReturnType<RequestStateSeal["open"]> | undefined;
    if (typeof sealed === "string") {
      try {
        continuation = this.hooks.seal.open(sealed, { method: methodOf(kind), name, identity });
        earlier = continuation.answers ?? NO_ANSWERS;
      } catch (error) {
        refusal = error as Error;
      }
    }
    const ctx = new CallContext(
      kind,
      name,
      String(request.id),
      args,
      info,
      new RequestChannel(sdkCtx, sdk, connection, era, this, earlier),
      ending,
      request._meta as Record<string, unknown> | undefined,
      request.id,
    );
    ctx.identity = identity;
    ctx.remoteAddress = (sdkCtx.http?.authInfo?.extra as { remoteAddress?: string } | undefined)?.remoteAddress;
    if (request.inputResponses) ctx.inputResponses = request.inputResponses;
    if (continuation) {
      ctx.round = continuation.round + 1;
      ctx.continuation = { correlationId: continuation.correlationId, traceparent: continuation.traceparent, tracestate: continuation.tracestate };
      ctx.requestState = continuation.user;
    }
    ctx.refusal = refusal;
    // Armed once nothing else can throw: the finally below is what disarms them.
    const deadline = timeoutMs !== undefined && timeoutMs > 0 ? this.deadlines.add(ending, timeoutMs, () => new TimeoutError(name, timeoutMs)) : undefined;
    this.aborts.add(ending);
    return this.runChain(ctx, chain).finally(() => {
      if (deadline) this.deadlines.clear(deadline);
      ending.release();
      this.aborts.delete(ending);
    });
  }

  /**
   * Runs calls refused before they reached the protocol layer (an HTTP 403 `insufficient_scope`)
   * through their own chains, so metrics, logs, spans, the audit trail and call observers record
   * them as refused, exactly as a refusal made inside the chain. The chain's innermost step checks
   * the same scopes first and refuses: the handler never runs. Resolves once every middleware
   * finished (an audit entry is durable before the client gets its answer).
   */
  async recordRefused(calls: readonly RefusedCall[], identity: CallerIdentity | undefined, transport: TransportKind, sessionId: string | undefined): Promise<void> {
    for (const call of calls) {
      let chain: Chain | undefined;
      let args = call.args;
      if (call.kind === "tool") chain = this.registry.tools.get(call.name)?.chain;
      else if (call.kind === "prompt") chain = this.registry.prompts.get(call.name)?.chain;
      else {
        const found = this.registry.findResource(call.name);
        chain = found?.resource.chain;
        args = found?.variables ?? {};
      }
      if (!chain) continue;
      const meta = call.meta;
      const protocolVersion = typeof meta?.[PROTOCOL_VERSION_META_KEY] === "string" ? (meta[PROTOCOL_VERSION_META_KEY] as string) : undefined;
      const era: ProtocolEra = protocolVersion ? "modern" : "legacy";
      const info: SessionInfo = {
        sessionId: era === "legacy" ? sessionId : undefined,
        transport,
        clientInfo: meta?.[CLIENT_INFO_META_KEY] as Implementation | undefined,
        protocolVersion,
        era,
      };
      const ctx = new CallContext(call.kind, call.name, String(call.id), args, info, SILENT_CHANNEL, NEVER_ABORTED, meta, call.id);
      ctx.identity = identity;
      try {
        await this.runChain(ctx, chain);
      } catch {
        // The refusal itself: every middleware recorded it on its way out.
      }
    }
  }

  /** Runs `chain` in `ctx`, counting it in flight and telling the call observers how it ended. */
  private runChain(ctx: CallContext, chain: Chain): Promise<unknown> {
    this.inFlight++;
    let running: Promise<unknown>;
    try {
      running = CallContext.run(ctx, () => chain(ctx));
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (result) => {
        this.settled(ctx, undefined);
        return result;
      },
      (error: unknown) => {
        this.settled(ctx, error);
        throw error;
      },
    );
  }

  /** A call's chain ended: the call observers hear how, and the in-flight count drops. */
  private settled(ctx: CallContext, thrown: unknown): void {
    const observers = this.hooks.observers;
    for (let i = 0; i < observers.length; i++) {
      try {
        observers[i]!(ctx, thrown);
      } catch {
        // An observer must never change how a call ends.
      }
    }
    this.inFlight--;
    if (this.inFlight === 0 && this.drained) {
      this.drained();
      this.drained = undefined;
    }
  }
}

/** A call refused at the transport, as its JSON-RPC request named it. */
export interface RefusedCall {
  kind: CallKind;
  /** Tool or prompt name, or the resource URI. */
  name: string;
  id: string | number;
  args: Record<string, unknown>;
  meta: Record<string, unknown> | undefined;
}

// A refused call never reaches its handler, so nothing talks back to the client through it.
const SILENT_CHANNEL: CallChannel = {
  notify: () => Promise.resolve(),
  request: () => Promise.reject(new Error("a refused call cannot send requests to the client")),
  clientCapabilities: () => undefined,
  log: () => Promise.resolve(),
  recordLog: () => {},
  openInputs: () => {
    throw new Error("a refused call asks the client nothing");
  },
};

const NEVER_ABORTED = new AbortController().signal;

const methodOf = (kind: CallKind): string => (kind === "tool" ? "tools/call" : kind === "resource" ? "resources/read" : "prompts/get");

/** What a 2026-era request says about its client, in its `_meta` envelope. */
function perRequestInfo(envelope: Readonly<Record<string, unknown>> | undefined, unit: ServingUnit, sdk: SdkServer, era: ProtocolEra): SessionInfo {
  return {
    sessionId: undefined,
    transport: unit.transport,
    clientInfo: (envelope?.[CLIENT_INFO_META_KEY] as Implementation | undefined) ?? sdk.getClientVersion(),
    protocolVersion: (envelope?.[PROTOCOL_VERSION_META_KEY] as string | undefined) ?? sdk.getNegotiatedProtocolVersion(),
    era,
  };
}

/** Lists filtered per caller must never be cached for others: a `public` scope on them is a definition error. */
function privateListsWhenFiltered(hints: CacheHints | undefined, filtered: boolean): CacheHints | undefined {
  if (!filtered || !hints) return hints;
  for (const operation of LIST_OPERATIONS) {
    if (hints[operation]?.cacheScope === "public") {
      throw new DefinitionError(
        `cacheHints["${operation}"] has cacheScope "public", but hideForbiddenTools shows each caller its own list: a shared cache would hand one caller's list to another; use cacheScope "private"`,
      );
    }
  }
  return hints;
}
