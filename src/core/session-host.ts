import { Server as SdkServer } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra, RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { AnyObjectSchema, SchemaOutput } from "@modelcontextprotocol/sdk/server/zod-compat.js";
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ClientCapabilities,
  type InitializeRequest,
  type InitializeResult,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { CallContext, type CallChannel, type CallerIdentity, type CallKind, type SessionInfo, type TransportKind } from "./call-context.js";
import type { AuthorizationRequirement, ServerInfo } from "./definitions.js";
import { CancelledError, InvalidParamsError, NotFoundError, TimeoutError } from "./errors.js";
import type { Chain } from "./middleware.js";
import type { Registry } from "./registry.js";
import type { Authenticator, ClientLogRecord, SessionEvent } from "./server-setup.js";
import { missingGrants } from "./invoke.js";
import { SubscriptionBook } from "./protocol/subscriptions.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** How a transport hands a session to the host. */
export interface ConnectOptions {
  transport: TransportKind;
  /** The identity of every call of this session, when the transport settled it once (stdio with a token). */
  identity?: CallerIdentity;
}

/** Told about every call once it has ended (`ctx.outcome` is set; `error` is what it threw, if it threw). */
export type CallObserver = (ctx: CallContext, error: unknown) => void;

interface HostHooks {
  authenticator(): Authenticator | undefined;
  observers: readonly CallObserver[];
  clientLog(record: ClientLogRecord): void;
  session(event: SessionEvent): void;
  defaultTimeoutMs: number | undefined;
}

/** One connected client: its SDK protocol object and what Lantern knows about it. */
class Session implements SessionInfo {
  sessionId: string | undefined;
  clientInfo: SessionInfo["clientInfo"];
  protocolVersion: string | undefined;
  logLevel: LoggingLevel | undefined;
  closed = false;

  constructor(
    readonly sdk: SdkServer,
    readonly transport: TransportKind,
    readonly identity: CallerIdentity | undefined,
  ) {}
}

/** The channel of one request: notifications and requests tied to it, and the session's log level. */
class RequestChannel implements CallChannel {
  constructor(
    private readonly extra: Extra,
    private readonly session: Session,
    private readonly clientLog: (record: ClientLogRecord) => void,
  ) {}

  notify(notification: ServerNotification): Promise<void> {
    if (this.session.closed) return Promise.resolve();
    return this.extra.sendNotification(notification);
  }

  request<S extends AnyObjectSchema>(request: ServerRequest, resultSchema: S, options?: RequestOptions): Promise<SchemaOutput<S>> {
    return this.extra.sendRequest(request, resultSchema, options);
  }

  clientCapabilities(): ClientCapabilities | undefined {
    return this.session.sdk.getClientCapabilities();
  }

  logLevel(): LoggingLevel | undefined {
    return this.session.logLevel;
  }

  recordLog(level: LoggingLevel, data: unknown, logger: string | undefined): void {
    const ctx = CallContext.current();
    if (ctx) this.clientLog({ level, data, logger, ctx });
  }

  canCloseStream(): boolean {
    return typeof this.extra.closeSSEStream === "function" && !this.session.closed;
  }

  closeStream(): void {
    this.extra.closeSSEStream?.();
  }
}

/** The identity a transport attached to a request (Streamable HTTP: `req.auth.extra.identity`). */
const identityOf = (extra: Extra): CallerIdentity | undefined =>
  (extra.authInfo?.extra as { identity?: CallerIdentity } | undefined)?.identity;

/** Whether `identity` may call something with `requirement`: the same check `authorize` makes at call time. */
const holds = (identity: CallerIdentity | undefined, requirement: AuthorizationRequirement): boolean => {
  const missing = missingGrants(requirement, identity);
  return missing.scopes.length === 0 && missing.roles.length === 0;
};

/**
 * Serves a built registry to any number of sessions. Each connected client gets its own SDK
 * protocol object (the SDK binds one transport to one server); all of them share the registry and
 * its composed chains.
 */
export class SessionHost {
  private readonly sessions = new Set<Session>();
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private readonly aborts = new Set<AbortController>();
  private readonly subscriptions = new SubscriptionBook<Session>();

  constructor(
    readonly info: ServerInfo,
    readonly registry: Registry,
    private readonly hooks: HostHooks,
  ) {}

  /** Calls running right now. */
  get activeCalls(): number {
    return this.inFlight;
  }

  get authenticator(): Authenticator | undefined {
    return this.hooks.authenticator();
  }

