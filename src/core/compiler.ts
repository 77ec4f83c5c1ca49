import { UriTemplate } from "@modelcontextprotocol/server";
import type { DependencyContainer, InjectionToken } from "tsyringe";
import type { CallContext } from "./call-context.js";
import type { ToolLimiter } from "./server-setup.js";
import type { InputClass, MemberDefinition, ParameterResolver, PromptOptions, ResourceOptions, ToolOptions } from "./definitions.js";
import { DefinitionError, describeError, InvalidParamsError } from "./errors.js";
import { promptTerminal, resourceTerminal, toolTerminal, type TerminalEnvironment } from "./invoke.js";
import { PROVIDED_BY } from "./metadata-keys.js";
import {
  compose,
  mergeOptions,
  type ConfigurableMiddleware,
  type ConfigurableMiddlewareClass,
  type Middleware,
  type MiddlewareObject,
} from "./middleware.js";
import { nameOf, ProviderTable } from "./providers.js";
import { withInputDialect } from "./protocol/json-schema-dialect.js";
import type { Registry, BuiltPrompt, BuiltResource, BuiltTool } from "./registry.js";
import { constructorTokens } from "./scanner.js";
import type { ServerSetup } from "./server-setup.js";
import { createInputValidator, SchemaCatalog } from "./validation.js";

/** What the compiler reads from its server; everything else it is given as definitions. */
export interface CompilerHost {
  readonly container: DependencyContainer;
  readonly providers: ProviderTable;
  /** Values every member may inject without registering anything, made per call (or per server). */
  readonly builtIns: ReadonlyMap<unknown, ParameterResolver>;
  /** The subset of {@link builtIns} that exists only during a call (never in a constructor). */
  readonly perCallTokens: ReadonlySet<unknown>;
  /** The server's own middleware (`use()`), outermost first. */
  readonly serverMiddleware: readonly Middleware[];
  readonly terminal: TerminalEnvironment;
  readonly defaultTimeoutMs: number | undefined;
  /** Keeps the counts of `@RateLimit`s; set (by a `QuotaMiddleware`, or in memory) before a limited member compiles. */
  toolLimiter(): ToolLimiter | undefined;
}

const PRIMITIVE_TYPES = new Set<unknown>([Object, String, Number, Boolean, Array, Function, Promise, Symbol]);

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";

