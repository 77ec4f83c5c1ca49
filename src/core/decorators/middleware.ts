import type { ConfigurableMiddlewareClass, Middleware, MiddlewareSpec } from "../middleware.js";
import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";
import { checkOptions, type OptionsSpec } from "../options.js";

/** A recorded middleware spec: on a class (`method` undefined) or on one method. */
export interface MiddlewareBinding {
  method: string | undefined;
  spec: MiddlewareSpec;
}

type ClassOrMethodDecorator = ClassDecorator & MethodDecorator;

function recordSpec(target: object, key: string | symbol | undefined, spec: MiddlewareSpec): void {
  const owner = key === undefined ? target : (target as { constructor: object }).constructor;
  recordListEntry<MiddlewareBinding>(METADATA.middleware, owner, { method: key === undefined ? undefined : String(key), spec });
}

/**
 * Runs middleware for every tool of a class, or for one method. Chains merge server → class →
 * method: server-wide middleware is outermost.
 *
 * @example
 * @UseMiddleware(async (ctx, next) => { console.log(ctx.name); return next(); })
 * class HrApi { ... }
 */
export function UseMiddleware(...middleware: Middleware[]): ClassOrMethodDecorator {
  for (const mw of middleware) {
    if (typeof mw !== "function" && typeof mw?.handle !== "function") {
      throw new TypeError("@UseMiddleware takes functions (ctx, next) => result or objects with handle(ctx, next)");
    }
  }
  return ((target: object, key?: string | symbol) => {
    for (const mw of middleware) recordSpec(target, key, { kind: "instance", middleware: mw });
  }) as ClassOrMethodDecorator;
}

/**
 * Builds the decorator form of a configurable middleware (`@Traced`, `@Audited`, `@Metered`,
 * `@Logged`). Options merge server → class → method as the middleware's `decoratorOptions` declare
 * (`override` or `union`); when the server also uses an instance of the same middleware, the call
 * runs through that instance once, with the merged options.
 *
 * @example
 * export const Audited = middlewareDecorator(AuditMiddleware);
 */
export function middlewareDecorator<Options extends object, DecoratorOptions extends Partial<Options> = Partial<Options>>(
  type: ConfigurableMiddlewareClass<Options>,
  /** The options a decorator may set per class or method, with their types; anything else is refused, naming class, method and key. */
  spec?: OptionsSpec<DecoratorOptions>,
  /** The decorator's name, for messages (`Audited`). Default: the middleware class's name. */
  name: string = type.name,
): (options?: DecoratorOptions) => ClassOrMethodDecorator {
  if (typeof type?.decoratorOptions !== "object" || type.decoratorOptions === null) {
    throw new TypeError(
      `middlewareDecorator(${type?.name ?? String(type)}): the middleware declares no decoratorOptions; add static readonly decoratorOptions = { option: "override" | "union" } listing what a decorator may set per class or method`,
    );
  }
  return (options) =>
    ((target: object, key?: string | symbol) => {
      const owner = key === undefined ? target : (target as { constructor: object }).constructor;
      const where = `${(owner as { name?: string }).name ?? "?"}${key === undefined ? "" : `.${String(key)}`}`;
      const checked = spec ? checkOptions(spec, options, `${spec.owner} of ${where}`) : { ...options };
      recordSpec(target, key, { kind: "configurable", type: type as unknown as ConfigurableMiddlewareClass<object>, options: checked as object, decorator: `@${name}` });
    }) as ClassOrMethodDecorator;
}
