import "reflect-metadata";
import type { CacheHint, Transport } from "@modelcontextprotocol/server";
import type { DependencyContainer } from "tsyringe";
import { CallContext, type TransportKind } from "./call-context.js";
import { tsyringeLibrary } from "./libraries.js";
import { DefinitionCompiler } from "./compiler.js";
import { SERVER_INFO_OPTIONS, type MemberDefinition, type ResourceOptions, type ServerInfo } from "./definitions.js";
import { DefinitionError, describeError, ServerStateError } from "./errors.js";
import type { InternalErrorSink, TerminalEnvironment } from "./invoke.js";
import type { Middleware } from "./middleware.js";
import {
  PROMPT_SPEC_OPTIONS,
  promptDefinition,
  RESOURCE_SPEC_OPTIONS,
  resourceDefinition,
  TOOL_SPEC_OPTIONS,
  toolDefinition,
  type PromptSpec,
  type ResourceHandler,
  type ToolSpec,
} from "./programmatic.js";
import { checkOptions, defineOptions, option } from "./options.js";
import { ProviderTable, type ProviderFactory, type ProviderOptions, type ProviderOverride } from "./providers.js";
import type { Completer } from "./protocol/completions.js";
import { Registry } from "./registry.js";
import { defaultReplicaId, REPLICA_ID_RULE } from "./replica-id.js";
import { scanServerClass, type ScannedClass } from "./scanner.js";
import type {
  Authenticator,
  ClientLogRecord,
  ListeningEndpoint,
  RouteHandler,
  ServerSetup,
  SessionEvent,
  RefusalEvent,
  RequestGate,
  ToolLimiter,
  ToolSummary,
} from "./server-setup.js";
import { ProgressReporter, ServerLogger } from "./server-logger.js";
import { Elicitor } from "./protocol/elicitor.js";
import { RequestStateSeal } from "./protocol/request-state.js";
import { Roots } from "./protocol/roots.js";
import { Sampler } from "./protocol/sampler.js";
import { StreamControl } from "./protocol/stream-control.js";
import { ResourceUpdates } from "./protocol/subscriptions.js";
import { ProtocolHost, type CacheHints, type CallObserver, type ConnectOptions } from "./protocol-host.js";
import { writeStderrEvent, writeStderrNotice } from "./stderr-report.js";
import type { ListenOptions, RunningServer } from "../transports/listen.js";

/** Options of `new McpServer(...)`. */
export interface McpServerOptions {
  /** The tsyringe container server classes and injected tokens are resolved from (default: a child of tsyringe's root container). */
  container?: DependencyContainer;
  /**
   * Time limit of every call (tool, resource, prompt), in ms; `@Tool({ timeoutMs })` overrides it
   * for a tool. Default 60,000 (a hung call cannot stay in flight forever); 0 means no limit.
   */
  defaultTimeoutMs?: number;
  /** Where exceptions' details go (they never reach clients). Default: one line on stderr. */
  onInternalError?: InternalErrorSink;
  /**
   * Cache hints of MCP 2026-07-28 list and read results (`ttlMs`, `cacheScope`), per operation.
   * Default: `ttlMs: 0`, `cacheScope: "private"` (nothing cached). Lists filtered per caller
   * (`hideForbiddenTools`) must stay `private`.
   */
  cacheHints?: CacheHints;
  /**
   * The key that seals the `requestState` of multi-round-trip calls (at least 32 bytes). Replicas
   * behind one endpoint must share it. Default: `LANTERN_STATE_SECRET`, else a random key of this
   * process.
   */
  stateSecret?: string | Buffer;
  /** How long a multi-round-trip round's state stays valid, in ms. Default 15 minutes. */
  stateTtlMs?: number;
  /**
   * The name of this process among the replicas of a fleet, carried by every signal: spans
   * (`service.instance.id`), log lines and audit entries (`replica`), `metrics://server`, `/healthz`
   * and the Prometheus series `<ns>_replica_info`. 1 to 128 printable characters, no whitespace.
   * Default: `LANTERN_REPLICA_ID`, else `<host name>-<pid>`.
   */
  replicaId?: string;
}

/** The time limit of a call when neither `@Tool({ timeoutMs })` nor `defaultTimeoutMs` says otherwise. */
const DEFAULT_TIMEOUT_MS = 60_000;

