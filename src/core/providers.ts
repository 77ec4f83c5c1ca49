import type { DependencyContainer, InjectionToken } from "tsyringe";
import type { CallContext } from "./call-context.js";
import { describeError } from "./errors.js";

/** Resolves another injectable value inside a provider's factory (memoised for the call). */
export type ResolveDependency = <T>(token: InjectionToken<T>) => T;

/**
 * Makes the value of a token for one call. `get` resolves other tokens (other providers, built-in
 * per-call values, the container's) for the same call.
 *
 * @example
 * server.provide(Db, (ctx, get) => get(Pool).connect(), { dispose: (db) => db.release() });
 */
export type ProviderFactory<T = unknown> = (ctx: CallContext, get: ResolveDependency) => T;

/** Options of `server.provide(token, factory, options)`. */
export interface ProviderOptions<T = unknown> {
  /** Runs after the call's handler settled (last made, first disposed); its failure is reported, never the call's. */
  dispose?: (value: T) => void | Promise<void>;
}

/**
 * A test's replacement for what a token injects: a fixed value, or a factory like `provide`'s.
 *
 * @example
 * await createTestClient(HrApi, { providers: [{ token: Clock, value: fixedClock }] });
 */
export type ProviderOverride<T = unknown> =
  | { token: InjectionToken<T>; value: T }
  | ({ token: InjectionToken<T>; factory: ProviderFactory<T> } & ProviderOptions<T>);

interface Provider {
  factory: ProviderFactory;
  dispose: ((value: unknown) => void | Promise<void>) | undefined;
}

/** What one call resolved: each token once, and what to dispose after it. */
class CallScope {
  readonly values = new Map<unknown, unknown>();
  readonly resolving: unknown[] = [];
  readonly disposers: (() => void | Promise<void>)[] = [];
}

const SCOPE = Symbol("lantern:call-scope");

/** How a token is named in messages: a class by its name, anything else as a string. */
export const nameOf = (token: unknown): string =>
  typeof token === "function" ? token.name || "(anonymous class)" : String(token);

/**
 * The injectable values of a server: built-in per-call values, `provide()`d factories and test
 * overrides (which win), then the container. Within one call every token resolves once (so two
 * parameters, or two providers, asking for `Db` share one); what a provider marked with `dispose`
 * is disposed after the call's handler settled.
 */
export class ProviderTable {
  private readonly table = new Map<unknown, Provider>();
  private readonly overrides = new Map<unknown, Provider>();

  constructor(
    private readonly container: DependencyContainer,
    /** Built-in values (`CallContext`, `ServerLogger`, ...) a factory may `get` too. */
    private readonly builtIns: ReadonlyMap<unknown, (ctx: CallContext) => unknown> = new Map(),
  ) {}

  set(token: unknown, factory: ProviderFactory, options: ProviderOptions = {}): void {
    if (typeof factory !== "function") throw new TypeError(`provide(${nameOf(token)}, factory): factory must be a function (ctx, get) => value`);
    this.table.set(token, { factory, dispose: options.dispose });
  }

  /** A test's replacement: wins over `provide()` and the container, and is seen by constructor injection for values. */
  override(override: ProviderOverride): void {
    if ("value" in override) {
      const value = override.value;
      this.overrides.set(override.token, { factory: () => value, dispose: undefined });
      this.container.register(override.token as InjectionToken<unknown>, { useValue: value });
    } else {
      this.set(override.token, override.factory, override);
      this.overrides.set(override.token, this.table.get(override.token)!);
    }
  }

  /** Whether a provider (or override) answers `token`. */
  has(token: unknown): boolean {
    return this.overrides.has(token) || this.table.has(token);
  }

  /** Whether the container itself answers `token` (a registration, or a class it may construct). */
  inContainer(token: unknown): boolean {
    return this.container.isRegistered(token as InjectionToken<unknown>, true);
  }

  /** The per-call resolver of `token` (memoised per call). */
  resolver(token: unknown): (ctx: CallContext) => unknown {
    return (ctx) => this.resolve(token, ctx, scopeOf(ctx));
  }

  /**
   * Runs after a call's handler settled: disposes what its providers made, last first. A failing
   * disposer is reported through `report` and never changes how the call ended.
   */
  static async dispose(ctx: CallContext, report: (error: unknown) => void): Promise<void> {
    const scope = ctx.bag.get(SCOPE) as CallScope | undefined;
    if (!scope || scope.disposers.length === 0) return;
    ctx.bag.delete(SCOPE);
    for (const dispose of scope.disposers.reverse()) {
      try {
        await dispose();
      } catch (error) {
        report(error);
      }
    }
  }

  /** Whether the call made anything to dispose (cheap: the common call has no scope at all). */
  static needsDisposal(ctx: CallContext): boolean {
    return (ctx.bag.get(SCOPE) as CallScope | undefined)?.disposers.length! > 0;
  }

  private resolve(token: unknown, ctx: CallContext, scope: CallScope): unknown {
    if (scope.values.has(token)) return scope.values.get(token);
    if (scope.resolving.includes(token)) {
      throw new Error(`Cannot resolve ${nameOf(token)}: its providers depend on each other (${[...scope.resolving, token].map(nameOf).join(" -> ")})`);
    }
    const provider = this.overrides.get(token) ?? this.table.get(token);
    const builtIn = provider ? undefined : this.builtIns.get(token);
    if (builtIn) return builtIn(ctx);
    scope.resolving.push(token);
    let value: unknown;
    try {
      value = provider
        ? provider.factory(ctx, ((dependency: unknown) => this.resolve(dependency, ctx, scope)) as ResolveDependency)
        : this.container.resolve(token as InjectionToken<unknown>);
    } catch (error) {
      throw new Error(`Cannot resolve ${nameOf(token)} for ${ctx.kind} "${ctx.name}": ${describeError(error)}`, { cause: error });
    } finally {
      scope.resolving.pop();
    }
    scope.values.set(token, value);
    const dispose = provider?.dispose;
    if (dispose) scope.disposers.push(() => dispose(value));
    return value;
  }
}

function scopeOf(ctx: CallContext): CallScope {
  let scope = ctx.bag.get(SCOPE) as CallScope | undefined;
  if (!scope) {
    scope = new CallScope();
    ctx.bag.set(SCOPE, scope);
  }
  return scope;
}
