import "reflect-metadata";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { container as rootContainer, type DependencyContainer, type InjectionToken } from "tsyringe";
import { CallContext, type TransportKind } from "./call-context.js";
import type { InputClass, PromptOptions, RateLimitRule, ResourceOptions, ServerInfo, ToolOptions } from "./definitions.js";
import { DefinitionError, describeError, InvalidParamsError } from "./errors.js";
import { promptTerminal, resourceTerminal, toolTerminal, type InternalErrorSink } from "./invoke.js";
import {
  compose,
  type ConfigurableMiddleware,
  type ConfigurableMiddlewareClass,
  type Middleware,
  type MiddlewareObject,
  type MiddlewareSpec,
} from "./middleware.js";
import type { PromptSpec, ResourceHandler, ToolSpec } from "./programmatic.js";
import type { Completer } from "./protocol/completions.js";
import { Registry, type BuiltPrompt, type BuiltResource, type BuiltTool } from "./registry.js";
import { scanServerClass, type ParameterSource, type ScannedClass, type ScannedMember } from "./scanner.js";
import type {
  Authenticator,
  ClientLogRecord,
  RouteHandler,
  ServerSetup,
  SessionEvent,
  ToolLimiter,
  ToolSummary,
} from "./server-setup.js";
import { ProgressReporter, ServerLogger } from "./server-logger.js";
import { Elicitor } from "./protocol/elicitor.js";
import { withInputDialect } from "./protocol/json-schema-dialect.js";
import { Sampler } from "./protocol/sampler.js";
import { StreamControl } from "./protocol/stream-control.js";
import { ResourceUpdates } from "./protocol/subscriptions.js";
import { SessionHost, type CallObserver, type ConnectOptions } from "./session-host.js";
import { createInputValidator, hasValidationRules, SchemaCatalog } from "./validation.js";
import type { ListenOptions, RunningServer } from "../transports/listen.js";

/** Options of `new McpServer(...)`. */
export interface McpServerOptions {
  /** The tsyringe container server classes and injected tokens are resolved from (default: a child of tsyringe's root container). */
  container?: DependencyContainer;
  /** Default time limit of every tool call, in ms; `@Tool({ timeoutMs })` overrides it. */
  defaultTimeoutMs?: number;
  /** Where exceptions' details go (they never reach clients). Default: one line on stderr. */
  onInternalError?: InternalErrorSink;
}

/** Values every tool may inject without registering anything. */
const BUILT_IN_PER_CALL = new Map<unknown, (ctx: CallContext) => unknown>([
  [CallContext, (ctx) => ctx],
  [ServerLogger, (ctx) => new ServerLogger(ctx)],
  [ProgressReporter, (ctx) => new ProgressReporter(ctx)],
  [AbortSignal, (ctx) => ctx.signal],
  [Sampler, (ctx) => new Sampler(ctx)],
  [Elicitor, (ctx) => new Elicitor(ctx)],
  [StreamControl, (ctx) => new StreamControl(ctx)],
]);
// ResourceUpdates is per server, not per call: its provider is set in the constructor.
const BUILT_IN_TOKENS: ReadonlySet<unknown> = new Set([...BUILT_IN_PER_CALL.keys(), ResourceUpdates]);

const defaultInternalErrorSink: InternalErrorSink = (ctx, error) => {
  const detail = error instanceof Error && error.stack ? error.stack : describeError(error);
  process.stderr.write(`[lantern] ${ctx.kind} "${ctx.name}" failed (request ${ctx.requestId}, client ${ctx.clientId}): ${detail}\n`);
};

/**
 * A Lantern MCP server: decorated classes (and programmatic tools, resources and prompts), the
 * middleware chain, and the transports that serve them.
 *
 * @example
 * const server = new McpServer(HrApi);
 * server.use(new StructuredLoggingMiddleware());
 * await server.listen({ transport: "http", port: 3000 });
 */