// The SDK checks a hint's values only when it serves, and never its keys: a misspelled operation or
// field would leave results uncached, silently.
const CACHE_HINT = option.object(defineOptions<CacheHint>("cacheHints", { ttlMs: option.integer({ min: 0 }), cacheScope: option.oneOf("public", "private") }), "{ ttlMs?, cacheScope? }");
const CACHE_HINTS = defineOptions<CacheHints>("cacheHints", {
  "tools/list": CACHE_HINT,
  "prompts/list": CACHE_HINT,
  "resources/list": CACHE_HINT,
  "resources/templates/list": CACHE_HINT,
  "resources/read": CACHE_HINT,
  "server/discover": CACHE_HINT,
});

/** The rules of {@link McpServerOptions}. */
const MCP_SERVER_OPTIONS = defineOptions<McpServerOptions>("new McpServer(…, options)", {
  container: option.withMethods("a tsyringe DependencyContainer", "resolve", "createChildContainer"),
  defaultTimeoutMs: option.milliseconds(0),
  onInternalError: option.function("a function (ctx, error) => void"),
  cacheHints: option.object(CACHE_HINTS, 'cache hints per operation, e.g. { "tools/list": { ttlMs: 60000, cacheScope: "public" } }'),
  stateSecret: option.anyOf(option.string({ nonEmpty: true }), option.instanceOf(Buffer, "a Buffer")),
  stateTtlMs: option.milliseconds(1),
  replicaId: REPLICA_ID_RULE,
}, {
  replica: 'use "replicaId"',
  instanceId: 'use "replicaId"',
  defaultTimeout: 'use "defaultTimeoutMs" (milliseconds)',
  timeoutMs: 'the server-wide limit is "defaultTimeoutMs"; one tool\'s is @Tool({ timeoutMs })',
  name: "name and version go in @Server({ name, version }) or the first argument: new McpServer({ name, version })",
  version: "name and version go in @Server({ name, version }) or the first argument: new McpServer({ name, version })",
});

/** Values every tool may inject without registering anything. */
const BUILT_IN_PER_CALL = new Map<unknown, (ctx: CallContext) => unknown>([
  [CallContext, (ctx) => ctx],
  [ServerLogger, (ctx) => new ServerLogger(ctx)],
  [ProgressReporter, (ctx) => new ProgressReporter(ctx)],
  [AbortSignal, (ctx) => ctx.signal],
  [Sampler, (ctx) => new Sampler(ctx)],
  [Elicitor, (ctx) => new Elicitor(ctx)],
  [Roots, (ctx) => new Roots(ctx)],
  [StreamControl, (ctx) => new StreamControl(ctx)],
]);
// ResourceUpdates is per server, not per call: its provider is set in the constructor.
const BUILT_IN_TOKENS: ReadonlySet<unknown> = new Set([...BUILT_IN_PER_CALL.keys(), ResourceUpdates]);
/** Values that exist only during a call: a constructor asking for one is a build error. */
const PER_CALL_TOKENS: ReadonlySet<unknown> = new Set(BUILT_IN_PER_CALL.keys());

// One escaped JSON line per failure: a request id, a client id or an error message may hold
// "\n{...}", and must not be able to start a line that looks like one of our own.
const defaultInternalErrorSink: InternalErrorSink = (ctx, error) => {
  writeStderrEvent("error", "internal_error", {
    kind: ctx.kind,
    tool: ctx.name,
    request_id: ctx.requestId,
    client_id: ctx.clientId,
    error: describeError(error),
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  });
};

/** Adds `item` to `list`; the returned function removes it again. */
function attach<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const index = list.indexOf(item);
    if (index >= 0) list.splice(index, 1);
  };
}

/** Where a server is in its life: mutators are accepted while it is `open` (and while middleware set up). */
type Lifecycle = "open" | "building" | "started" | "closing";

/**
 * A Lantern MCP server: decorated classes (and programmatic tools, resources and prompts), the
 * middleware chain, and the transports that serve them.
 *
 * Every member, decorated or added with `addTool` / `addResource` / `addPrompt`, becomes the same
 * definition and is compiled the same way when the server is built (see `DefinitionCompiler`).
 *
 * @example
 * const server = new McpServer(HrApi);
 * server.use(new StructuredLoggingMiddleware());
 * await server.listen({ transport: "http", port: 3000 });
 */
