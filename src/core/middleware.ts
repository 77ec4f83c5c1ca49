import type { CallContext } from "./call-context.js";
import type { ServerSetup } from "./server-setup.js";

/** Runs the rest of the chain (the next middleware, or the tool itself) and resolves to its result. */
export type Next = () => Promise<unknown>;

/** A middleware as a function: `(ctx, next) => result`. */
export type MiddlewareFn = (ctx: CallContext, next: Next) => Promise<unknown>;

/** A middleware as an object; `setup` runs once when the server is built. */
export interface MiddlewareObject {
  handle(ctx: CallContext, next: Next): Promise<unknown>;
  /** Called once when the server is built: add routes, resources, injectable values, shutdown hooks. */
  setup?(server: ServerSetup): void | Promise<void>;
}

/**
 * A middleware whose decorator form (`@Traced`, `@Audited`, ...) configures it per class or method.
 * A call covered by both the server-wide instance and the decorator runs it once: the decorator's
 * options are applied to that instance for that tool, at the instance's place in the chain.
 */
export interface ConfigurableMiddleware<Options extends object = object> extends MiddlewareObject {
  /** A middleware like this one (sharing its sinks: file, registry, tracer) with options overridden. */
  withOptions(options: Partial<Options>): MiddlewareObject;
}

/** How one decorator option merges down server → class → method. */
export type OptionMerge =
  /** The nearer declaration replaces the farther one (method over class over server). */
  | "override"
  /** Lists join: nothing declared farther out is ever dropped (redaction, scopes). */
  | "union";

/**
 * A class whose instances are {@link ConfigurableMiddleware}; decorators name it. `decoratorOptions`
 * is its contract: the options a decorator may set per class or method and how each merges. Any
 * other key in a decorator is refused when the server is built, naming class, method and key.
 *
 * @example
 * class Audit implements ConfigurableMiddleware<AuditCallOptions> {
 *   static readonly decoratorOptions = { includeArgs: "override", redact: "union" } as const;
 *   ...
 * }
 */
export interface ConfigurableMiddlewareClass<Options extends object = object> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  new (...args: any[]): ConfigurableMiddleware<Options>;
  readonly decoratorOptions: Readonly<Record<string, OptionMerge>>;
}

/**
 * `nearer` merged onto `farther` under a middleware's declared contract: `override` keys take the
 * nearer value, `union` keys join both lists (without duplicates). Undefined values are ignored.
 *
 * @example
 * mergeOptions({ redact: "union", includeArgs: "override" }, { redact: ["ssn"] }, { redact: ["dob"], includeArgs: true });
 * // { redact: ["ssn", "dob"], includeArgs: true }
 */
export function mergeOptions<Options extends object>(
  contract: Readonly<Record<string, OptionMerge>>,
  farther: Partial<Options>,
  nearer: Partial<Options>,
): Partial<Options> {
  const merged: Record<string, unknown> = { ...farther };
  for (const [key, value] of Object.entries(nearer)) {
    if (value === undefined) continue;
    if (contract[key] === "union") {
      const before = merged[key];
      merged[key] = [...new Set([...(Array.isArray(before) ? before : []), ...(Array.isArray(value) ? value : [value])])];
    } else {
      merged[key] = value;
    }
  }
  return merged as Partial<Options>;
}

export type Middleware = MiddlewareFn | MiddlewareObject;

/** What a decorator records: a middleware to run for a class or method. */
export type MiddlewareSpec =
  | { kind: "instance"; middleware: Middleware }
  | { kind: "configurable"; type: ConfigurableMiddlewareClass<object>; options: object; decorator: string };

/** The innermost step: runs the tool (or resource/prompt handler) itself. */
export type Terminal = (ctx: CallContext) => Promise<unknown>;

/** A composed chain: built once when the server is built, called once per request. */
export type Chain = (ctx: CallContext) => Promise<unknown>;

const toHandler = (middleware: Middleware): MiddlewareFn =>
  typeof middleware === "function" ? middleware : (ctx, next) => middleware.handle(ctx, next);

/**
 * Composes middleware into one function, first = outermost (koa-compose's onion).
 * Calling `next()` twice from one middleware rejects with an error naming the position.
 */
export function compose(middleware: readonly Middleware[], terminal: Terminal): Chain {
  const handlers = middleware.map(toHandler);
  if (handlers.length === 0) return terminal;
  return (ctx) => {
    let last = -1;
    const dispatch = (i: number): Promise<unknown> => {
      if (i <= last) return Promise.reject(new Error(`Middleware #${i - 1} called next() more than once`));
      last = i;
      if (i === handlers.length) return terminal(ctx);
      try {
        return Promise.resolve(handlers[i]!(ctx, () => dispatch(i + 1)));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