export class McpServer implements ServerSetup {
  readonly info: ServerInfo;
  readonly container: DependencyContainer;
  private readonly options: McpServerOptions;
  private readonly classes: ScannedClass[] = [];
  private readonly pendingTools: ToolSpec[] = [];
  private readonly pendingResources: { uri: string; handler: ResourceHandler; options: ResourceOptions; middleware: Middleware[] }[] = [];
  private readonly pendingPrompts: PromptSpec[] = [];
  private readonly middleware: Middleware[] = [];
  private readonly providers = new Map<unknown, (ctx: CallContext) => unknown>(BUILT_IN_PER_CALL);
  private readonly shutdownHooks: (() => void | Promise<void>)[] = [];
  private readonly clientLogListeners: ((record: ClientLogRecord) => void)[] = [];
  private readonly sessionListeners: ((event: SessionEvent) => void)[] = [];
  private readonly callObservers: CallObserver[] = [];
  /** One instance per middleware type that decorators name and the server does not `use()`. */
  private readonly sharedMiddleware = new Map<ConfigurableMiddlewareClass<object>, ConfigurableMiddleware<object>>();
  private readonly toolNames = new Map<string, string>();
  /** Extra HTTP routes, keyed `METHOD path`. */
  readonly routes = new Map<string, RouteHandler>();
  private authenticatorValue: Authenticator | undefined;
  private toolLimiter: ToolLimiter | undefined;
  private built: Promise<SessionHost> | undefined;
  private host: SessionHost | undefined;
  private running: RunningServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(serverClassOrInfo: Function | ServerInfo, options: McpServerOptions = {}) {
    this.options = options;
    this.container = options.container ?? rootContainer.createChildContainer();
    const updates = new ResourceUpdates(this);
    this.providers.set(ResourceUpdates, () => updates);
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
      this.info = { ...serverClassOrInfo };
    }
  }

  /** Adds the tools, resources and prompts of more decorated classes. */
  register(...serverClasses: Function[]): this {
    this.assertNotBuilt("register classes");
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
    this.assertNotBuilt("add middleware");
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
   * Adds a tool without a class. After the server started, the tool is built at once (a mistake
   * throws here) and clients are told with `notifications/tools/list_changed`.
   *
   * @example
   * server.addTool({ name: "ping", description: "Answers pong", handler: () => "pong" });
   */
  addTool<Input extends object>(spec: ToolSpec<Input>): void {
    this.claimToolName(spec.name, `server.addTool("${spec.name}")`);
    const tool = spec as unknown as ToolSpec;
    if (this.host) this.addAfterStart(() => this.buildSpecTool(tool, this.host!.registry));
    else this.pendingTools.push(tool);
  }

  /**
   * Adds a resource (or a template, with `{var}` parts) without a class.
   *
   * @example
   * server.addResource("status://{component}", (vars) => ({ component: vars.component, ok: true }));
   */
  addResource(uri: string, handler: ResourceHandler, options: ResourceOptions & { middleware?: Middleware[] } = {}): void {
    const { middleware = [], ...rest } = options;
    const entry = { uri, handler, options: rest, middleware };
    if (this.host) this.addAfterStart(() => this.buildProgrammaticResource(entry, this.host!.registry));
    else this.pendingResources.push(entry);
  }

  /**
   * Adds a prompt without a class.
   *
   * @example
   * server.addPrompt({ name: "greet", description: "Say hello", handler: () => "Hello!" });
   */
  addPrompt<Args extends object>(spec: PromptSpec<Args>): void {
    const prompt = spec as unknown as PromptSpec;
    if (this.host) this.addAfterStart(() => this.buildSpecPrompt(prompt, this.host!.registry));
    else this.pendingPrompts.push(prompt);
  }

  tools(): readonly ToolSummary[] {
    const summaries: ToolSummary[] = [];
    for (const owner of this.classes) {
      for (const tool of owner.tools) {
        summaries.push({ name: tool.name, title: tool.options.title, description: tool.options.description, scopes: tool.authorization.scopes });
      }
    }
    for (const spec of this.pendingTools) {
      summaries.push({ name: spec.name, title: spec.title, description: spec.description, scopes: spec.scopes ?? [] });
    }
    if (this.host) {
      for (const tool of this.host.registry.tools.values()) {
        if (!summaries.some((s) => s.name === tool.name)) {
          summaries.push({ name: tool.name, title: tool.descriptor.title, description: tool.descriptor.description ?? "", scopes: tool.authorization.scopes });
        }
      }
    }
    return summaries;
  }

  route(method: string, path: string, handler: RouteHandler): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  provide<T>(token: unknown, factory: (ctx: CallContext) => T): void {
    this.providers.set(token, factory);
  }

  onShutdown(hook: () => void | Promise<void>): void {
    this.shutdownHooks.push(hook);
  }

  setAuthenticator(authenticator: Authenticator): void {
    if (this.authenticatorValue && this.authenticatorValue !== authenticator) {
      throw new DefinitionError("Only one authenticator can settle identities; this server already has one (use one AuthMiddleware)");
    }
    this.authenticatorValue = authenticator;
  }

  setToolLimiter(limiter: ToolLimiter): void {
    if (this.toolLimiter && this.toolLimiter !== limiter) {
      throw new DefinitionError("Only one limit store can keep @RateLimit counts; this server already has one (use one QuotaMiddleware)");
    }
    this.toolLimiter = limiter;
  }

  /** The authenticator the transports ask, if one was set. */
  get authenticator(): Authenticator | undefined {
    return this.authenticatorValue;
  }

  onClientLog(listener: (record: ClientLogRecord) => void): void {
    this.clientLogListeners.push(listener);
  }

  onSession(listener: (event: SessionEvent) => void): () => void {
    this.sessionListeners.push(listener);
    return () => {
      const index = this.sessionListeners.indexOf(listener);
      if (index >= 0) this.sessionListeners.splice(index, 1);
    };
  }

  /**
   * Tells `observer` about every call once it ended, also after the server was built (the dashboard
   * attaches this way). Returns a function that detaches it. Middleware is the way to act on calls;
   * observers only watch.
   */
  observeCalls(observer: CallObserver): () => void {
    this.callObservers.push(observer);
    return () => {
      const index = this.callObservers.indexOf(observer);
      if (index >= 0) this.callObservers.splice(index, 1);
    };
  }

  /**
   * Builds the server once: runs middleware `setup`, constructs the server classes, resolves every
   * injected token and composes every chain. Called by `listen`, `connect` and `createTestClient`;
   * a definition mistake rejects here with a message naming class, method and reason.
   */
  build(): Promise<SessionHost> {
    return (this.built ??= this.buildOnce());
  }

  /** Serves one client over a transport you made (the in-memory transport of tests, say). */
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
    const host = await this.build();
    const { startTransport } = await import("../transports/listen.js");
    this.running = await startTransport(this, host, options);
    return this.running;
  }

  /**
   * Stops accepting, lets in-flight calls finish (at most `graceMs`), closes every session, then runs
   * the shutdown hooks (last registered first).
   */
  close(graceMs = 10_000): Promise<void> {
    return (this.closing ??= this.closeOnce(graceMs));
  }

  private async closeOnce(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    await this.running?.stopAccepting();
    if (this.host) await this.host.drain(graceMs);
    await this.running?.drain(Math.max(0, deadline - Date.now()));
    await this.host?.closeAll();
    await this.running?.close();
    for (const hook of [...this.shutdownHooks].reverse()) {
      try {
        await hook();
      } catch (error) {
        process.stderr.write(`[lantern] a shutdown hook failed: ${describeError(error)}\n`);
      }
    }
  }

  private scan(cls: Function): ScannedClass {
    return scanServerClass(cls, BUILT_IN_TOKENS);
  }

  private addScanned(scanned: ScannedClass): void {
    for (const tool of scanned.tools) this.claimToolName(tool.name, tool.label);
    this.classes.push(scanned);
  }

  private claimToolName(name: string, label: string): void {
    const existing = this.toolNames.get(name);
    if (existing) throw new DefinitionError(`Cannot register tool "${name}" on ${label}: ${existing} already registered a tool of that name; give one of them @Tool({ name })`);
    this.toolNames.set(name, label);
  }

  private assertNotBuilt(what: string): void {
    if (this.built) throw new Error(`Cannot ${what} after the server was built (listen/connect/build was called)`);
  }

  private addAfterStart(build: () => void): void {
    build();
    // Telling clients is best-effort: one that went away must not fail the registration.
    this.host!.announceListChanged().catch(() => {});
  }

  private async buildOnce(): Promise<SessionHost> {
    for (const mw of this.middleware) if (typeof mw !== "function") await mw.setup?.(this);
    const catalog = new SchemaCatalog();
    const registry = new Registry();
    // Middleware that decorators name is created (and set up) before any tool resolves its
    // parameters, so what it provides (a collector, say) is injectable everywhere.
    for (const owner of this.classes) {
      for (const member of [...owner.tools, ...owner.resources, ...owner.prompts]) {
        for (const spec of member.middleware) {
          if (spec.kind === "configurable" && !this.middleware.some((mw) => mw instanceof spec.type)) await this.shared(spec.type);
        }
      }
    }
    for (const owner of this.classes) {
      const instance = this.instantiate(owner.target);
      for (const tool of owner.tools) registry.addTool(await this.buildClassTool(tool, instance, catalog));
      for (const resource of owner.resources) registry.addResource(await this.buildClassResource(resource, instance));
      for (const prompt of owner.prompts) registry.addPrompt(await this.buildClassPrompt(prompt, instance, catalog));
      for (const completion of owner.completions) {
        const fn = (instance as Record<string, Completer>)[completion.method]!;
        registry.completions.add(completion.target, (value, context) => fn.call(instance, value, context), completion.label);
      }
    }
    for (const spec of this.pendingTools) this.buildSpecTool(spec, registry, catalog);
    for (const entry of this.pendingResources) this.buildProgrammaticResource(entry, registry);
    for (const spec of this.pendingPrompts) this.buildSpecPrompt(spec, registry, catalog);
    registry.completions.check(registry);
    this.host = new SessionHost(this.info, registry, {
      authenticator: () => this.authenticatorValue,
      clientLog: (record) => { for (const listener of this.clientLogListeners) listener(record); },
      session: (event) => { for (const listener of this.sessionListeners) listener(event); },
      observers: this.callObservers,
      defaultTimeoutMs: this.options.defaultTimeoutMs,
    });
    return this.host;
  }

  private get internalError(): InternalErrorSink {
    return this.options.onInternalError ?? defaultInternalErrorSink;
  }

  private instantiate(target: Function): object {
    try {
      return this.container.resolve(target as InjectionToken<object>);
    } catch (error) {
      throw new DefinitionError(`Cannot build ${target.name}: the container could not construct it (register its constructor's dependencies, and mark them @injectable()): ${describeError(error)}`);
    }
  }

  /** Per-call resolvers for a method's parameters; unresolvable tokens fail the build. */
  private resolvers(member: { label: string; name: string; parameters: ParameterSource[] }, kind: string): ((ctx: CallContext) => unknown)[] {
    return member.parameters.map((source, index) => {
      if (source.kind === "input") return (ctx: CallContext) => ctx.input;
      if (source.kind === "param") {
        const name = source.name;
        return (ctx: CallContext) => ctx.args[name];
      }
      const provider = this.providers.get(source.token);
      if (provider) return provider;
      const token = source.token;
      if (typeof token === "function" || this.container.isRegistered(token, true)) {
        return () => this.container.resolve(token);
      }
      throw new DefinitionError(
        `Cannot register ${kind} "${member.name}" on ${member.label}: parameter #${index + 1} injects ${String(token)}, which nothing provides; ` +
          `register it with container.register(...) or provide it with a middleware`,
      );
    });
  }

  private invoker(instance: object, method: string, resolvers: ((ctx: CallContext) => unknown)[]): (ctx: CallContext) => unknown {
    const fn = (instance as Record<string, (...args: unknown[]) => unknown>)[method]!;
    switch (resolvers.length) {
      case 0: return () => fn.call(instance);
      case 1: { const [a] = resolvers as [(ctx: CallContext) => unknown]; return (ctx) => fn.call(instance, a(ctx)); }
      default: return (ctx) => fn.apply(instance, resolvers.map((resolve) => resolve(ctx)));
    }
  }

  /**
   * The chain for one tool, resource or prompt: the server's middleware, then the class's, then the
   * method's. A configurable middleware named by a decorator runs once: through the server's
   * instance when there is one (with the merged options), else through one instance shared by the
   * whole server.
   */
  private async chainMiddleware(specs: MiddlewareSpec[], local: Middleware[] = []): Promise<Middleware[]> {
    const chain: Middleware[] = [...this.middleware];
    const merged = new Map<ConfigurableMiddlewareClass<object>, { options: object; at: number }>();
    const inner: (Middleware | ConfigurableMiddlewareClass<object>)[] = [];
    for (const spec of specs) {
      if (spec.kind === "instance") {
        inner.push(spec.middleware);
        continue;
      }
      const seen = merged.get(spec.type);
      if (seen) seen.options = { ...seen.options, ...spec.options };
      else {
        merged.set(spec.type, { options: { ...spec.options }, at: inner.length });
        inner.push(spec.type);
      }
    }
    for (const item of inner) {
      if (!merged.has(item as ConfigurableMiddlewareClass<object>)) {
        chain.push(item as Middleware);
        continue;
      }
      const type = item as ConfigurableMiddlewareClass<object>;
      const options = merged.get(type)!.options;
      const index = chain.findIndex((mw) => mw instanceof type);
      if (index >= 0) chain[index] = (chain[index] as ConfigurableMiddleware<object>).withOptions(options);
      else chain.push((await this.shared(type)).withOptions(options));
    }
    chain.push(...local);
    return chain;
  }

  private async shared(type: ConfigurableMiddlewareClass<object>): Promise<ConfigurableMiddleware<object>> {
    let instance = this.sharedMiddleware.get(type);
    if (!instance) {
      instance = new type();
      this.sharedMiddleware.set(type, instance);
      await (instance as MiddlewareObject).setup?.(this);
    }
    return instance;
  }

  /**
   * `@RateLimit` runs innermost, after every middleware, so each refusal is seen (counted, logged,
   * traced, audited) like any other. Without a `QuotaMiddleware` the counts live in process memory.
   */
  private async withRateLimit(chain: Middleware[], rule: RateLimitRule | undefined, member: { kind: "tool" | "resource" | "prompt"; name: string }): Promise<Middleware[]> {
    if (!rule) return chain;
    if (!this.toolLimiter) {
      const { Limiter } = await import("../limits/limiter.js");
      this.toolLimiter = new Limiter();
    }
    return [...chain, this.toolLimiter.limitStep(rule, member)];
  }

  private async buildClassTool(tool: ScannedMember<ToolOptions>, instance: object, catalog: SchemaCatalog): Promise<BuiltTool> {
    const chain = await this.withRateLimit(await this.chainMiddleware(tool.middleware), tool.rateLimit, { kind: "tool", name: tool.name });
    const resolvers = this.resolvers(tool, "tool");
    const run = this.invoker(instance, tool.method, resolvers);
    return this.finishTool(tool.name, tool.label, tool.options, tool.inputClass, run, tool.authorization, chain, catalog);
  }

  private buildSpecTool(spec: ToolSpec, registry: Registry, catalog = new SchemaCatalog()): void {
    const label = `server.addTool("${spec.name}")`;
    if (spec.input) this.checkInputClass(spec.input, "tool", spec.name, label);
    const handler = spec.handler;
    const run = (ctx: CallContext) => handler(ctx.input as object, ctx);
    const chain = [...this.middleware, ...(spec.middleware ?? [])];
    registry.addTool(this.finishTool(spec.name, label, spec, spec.input, run, { scopes: spec.scopes ?? [], roles: [] }, chain, catalog));
  }

  private checkInputClass(cls: InputClass, kind: string, name: string, label: string): void {
    if (!hasValidationRules(cls)) {
      throw new DefinitionError(`Cannot register ${kind} "${name}" on ${label}: its input class ${cls.name} has no class-validator decorators, so nothing would be validated`);
    }
  }

  private finishTool(
    name: string,
    label: string,
    options: ToolOptions,
    inputClass: InputClass | undefined,
    run: (ctx: CallContext) => unknown,
    authorization: BuiltTool["authorization"],
    middleware: Middleware[],
    catalog: SchemaCatalog,
  ): BuiltTool {
    const inputSchema = inputClass ? withInputDialect(catalog.schemaOf(inputClass)) : { type: "object" as const, properties: {} };
    const validate = inputClass ? createInputValidator(inputClass, `tool "${name}"`) : rejectAnyArguments(name);
    const descriptor: BuiltTool["descriptor"] = {
      name,
      ...(options.title ? { title: options.title } : {}),
      description: options.description,
      inputSchema,
      ...(options.output ? { outputSchema: catalog.schemaOf(options.output) } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.meta ? { _meta: options.meta } : {}),
    };
    const terminal = toolTerminal({ authorization, validate, outputClass: options.output, run }, this.internalError);
    return {
      name,
      label,
      descriptor,
      authorization,
      timeoutMs: options.timeoutMs ?? this.options.defaultTimeoutMs,
      chain: compose(middleware, terminal),
    };
  }

  private async buildClassResource(resource: ScannedMember<ResourceOptions & { uri: string }>, instance: object): Promise<BuiltResource> {
    const chain = await this.withRateLimit(await this.chainMiddleware(resource.middleware), resource.rateLimit, { kind: "resource", name: resource.options.uri });
    const run = this.invoker(instance, resource.method, this.resolvers(resource, "resource"));
    return this.finishResource(resource.options.uri, resource.label, resource.options, run, resource.authorization, chain, resource.method);
  }

  private buildProgrammaticResource(entry: { uri: string; handler: ResourceHandler; options: ResourceOptions; middleware: Middleware[] }, registry: Registry): void {
    const handler = entry.handler;
    const run = (ctx: CallContext) => handler(ctx.args as Record<string, string | string[]>, ctx);
    registry.addResource(
      this.finishResource(entry.uri, `server.addResource("${entry.uri}")`, entry.options, run, { scopes: [], roles: [] }, [...this.middleware, ...entry.middleware], undefined),
    );
  }

  private finishResource(
    uri: string,
    label: string,
    options: ResourceOptions,
    run: (ctx: CallContext) => unknown,
    authorization: BuiltResource["authorization"],
    middleware: Middleware[],
    method: string | undefined,
  ): BuiltResource {
    const template = UriTemplate.isTemplate(uri) ? new UriTemplate(uri) : undefined;
    const name = options.name ?? method ?? uri;
    const common = {
      name,
      ...(options.title ? { title: options.title } : {}),
      ...(options.description ? { description: options.description } : {}),
      ...(options.mimeType ? { mimeType: options.mimeType } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    const descriptor = template ? { uriTemplate: uri, ...common } : { uri, ...common, ...(options.size !== undefined ? { size: options.size } : {}) };
    return {
      uri,
      label,
      template,
      descriptor,
      authorization,
      chain: compose(middleware, resourceTerminal(run, authorization, options.mimeType, this.internalError)),
    };
  }

  private async buildClassPrompt(prompt: ScannedMember<PromptOptions>, instance: object, catalog: SchemaCatalog): Promise<BuiltPrompt> {
    const chain = await this.withRateLimit(await this.chainMiddleware(prompt.middleware), prompt.rateLimit, { kind: "prompt", name: prompt.name });
    const run = this.invoker(instance, prompt.method, this.resolvers(prompt, "prompt"));
    return this.finishPrompt(prompt.name, prompt.label, prompt.options, prompt.inputClass, run, prompt.authorization, chain, catalog);
  }

  private buildSpecPrompt(spec: PromptSpec, registry: Registry, catalog = new SchemaCatalog()): void {
    const label = `server.addPrompt("${spec.name}")`;
    if (spec.args) this.checkInputClass(spec.args, "prompt", spec.name, label);
    const handler = spec.handler;
    registry.addPrompt(
      this.finishPrompt(spec.name, label, spec, spec.args, (ctx) => handler(ctx.input as object, ctx), { scopes: [], roles: [] }, [...this.middleware], catalog),
    );
  }

  private finishPrompt(
    name: string,
    label: string,
    options: PromptOptions,
    argsClass: InputClass | undefined,
    run: (ctx: CallContext) => unknown,
    authorization: BuiltPrompt["authorization"],
    middleware: Middleware[],
    catalog: SchemaCatalog,
  ): BuiltPrompt {
    const schema = argsClass ? catalog.schemaOf(argsClass) : undefined;
    const required = new Set(schema?.required ?? []);
    const args = Object.entries(schema?.properties ?? {}).map(([argName, property]) => ({
      name: argName,
      ...(typeof (property as { description?: unknown }).description === "string" ? { description: (property as { description: string }).description } : {}),
      required: required.has(argName),
    }));
    const validate = argsClass ? createInputValidator(argsClass, `prompt "${name}"`) : undefined;
    return {
      name,
      label,
      descriptor: {
        name,
        ...(options.title ? { title: options.title } : {}),
        ...(options.description ? { description: options.description } : {}),
        ...(args.length ? { arguments: args } : {}),
      },
      authorization,
      chain: compose(middleware, promptTerminal(run, authorization, validate, options.description, this.internalError)),
    };
  }
}

/** A tool without an input class takes no arguments: anything sent is refused, not ignored. */
function rejectAnyArguments(name: string) {
  return (args: Record<string, unknown>): object => {
    const keys = Object.keys(args ?? {});
    if (keys.length > 0) {
      throw new InvalidParamsError(`Invalid arguments for tool "${name}": it takes no arguments, got ${keys.map((k) => `"${k}"`).join(", ")}`,
        keys.map((property) => ({ property, constraints: { whitelistValidation: `property ${property} should not exist` } })));
    }
    return {};
  };
}