export class McpServer implements ServerSetup {
  readonly info: ServerInfo;
  /** This process's name among the replicas of a fleet (`replicaId`, `LANTERN_REPLICA_ID`, or `<host name>-<pid>`). */
  readonly replicaId: string;
  readonly container: DependencyContainer;
  private readonly options: McpServerOptions;
  /** `defaultTimeoutMs`, or {@link DEFAULT_TIMEOUT_MS}. */
  private readonly defaultTimeoutMs: number;
  private readonly classes: ScannedClass[] = [];
  /** Every member, in registration order: classes' and `add*` ones alike. */
  private readonly definitions: MemberDefinition[] = [];
  private readonly middleware: Middleware[] = [];
  private readonly providerTable: ProviderTable;
  private readonly builtIns = new Map<unknown, (ctx: CallContext) => unknown>(BUILT_IN_PER_CALL);
  private readonly compiler: DefinitionCompiler;
  private readonly shutdownHooks: (() => void | Promise<void>)[] = [];
  private readonly clientLogListeners: ((record: ClientLogRecord) => void)[] = [];
  private readonly sessionListeners: ((event: SessionEvent) => void)[] = [];
  private readonly callObservers: CallObserver[] = [];
  private readonly listenListeners: ((endpoint: ListeningEndpoint) => void)[] = [];
  private readonly refusalListeners: ((event: RefusalEvent) => void)[] = [];
  /** Extra HTTP routes, keyed `METHOD path`. */
  readonly routes = new Map<string, RouteHandler>();
  private authenticatorValue: Authenticator | undefined;
  private toolLimiter: ToolLimiter | undefined;
  private requestGateValue: RequestGate | undefined;
  private lifecycle: Lifecycle = "open";
  /** True while `onListen` listeners run: the transport serves nothing yet, so routes may still be added. */
  private announcing = false;
  private built: Promise<ProtocolHost> | undefined;
  private registry: Registry | undefined;
  private host: ProtocolHost | undefined;
  private readonly seal: RequestStateSeal;
  private running: RunningServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(serverClassOrInfo: Function | ServerInfo, options: McpServerOptions = {}) {
    options = checkOptions(MCP_SERVER_OPTIONS, options);
    this.options = options;
    this.replicaId = options.replicaId ?? defaultReplicaId();
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.container = options.container ?? tsyringeLibrary().container.createChildContainer();
    this.seal = new RequestStateSeal({ secret: options.stateSecret, ttlMs: options.stateTtlMs });
    this.providerTable = new ProviderTable(this.container, this.builtIns);
    const updates = new ResourceUpdates(this);
    this.builtIns.set(ResourceUpdates, () => updates);
    const terminal: TerminalEnvironment = {
      internalError: options.onInternalError ?? defaultInternalErrorSink,
      shuttingDown: () => this.lifecycle === "closing",
    };
    this.compiler = new DefinitionCompiler({
      container: this.container,
      providers: this.providerTable,
      builtIns: this.builtIns,
      perCallTokens: PER_CALL_TOKENS,
      serverMiddleware: this.middleware,
      terminal,
      defaultTimeoutMs: this.defaultTimeoutMs,
      toolLimiter: () => this.toolLimiter,
    });
    if (typeof serverClassOrInfo === "function") {
      const scanned = this.scan(serverClassOrInfo);
      if (!scanned.info) {
        throw new DefinitionError(`Cannot create a server from ${serverClassOrInfo.name}: it has no @Server({ name, version }); decorate it, or use new McpServer({ name, version }).register(${serverClassOrInfo.name})`);
      }
      this.info = scanned.info;
      this.addScanned(scanned);
    } else {
      if (!serverClassOrInfo?.name || !serverClassOrInfo.version) {
        throw new DefinitionError("new McpServer({ name, version }) needs both: they are sent to clients in the initialize response");
      }
      this.info = checkOptions(SERVER_INFO_OPTIONS, serverClassOrInfo, "new McpServer({ name, version })");
    }
  }

  /** Adds the tools, resources and prompts of more decorated classes. */
  register(...serverClasses: Function[]): this {
    this.assertNotBuilt("register");
    for (const cls of serverClasses) this.addScanned(this.scan(cls));
    return this;
  }

