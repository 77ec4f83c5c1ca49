import type { InjectionToken } from "tsyringe";
import { tsyringeLibrary } from "../libraries.js";
import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";

/** A recorded `@Inject` or `@Param` on a method parameter. */
export interface ParameterBinding {
  method: string;
  index: number;
  source: { kind: "inject"; token: InjectionToken<unknown> } | { kind: "param"; name: string };
}

/** A recorded `@Inject` on a constructor parameter (tsyringe resolves it; the scanner checks it). */
export interface ConstructorInjection {
  index: number;
  token: InjectionToken<unknown>;
}

/**
 * Injects a value into a parameter: on a tool, resource or prompt method, a per-call value
 * (`CallContext`, `ServerLogger`, `ProgressReporter`, `AbortSignal`, a collector) or any token of the
 * container; on a constructor, tsyringe's own injection.
 *
 * @example
 * async importCsv(input: ImportCsv, @Inject(ServerLogger) logger: ServerLogger) { ... }
 */
export function Inject(token: InjectionToken<unknown>): ParameterDecorator {
  if (token === undefined || token === null) {
    throw new TypeError("@Inject needs a token: a class, a string or a symbol (was it imported before it was defined?)");
  }
  return (target, key, index) => {
    if (key === undefined) {
      tsyringeLibrary().inject(token)(target, key, index);
      recordListEntry<ConstructorInjection>(METADATA.constructorInjections, target, { index, token });
      return;
    }
    recordListEntry<ParameterBinding>(METADATA.injections, target.constructor, {
      method: String(key),
      index,
      source: { kind: "inject", token },
    });
  };
}

/**
 * Binds a resource template variable (`{id}` in `hr://policies/{id}`) to a parameter.
 *
 * @example
 * @Resource("hr://policies/{id}") policy(@Param("id") id: string) { ... }
 */
export function Param(name: string): ParameterDecorator {
  return (target, key, index) => {
    if (key === undefined) throw new TypeError("@Param binds resource template variables on methods, not constructors");
    recordListEntry<ParameterBinding>(METADATA.injections, target.constructor, {
      method: String(key),
      index,
      source: { kind: "param", name },
    });
  };
}