  /** Creates the protocol object for one client and connects it to `transport`. */
  async connect(transport: Transport, options: ConnectOptions): Promise<SdkServer> {
    const sdk = new SdkServer(
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
      },
    );
    const session = new Session(sdk, options.transport, options.identity);
    this.installHandlers(sdk, session);
    answerSchemaFailuresAsInvalidParams(sdk);
    sdk.onclose = () => {
      if (session.closed) return;
      session.closed = true;
      this.sessions.delete(session);
      this.subscriptions.drop(session);
      this.hooks.session({ type: "close", session });
    };
    this.sessions.add(session);
    await sdk.connect(transport);
    session.sessionId = transport.sessionId;
    return sdk;
  }

  /** Sends list-changed notifications to every session (after a tool, resource or prompt was added). */
  async announceListChanged(): Promise<void> {
    await Promise.allSettled(
      [...this.sessions].flatMap((s) => [s.sdk.sendToolListChanged(), s.sdk.sendResourceListChanged(), s.sdk.sendPromptListChanged()]),
    );
  }

  /**
   * Sends `notifications/resources/updated` to every session subscribed to `uri`; resolves to how
   * many were told (a session that went away meanwhile is skipped).
   */
  async notifyResourceUpdated(uri: string): Promise<number> {
    const sessions = this.subscriptions.subscribers(uri);
    const sent = await Promise.allSettled(sessions.map((s) => s.sdk.sendResourceUpdated({ uri })));
    return sent.filter((r) => r.status === "fulfilled").length;
  }

  /** Waits until no call is in flight, or `graceMs` passed; then aborts what still runs. */
  async drain(graceMs: number): Promise<void> {
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.drained = () => { clearTimeout(timer); resolve(); };
      });
    }
    // The SDK sends a response a few ticks after its handler settles: let those go out first.
    await new Promise((resolve) => setImmediate(resolve));
    for (const controller of this.aborts) controller.abort(new CancelledError("The server is shutting down"));
  }

  /** Closes every session's transport. */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions].map((s) => s.sdk.close()));
    this.sessions.clear();
  }

  private installHandlers(sdk: SdkServer, session: Session): void {
    const registry = this.registry;
    const oninitialize = (sdk as unknown as { _oninitialize?: (r: InitializeRequest) => Promise<InitializeResult> })._oninitialize;
    if (typeof oninitialize !== "function") throw new Error("This version of @modelcontextprotocol/sdk is not supported by Lantern (no initialize handler found)");
    sdk.setRequestHandler(InitializeRequestSchema, async (request, extra) => {
      const result = await oninitialize.call(sdk, request);
      // Streamable HTTP assigns the session id while handling initialize, after connect() returned.
      session.sessionId ??= extra.sessionId;
      session.clientInfo = request.params.clientInfo;
      session.protocolVersion = result.protocolVersion;
      this.hooks.session({ type: "open", session });
      return result;
    });
    sdk.setRequestHandler(SetLevelRequestSchema, async (request) => {
      const parsed = LoggingLevelSchema.safeParse(request.params.level);
      if (!parsed.success) throw new InvalidParamsError(`Unknown log level "${String(request.params.level)}"; use one of debug, info, notice, warning, error, critical, alert, emergency`);
      session.logLevel = parsed.data;
      return {};
    });
    sdk.setRequestHandler(ListToolsRequestSchema, (_request, extra) => {
      const tools = registry.listTools();
      if (!this.hooks.authenticator()?.hideForbiddenTools) return { tools };
      const identity = identityOf(extra) ?? session.identity;
      return { tools: tools.filter((t) => holds(identity, registry.tools.get(t.name)!.authorization)) };
    });
    sdk.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const tool = registry.tools.get(request.params.name);
      if (!tool) throw new NotFoundError("tool", request.params.name);
      return this.run(tool.chain, "tool", tool.name, request.params.arguments ?? {}, extra, session, tool.timeoutMs) as never;
    });
    sdk.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: registry.listResources() }));
    sdk.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: registry.listTemplates() }));
    sdk.setRequestHandler(ReadResourceRequestSchema, (request, extra) => {
      const found = registry.findResource(request.params.uri);
      if (!found) throw new NotFoundError("resource", request.params.uri);
      return this.run(found.resource.chain, "resource", request.params.uri, found.variables, extra, session, this.hooks.defaultTimeoutMs) as never;
    });
    sdk.setRequestHandler(SubscribeRequestSchema, (request) => {
      if (!registry.findResource(request.params.uri)) throw new NotFoundError("resource", request.params.uri);
      this.subscriptions.subscribe(session, request.params.uri);
      return {};
    });
    sdk.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      this.subscriptions.unsubscribe(session, request.params.uri);
      return {};
    });
    sdk.setRequestHandler(CompleteRequestSchema, (request) => registry.completions.complete(request.params, registry));
    sdk.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: registry.listPrompts() }));
    sdk.setRequestHandler(GetPromptRequestSchema, (request, extra) => {
      const prompt = registry.prompts.get(request.params.name);
      if (!prompt) throw new NotFoundError("prompt", request.params.name);
      return this.run(prompt.chain, "prompt", prompt.name, request.params.arguments ?? {}, extra, session, this.hooks.defaultTimeoutMs) as never;
    });
  }

  /** Builds the call's context and runs its composed chain inside it. */
  private async run(
    chain: Chain,
    kind: CallKind,
    name: string,
    args: Record<string, unknown>,
    extra: Extra,
    session: Session,
    timeoutMs: number | undefined,
  ): Promise<unknown> {
    let signal = extra.signal;
    let controller: AbortController | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onClientAbort: (() => void) | undefined;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      controller = new AbortController();
      const own = controller;
      timer = setTimeout(() => own.abort(new TimeoutError(name, timeoutMs)), timeoutMs);
      onClientAbort = () => own.abort(new CancelledError(`"${name}" was cancelled by the client`));
      extra.signal.addEventListener("abort", onClientAbort, { once: true });
      signal = controller.signal;
      this.aborts.add(controller);
    }
    const ctx = new CallContext(
      kind,
      name,
      String(extra.requestId),
      args,
      session,
      new RequestChannel(extra, session, this.hooks.clientLog),
      signal,
      extra._meta as Record<string, unknown> | undefined,
      extra.requestId,
    );
    ctx.identity = identityOf(extra) ?? session.identity;
    // The HTTP transport puts the caller's address in the request's auth info (rate limits key anonymous callers by it).
    ctx.remoteAddress = (extra.authInfo?.extra as { remoteAddress?: string } | undefined)?.remoteAddress;
    this.inFlight++;
    let thrown: unknown;
    try {
      return await CallContext.run(ctx, () => chain(ctx));
    } catch (error) {
      thrown = error;
      throw error;
    } finally {
      const observers = this.hooks.observers;
      for (let i = 0; i < observers.length; i++) {
        try {
          observers[i]!(ctx, thrown);
        } catch {
          // An observer must never change how a call ends.
        }
      }
      this.inFlight--;
      if (controller) {
        clearTimeout(timer);
        extra.signal.removeEventListener("abort", onClientAbort!);
        this.aborts.delete(controller);
      }
      if (this.inFlight === 0 && this.drained) {
        this.drained();
        this.drained = undefined;
      }
    }
  }
}