  /**
   * Tells every client subscribed to `uri` (`resources/subscribe`) that the resource changed
   * (`notifications/resources/updated`). Resolves to the number of sessions told.
   *
   * @example
   * await server.notifyResourceUpdated("hr://policies/1");
   */
  notifyResourceUpdated(uri: string): Promise<number> {
    return this.host ? this.host.notifyResourceUpdated(uri) : Promise.resolve(0);
  }

  /** Adds a middleware; the first added is the outermost. */
  use(middleware: Middleware): this {
    this.assertNotBuilt("use");
    if (typeof middleware !== "function" && typeof middleware?.handle !== "function") {
      throw new TypeError("server.use() takes a function (ctx, next) => result or an object with handle(ctx, next)");
    }
    this.middleware.push(middleware);
    return this;
  }

  /** The seed's name for {@link use}. */
  addMiddleware(middleware: Middleware): this {
    return this.use(middleware);
  }

  /**
   * Adds a tool without a class. After the server started, the tool is compiled at once (a mistake
   * throws here) and clients are told with `notifications/tools/list_changed`.
   *
   * @example
   * server.addTool({ name: "ping", description: "Answers pong", handler: () => "pong" });
   */
  addTool<Input extends object>(spec: ToolSpec<Input>): void {
    const checked = checkOptions(TOOL_SPEC_OPTIONS, spec as unknown as ToolSpec, `server.addTool(${JSON.stringify(spec?.name ?? "")})`);
    this.addDefinition(toolDefinition(checked));
  }

  /**
   * Adds a resource (or a template, with `{var}` parts) without a class.
   *
   * @example
   * server.addResource("status://{component}", (vars) => ({ component: vars.component, ok: true }));
   */
  addResource(uri: string, handler: ResourceHandler, options: ResourceOptions & { middleware?: Middleware[] } = {}): void {
    const checked = checkOptions(RESOURCE_SPEC_OPTIONS, options, `server.addResource(${JSON.stringify(uri)}, handler, options)`);
    this.addDefinition(resourceDefinition(uri, handler, checked));
  }

  /**
   * Adds a prompt without a class.
   *
   * @example
   * server.addPrompt({ name: "greet", description: "Say hello", handler: () => "Hello!" });
   */
  addPrompt<Args extends object>(spec: PromptSpec<Args>): void {
    const checked = checkOptions(PROMPT_SPEC_OPTIONS, spec as unknown as PromptSpec, `server.addPrompt(${JSON.stringify(spec?.name ?? "")})`);
    this.addDefinition(promptDefinition(checked));
  }

  tools(): readonly ToolSummary[] {
    return this.definitions
      .filter((d) => d.kind === "tool")
      .map((d) => {
        const options = d.options as { title?: string; description: string };
        return { name: d.name, title: options.title, description: options.description, scopes: d.authorization.scopes };
      });
  }