/** A URI template with its variable names blanked: two templates with the same key match the same URIs. */
const templateKey = (uri: string): string => uri.replace(/\{([+#./;?&]?)[^}]*\}/g, "{$1}");

/** What a definition's name is unique within: its kind's names, static resource URIs, or templates by the URIs they match. */
const claimKey = ({ kind, name }: MemberDefinition): string =>
  kind === "resource" && UriTemplate.isTemplate(name) ? `template\u0000${templateKey(name)}` : `${kind}\u0000${name}`;

/**
 * Turns member definitions (from decorated classes and from `addTool` / `addResource` /
 * `addPrompt`, the same shape) into the registry a server serves. One path for every member:
 *
 * - names are claimed per kind when a definition is registered: a second tool or prompt of a name,
 *   static resource of a URI or template matching the same URIs is a {@link DefinitionError}
 *   naming both places;
 * - every middleware object (from `use()`, decorators and `add*` specs, and the one instance per
 *   server of a configurable middleware only decorators name) is set up exactly once;
 * - every injection token is checked when the member is compiled;
 * - every chain is the server's middleware, then the class's, then the method's (or the spec's);
 *   a configurable middleware runs once per call, with its options merged server → class → method
 *   as its `decoratorOptions` declare.
 *
 * After compiling, nothing reads decorator metadata.
 */
export class DefinitionCompiler {
  private readonly claims = new Map<string, string>();
  private readonly setUp = new WeakSet<object>();
  private readonly shared = new Map<ConfigurableMiddlewareClass<object>, ConfigurableMiddleware<object>>();
  private readonly instances = new Map<Function, object>();
  private readonly checkedServices = new Set<unknown>();
  private readonly catalog = new SchemaCatalog();

  constructor(private readonly host: CompilerHost) {}

  /** Claims the definition's name for its kind; a second claim is a DefinitionError naming both places. */
  claim(definition: MemberDefinition): void {
    const { kind, name, label } = definition;
    const template = kind === "resource" && UriTemplate.isTemplate(name);
    const key = claimKey(definition);
    const existing = this.claims.get(key);
    if (existing) {
      const fix =
        kind === "tool" ? "give one of them @Tool({ name })" :
        kind === "prompt" ? "give one of them @Prompt({ name })" :
        template ? "the first would answer every read; change one of the templates" :
        "change one of the URIs";
      const what = kind === "resource" ? (template ? `a template matching the same URIs (${existing.split("\u0000")[1]})` : "a resource of that URI") : `a ${kind} of that name`;
      throw new DefinitionError(`Cannot register ${kind} "${name}" on ${label}: ${existing.split("\u0000")[0]} already registered ${what}; ${fix}`);
    }
    this.claims.set(key, `${label}\u0000${name}`);
  }

  /** Gives back the name a refused definition claimed, so that a corrected one may take it. */
  release(definition: MemberDefinition): void {
    this.claims.delete(claimKey(definition));
  }

  /**
   * The middleware objects the definitions (and the server) run, each once, in chain order: the
   * server's first. A configurable middleware a decorator names that the server does not `use()`
   * gets one instance per server.
   */
  middlewareObjects(definitions: readonly MemberDefinition[]): MiddlewareObject[] {
    const seen = new Set<MiddlewareObject>();
    const add = (mw: Middleware): void => {
      if (typeof mw !== "function") seen.add(mw);
    };
    for (const mw of this.host.serverMiddleware) add(mw);
    for (const definition of definitions) {
      for (const spec of definition.middleware) {
        if (spec.kind === "instance") add(spec.middleware);
        else if (!this.host.serverMiddleware.some((mw) => mw instanceof spec.type)) add(this.sharedInstance(spec.type, spec.decorator, definition.label));
      }
    }
    return [...seen];
  }

  /** Middleware objects of `definitions` whose `setup` has not run yet. */
  pendingSetup(definitions: readonly MemberDefinition[]): MiddlewareObject[] {
    return this.middlewareObjects(definitions).filter((mw) => !this.setUp.has(mw));
  }

  /** Runs `setup(server)` of a middleware object, once per compiler (that is, per server). */
  async runSetup(middleware: MiddlewareObject, server: ServerSetup): Promise<void> {
    if (this.setUp.has(middleware)) return;
    this.setUp.add(middleware);
    await middleware.setup?.(server);
  }

  /**
   * Builds the server classes the definitions name (constructor injection through the container),
   * after checking that no constructor asks for a value that exists only during a call.
   */
  instantiate(owner: Function): object {
    let instance = this.instances.get(owner);
    if (instance) return instance;
    this.checkConstructor(owner, owner.name, new Set());
    try {
      instance = this.host.container.resolve(owner as InjectionToken<object>);
    } catch (error) {
      throw new DefinitionError(`Cannot build ${owner.name}: the container could not construct it (register its constructor's dependencies, and mark them @injectable()): ${describeError(error)}`);
    }
    this.instances.set(owner, instance);
    return instance;
  }

  /** Compiles one definition into `registry`. */
  compile(definition: MemberDefinition, registry: Registry): void {
    const chain = this.chainOf(definition);
    const run = this.runner(definition);
    switch (definition.kind) {
      case "tool": registry.addTool(this.tool(definition, run, chain)); break;
      case "resource": registry.addResource(this.resource(definition, run, chain)); break;
      case "prompt": registry.addPrompt(this.prompt(definition, run, chain)); break;
    }
  }

  /**
   * Compiles a definition added after the server started (`addTool` at run time): the same path,
   * except that a middleware whose `setup` never ran cannot join now (its routes, providers and
   * shutdown hooks would be missed).
   */
  compileLate(definition: MemberDefinition, registry: Registry): void {
    const pending = this.pendingSetup([definition]);
    const late = pending.filter((mw) => typeof mw.setup === "function");
    if (late.length) {
      throw new DefinitionError(
        `Cannot register ${definition.kind} "${definition.name}" on ${definition.label} after the server started: its middleware ${late.map((m) => m.constructor?.name ?? "object").join(", ")} has a setup() that would never run; ` +
          "use() it on the server before it starts, or add the member before listen()",
      );
    }
    for (const mw of pending) this.setUp.add(mw);
    this.compile(definition, registry);
  }

  private sharedInstance(type: ConfigurableMiddlewareClass<object>, decorator: string, label: string): ConfigurableMiddleware<object> {
    let instance = this.shared.get(type);
    if (!instance) {
      try {
        instance = new type();
      } catch (error) {
        throw new DefinitionError(
          `Cannot set up ${decorator} declared on ${label}: no ${type.name} is used by the server, and one with default options cannot be made: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      this.shared.set(type, instance);
    }
    return instance;
  }

  /**
   * The chain of one member: the server's middleware, then the class's, then the method's (or an
   * `add*` spec's). A configurable middleware named by decorators runs once: through the server's
   * instance when there is one (at its place), else through the server's shared instance (at its
   * first declaration), with the options merged by its contract.
   */
  private chainOf(definition: MemberDefinition): Middleware[] {
    const chain: Middleware[] = [...this.host.serverMiddleware];
    const merged = new Map<ConfigurableMiddlewareClass<object>, object>();
    const inner: (Middleware | ConfigurableMiddlewareClass<object>)[] = [];
    for (const spec of definition.middleware) {
      if (spec.kind === "instance") {
        inner.push(spec.middleware);
        continue;
      }
      const before = merged.get(spec.type);
      if (!before) inner.push(spec.type);
      merged.set(spec.type, mergeOptions(spec.type.decoratorOptions, before ?? {}, spec.options));
    }
    for (const item of inner) {
      const options = merged.get(item as ConfigurableMiddlewareClass<object>);
      if (!options) {
        // One object named at several levels runs once, at its outermost place.
        if (!chain.includes(item as Middleware)) chain.push(item as Middleware);
        continue;
      }
      const type = item as ConfigurableMiddlewareClass<object>;
      const index = chain.findIndex((mw) => mw instanceof type);
      if (index >= 0) chain[index] = (chain[index] as ConfigurableMiddleware<object>).withOptions(options);
      else chain.push(this.shared.get(type)!.withOptions(options));
    }
    // `@RateLimit` runs innermost, after every middleware, so each refusal is seen (counted, logged, traced, audited).
    if (definition.rateLimit) {
      const limiter = this.host.toolLimiter();
      if (!limiter) throw new DefinitionError(`Cannot register ${definition.kind} "${definition.name}" on ${definition.label}: its @RateLimit has no limit store`);
      chain.push(limiter.limitStep(definition.rateLimit, { kind: definition.kind, name: definition.name }));
    }
    return chain;
  }

  /** Calls the handler with its parameters resolved; disposes what providers made once it settled. */
  private runner(definition: MemberDefinition): (ctx: CallContext) => unknown {
    let disposes = false;
    const resolvers = definition.parameters.map((source, index): ParameterResolver => {
      switch (source.kind) {
        case "input": return (ctx) => ctx.input;
        case "variables": return (ctx) => ctx.args;
        case "param": { const name = source.name; return (ctx) => ctx.args[name]; }
        case "inject": {
          const resolver = this.injection(definition, source.token, index);
          if (resolver.scoped) disposes = true;
          return resolver.resolve;
        }
      }
    });
    const handler = definition.handler;
    const target = handler.kind === "method" ? this.instantiate(handler.owner) : undefined;
    const fn = (handler.kind === "method" ? (target as Record<string, (...args: unknown[]) => unknown>)[handler.method] : handler.fn) as (...args: unknown[]) => unknown;
    let call: (ctx: CallContext) => unknown;
    switch (resolvers.length) {
      case 0: call = () => fn.call(target); break;
      case 1: { const [a] = resolvers as [ParameterResolver]; call = (ctx) => fn.call(target, a(ctx)); break; }
      case 2: { const [a, b] = resolvers as [ParameterResolver, ParameterResolver]; call = (ctx) => fn.call(target, a(ctx), b(ctx)); break; }
      default: call = (ctx) => fn.apply(target, resolvers.map((resolve) => resolve(ctx)));
    }
    return disposes ? this.disposingAfter(call) : call;
  }

  /** Tears down what the call's providers made once the handler itself settled (not when a timeout raced it). */
  private disposingAfter(call: (ctx: CallContext) => unknown): (ctx: CallContext) => unknown {
    const report = this.host.terminal.internalError;
    const dispose = (ctx: CallContext) => ProviderTable.dispose(ctx, (error) => report(ctx, error));
    return (ctx) => {
      let value: unknown;
      try {
        value = call(ctx);
      } catch (error) {
        if (!ProviderTable.needsDisposal(ctx)) throw error;
        return dispose(ctx).then(() => { throw error; });
      }
      if (!ProviderTable.needsDisposal(ctx)) return value;
      if (!isPromise(value)) return dispose(ctx).then(() => value);
      return value.then(
        (settled) => dispose(ctx).then(() => settled),
        (error: unknown) => dispose(ctx).then(() => { throw error; }),
      );
    };
  }

  /**
   * How an injected token is resolved on each call, checked now: a provider (or test override), a
   * built-in per-call value, a container registration, or a class the container can construct.
   */
  private injection(definition: MemberDefinition, token: InjectionToken<unknown>, index: number): { resolve: ParameterResolver; scoped: boolean } {
    const { providers, builtIns } = this.host;
    if (providers.has(token)) return { resolve: providers.resolver(token), scoped: true };
    const builtIn = builtIns.get(token);
    if (builtIn) return { resolve: builtIn, scoped: false };
    const fail = (reason: string): never => {
      throw new DefinitionError(`Cannot register ${definition.kind} "${definition.name}" on ${definition.label}: parameter #${index + 1} injects ${nameOf(token)}, ${reason}`);
    };
    if (providers.inContainer(token)) return { resolve: providers.resolver(token), scoped: true };
    const providedBy = typeof token === "function" ? (token as unknown as Record<symbol, unknown>)[PROVIDED_BY] : undefined;
    if (typeof providedBy === "string") fail(`which only ${providedBy} provides, and this server has none`);
    if (typeof token !== "function") fail("which nothing provides; register it with container.register(...) or provide it with server.provide(token, factory)");
    if (PRIMITIVE_TYPES.has(token)) fail("a plain type the container cannot make; name a class or a registered token with @Inject(Token)");
    this.checkService(token as Function, `${definition.label}'s parameter #${index + 1}`);
    return { resolve: providers.resolver(token), scoped: true };
  }

  /** A class injected into a method: it must be constructible now, not fail on every call. */
  private checkService(service: Function, where: string): void {
    if (this.checkedServices.has(service)) return;
    this.checkConstructor(service, where, new Set());
    try {
      this.host.container.resolve(service as InjectionToken<unknown>);
    } catch (error) {
      throw new DefinitionError(`Cannot inject ${service.name} into ${where}: the container cannot construct it (register it, or mark it @injectable() and register what its constructor needs): ${describeError(error)}`);
    }
    this.checkedServices.add(service);
  }

  /** No constructor on the way from `cls` asks for a value that exists only during a call. */
  private checkConstructor(cls: Function, root: string, seen: Set<Function>): void {
    if (seen.has(cls)) return;
    seen.add(cls);
    constructorTokens(cls).forEach((token, index) => {
      if (this.host.perCallTokens.has(token)) {
        const name = nameOf(token);
        throw new DefinitionError(
          `Cannot build ${root}: ${cls.name}'s constructor parameter #${index + 1} injects ${name}, which exists only during a call (a constructor runs once, outside any call); ` +
            `inject it into the method instead: @Inject(${name}) on a parameter of the tool, resource or prompt`,
        );
      }
      if (typeof token === "function" && !PRIMITIVE_TYPES.has(token)) this.checkConstructor(token, root, seen);
    });
  }

  private tool(definition: MemberDefinition, run: (ctx: CallContext) => unknown, middleware: Middleware[]): BuiltTool {
    const { name, label, inputClass, authorization } = definition;
    const options = definition.options as ToolOptions;
    const inputSchema = inputClass ? withInputDialect(this.catalog.schemaOf(inputClass)) : { type: "object" as const, properties: {} };
    const validate = inputClass ? createInputValidator(inputClass, `tool "${name}"`) : rejectAnyArguments(name);
    const descriptor: BuiltTool["descriptor"] = {
      name,
      ...(options.title ? { title: options.title } : {}),
      description: options.description,
      inputSchema: inputSchema as BuiltTool["descriptor"]["inputSchema"],
      ...(options.output ? { outputSchema: this.catalog.schemaOf(options.output) as BuiltTool["descriptor"]["inputSchema"] } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.meta ? { _meta: options.meta } : {}),
    };
    const terminal = toolTerminal({ authorization, validate, outputClass: options.output, run }, this.host.terminal);
    return { name, label, descriptor, authorization, timeoutMs: options.timeoutMs ?? this.host.defaultTimeoutMs, chain: compose(middleware, terminal) };
  }

  private resource(definition: MemberDefinition, run: (ctx: CallContext) => unknown, middleware: Middleware[]): BuiltResource {
    const { name: uri, label, authorization } = definition;
    const options = definition.options as ResourceOptions;
    const template = UriTemplate.isTemplate(uri) ? new UriTemplate(uri) : undefined;
    const common = {
      name: options.name ?? (definition.handler.kind === "method" ? definition.handler.method : uri),
      ...(options.title ? { title: options.title } : {}),
      ...(options.description ? { description: options.description } : {}),
      ...(options.mimeType ? { mimeType: options.mimeType } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    const descriptor = (template ? { uriTemplate: uri, ...common } : { uri, ...common, ...(options.size !== undefined ? { size: options.size } : {}) }) as BuiltResource["descriptor"];
    return { uri, label, template, descriptor, authorization, chain: compose(middleware, resourceTerminal(run, authorization, options.mimeType, this.host.terminal)) };
  }

  private prompt(definition: MemberDefinition, run: (ctx: CallContext) => unknown, middleware: Middleware[]): BuiltPrompt {
    const { name, label, inputClass: argsClass, authorization } = definition;
    const options = definition.options as PromptOptions;
    const schema = argsClass ? this.catalog.schemaOf(argsClass) : undefined;
    const required = new Set(schema?.required ?? []);
    const args = Object.entries(schema?.properties ?? {}).map(([argName, property]) => ({
      name: argName,
      ...(typeof (property as { description?: unknown }).description === "string" ? { description: (property as { description: string }).description } : {}),
      required: required.has(argName),
    }));
    const validate = argsClass ? createInputValidator(argsClass as InputClass, `prompt "${name}"`) : undefined;
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
      chain: compose(middleware, promptTerminal(run, authorization, validate, options.description, this.host.terminal)),
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