/** A failure of the schema library, as the SDK throws it when a request's params do not match its method's schema. */
type SchemaFailure = { issues: { path: PropertyKey[]; message: string; code?: string }[] };

const isSchemaFailure = (error: unknown): error is SchemaFailure => Array.isArray((error as { issues?: unknown } | null)?.issues);

/**
 * The SDK checks a request's params against its method's schema before the handler runs and
 * answers a mismatch (tools/call without a name, a log level that does not exist) with -32603 and
 * the schema library's multi-line dump. It is the client's mistake: answer -32602 naming each
 * field, as the argument validator does. Only synchronous throws are caught: that is where the
 * SDK's parse fails, so the calls that pass pay nothing.
 */
function answerSchemaFailuresAsInvalidParams(sdk: SdkServer): void {
  type Handler = (request: unknown, extra: unknown) => Promise<unknown>;
  const handlers = (sdk as unknown as { _requestHandlers?: unknown })._requestHandlers;
  if (!(handlers instanceof Map)) return;
  for (const [method, handler] of handlers as Map<string, Handler>) {
    handlers.set(method, (request: unknown, extra: unknown) => {
      try {
        return handler(request, extra);
      } catch (error) {
        if (!isSchemaFailure(error)) throw error;
        const issues = error.issues.map((i) => ({ property: i.path.map(String).join("."), constraints: { [i.code ?? "invalid"]: i.message } }));
        const detail = issues.map((i) => `${i.property || "params"}: ${Object.values(i.constraints)[0]}`).join("; ");
        throw new InvalidParamsError(`Invalid params for ${method}: ${detail}`, issues);
      }
    });
  }
}