  route(method: string, path: string, handler: RouteHandler): void {
    if (!this.announcing) this.assertOpen("route");
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  /**
   * Makes a value injectable with `@Inject(token)`: `factory` runs at most once per call (every
   * parameter and provider asking for `token` in that call shares its value), may resolve other
   * tokens with `get`, and `dispose` tears the value down after the call's handler settled.
   *
   * @example
   * server.provide(Db, (ctx, get) => get(Pool).connect(), { dispose: (db) => db.release() });
   */
  provide<T>(token: unknown, factory: ProviderFactory<T>, options: ProviderOptions<T> = {}): void {
    this.assertOpen("provide");
    this.providerTable.set(token, factory as ProviderFactory, options as ProviderOptions);
  }

  /**
   * Replaces what `token` injects, for tests: it wins over `provide()` (also over what middleware
   * provides in `setup`) and, for a value, over the container (constructor injection included).
   *
   * @example
   * server.overrideProvider({ token: Clock, value: fixedClock });
   */
  overrideProvider<T>(override: ProviderOverride<T>): void {
    this.assertOpen("overrideProvider");
    this.providerTable.override(override as ProviderOverride);
  }

  /** Runs `hook` when the server closes, after in-flight calls finished (last registered first). */
  onShutdown(hook: () => void | Promise<void>): void {
    if (this.lifecycle === "closing") {
      throw new ServerStateError("LANTERN_ERR_CLOSING", "server.onShutdown() was called while the server is closing: the hook would never run");
    }
    this.shutdownHooks.push(hook);
  }

  setAuthenticator(authenticator: Authenticator): void {
    this.assertOpen("setAuthenticator");
    if (this.authenticatorValue && this.authenticatorValue !== authenticator) {
      throw new DefinitionError("Only one authenticator can settle identities; this server already has one (use one AuthMiddleware)");
    }
    this.authenticatorValue = authenticator;
  }

  /** Keeps the counts of every `@RateLimit` (a `QuotaMiddleware` sets its store in `setup`); one per server. */
  setToolLimiter(limiter: ToolLimiter): void {
    this.assertOpen("setToolLimiter");
    if (this.toolLimiter && this.toolLimiter !== limiter) {
      throw new DefinitionError("Only one limit store can keep @RateLimit counts; this server already has one (use one QuotaMiddleware)");
    }
    this.toolLimiter = limiter;
  }

  setRequestGate(gate: RequestGate): void {
    this.assertOpen("setRequestGate");
    if (this.requestGateValue && this.requestGateValue !== gate) {
      throw new DefinitionError("Only one request gate can limit HTTP requests; this server already has one (use one QuotaMiddleware)");
    }
    this.requestGateValue = gate;
  }

  /** The authenticator the transports ask, if one was set. */
  get authenticator(): Authenticator | undefined {
    return this.authenticatorValue;
  }

  /** What counts this server's limits, once set (a `QuotaMiddleware`'s; for `@RateLimit` alone, made in memory when built). */
  get limiter(): ToolLimiter | undefined {
    return this.toolLimiter;
  }

  onListen(listener: (endpoint: ListeningEndpoint) => void): void {
    this.listenListeners.push(listener);
  }

  /**
   * Tells the `onListen` listeners where the server listens; called by the transport before it
   * serves its first request. Listeners may still add routes (paths that depend on the URL).
   */
  announceListening(endpoint: ListeningEndpoint): void {
    this.announcing = true;
    try {
      for (const listener of this.listenListeners) listener(endpoint);
    } finally {
      this.announcing = false;
    }
  }

  onClientLog(listener: (record: ClientLogRecord) => void): void {
    this.clientLogListeners.push(listener);
  }

  onRefusal(listener: (event: RefusalEvent) => void): () => void {
    return attach(this.refusalListeners, listener);
  }

  onSession(listener: (event: SessionEvent) => void): () => void {
    return attach(this.sessionListeners, listener);
  }

  /**
   * Tells `observer` about every call once it ended, also after the server was built (the dashboard
   * attaches this way). Returns a function that detaches it. Middleware is the way to act on calls;
   * observers only watch.
   */
  observeCalls(observer: CallObserver): () => void {
    return attach(this.callObservers, observer);
  }

  /**
   * Builds the server once: runs every middleware's `setup` (once each), constructs the server
   * classes, checks every injected token and composes every chain. Called by `listen`, `connect`
   * and `createTestClient`; a definition mistake rejects here with a message naming class, method
   * and reason.
   */
  build(): Promise<ProtocolHost> {
    return (this.built ??= this.buildOnce());
  }

  /** Serves one 2025-era client over a transport you made (the in-memory transport of tests, say). */
  async connect(transport: Transport, options: ConnectOptions = { transport: "memory" as TransportKind }): Promise<void> {
    const host = await this.build();
    await host.connect(transport, options);
  }

  /**
   * Serves over stdio or Streamable HTTP until `close()` (or SIGINT/SIGTERM).
   *
   * @example
   * await server.listen({ transport: "http", port: 3000 }); // http://127.0.0.1:3000/mcp
   */
  async listen(options: ListenOptions): Promise<RunningServer> {
    if (this.running) throw new Error("This server is already listening; close() it first");
    const { startTransport, checkListenOptions } = await import("../transports/listen.js");
    options = checkListenOptions(options);
    const host = await this.build();
    this.running = await startTransport(this, host, options);
    return this.running;
  }

  /**
   * Stops accepting, lets in-flight calls finish (at most `graceMs`), closes every session, then runs
   * the shutdown hooks (last registered first). Calls the shutdown ends are recorded as `cancelled`
   * with the error type `server_shutdown`.
   */
  close(graceMs = 10_000): Promise<void> {
    return (this.closing ??= this.closeOnce(graceMs));
  }

  private async closeOnce(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    await this.running?.stopAccepting();
    // From here an abort is the server's, whatever signal carries it.
    const hooks = [...this.shutdownHooks].reverse();
    this.lifecycle = "closing";
    if (this.host) await this.host.drain(graceMs);
    await this.running?.drain(Math.max(0, deadline - Date.now()));
    await this.host?.closeAll();
    await this.running?.close();
    for (const hook of hooks) {
      try {
        await hook();
      } catch (error) {
        writeStderrNotice(`a shutdown hook failed: ${describeError(error)}`);
      }
    }
  }

  private scan(cls: Function): ScannedClass {
    return scanServerClass(cls, BUILT_IN_TOKENS);
  }

  private addScanned(scanned: ScannedClass): void {
    for (const definition of scanned.members) this.compiler.claim(definition);
    this.classes.push(scanned);
    this.definitions.push(...scanned.members);
  }

  /**
   * One path for every `add*`: claim the name, then compile now (started) or with the rest (not yet).
   * A definition refused after the start keeps neither its name nor a place in `tools()`.
   */
  private addDefinition(definition: MemberDefinition): void {
    if (this.lifecycle === "closing") throw new ServerStateError("LANTERN_ERR_CLOSING", `${definition.label} was called while the server is closing`);
    this.compiler.claim(definition);
    if (this.lifecycle !== "started") {
      this.definitions.push(definition);
      return;
    }
    try {
      this.compiler.compileLate(definition, this.registry!);
    } catch (error) {
      this.compiler.release(definition);
      throw error;
    }
    this.definitions.push(definition);
    // Telling clients is best-effort: one that went away must not fail the registration.
    this.host!.announceListChanged().catch(() => {});
  }

  /** `use` and `register` shape the chains and classes: refused once the build began. */
  private assertNotBuilt(call: string): void {
    if (this.built) {
      throw new ServerStateError("LANTERN_ERR_ALREADY_STARTED", `server.${call}() was called after the server was built (listen, connect, build or createTestClient ran); call it before`);
    }
  }

  /** Extension points middleware use in `setup`: accepted until the server started, refused after (they would have no effect). */
  private assertOpen(call: string): void {
    if (this.lifecycle === "started" || this.lifecycle === "closing") {
      throw new ServerStateError("LANTERN_ERR_ALREADY_STARTED", `server.${call}() was called after the server started, where it would have no effect; call it before listen/connect/build (middleware do it in setup)`);
    }
  }

  private async buildOnce(): Promise<ProtocolHost> {
    this.lifecycle = "building";
    // Setup may add members (with middleware of their own): repeat until every object is set up.
    for (let pending = this.compiler.pendingSetup(this.definitions); pending.length; pending = this.compiler.pendingSetup(this.definitions)) {
      for (const mw of pending) await this.compiler.runSetup(mw, this);
    }
    if (!this.toolLimiter && this.definitions.some((d) => d.rateLimit)) {
      // Without a QuotaMiddleware, @RateLimit counts live in process memory (loaded only when used).
      const { Limiter } = await import("../limits/limiter.js");
      this.toolLimiter = new Limiter();
    }
    const registry = new Registry(() => this.authenticatorValue?.hideForbiddenTools === true);
    for (const owner of this.classes) {
      const instance = this.compiler.instantiate(owner.target);
      for (const completion of owner.completions) {
        const fn = (instance as Record<string, Completer>)[completion.method]!;
        registry.completions.add(completion.target, (value, context) => fn.call(instance, value, context), completion.label);
      }
    }
    for (const definition of this.definitions) this.compiler.compile(definition, registry);
    registry.completions.check(registry);
    this.registry = registry;
    this.host = new ProtocolHost(this.info, registry, {
      authenticator: () => this.authenticatorValue,
      requestGate: () => this.requestGateValue,
      clientLog: (record) => { for (const listener of this.clientLogListeners) listener(record); },
      session: (event) => { for (const listener of this.sessionListeners) listener(event); },
      refusal: (event) => {
        for (const listener of this.refusalListeners) {
          try {
            listener(event);
          } catch {
            // A listener must never change how a refusal is answered.
          }
        }
      },
      observers: this.callObservers,
      defaultTimeoutMs: this.defaultTimeoutMs,
      cacheHints: this.options.cacheHints,
      seal: this.seal,
    });
    this.lifecycle = "started";
    return this.host;
  }
}
