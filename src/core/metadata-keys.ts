/**
 * Every metadata key Lantern's decorators write. `Symbol.for` keeps two copies of the package
 * (say, one bundled by a dependency) agreeing on what they read.
 */
export const METADATA = {
  server: Symbol.for("lantern:server"),
  tools: Symbol.for("lantern:tools"),
  resources: Symbol.for("lantern:resources"),
  prompts: Symbol.for("lantern:prompts"),
  injections: Symbol.for("lantern:inject"),
  params: Symbol.for("lantern:param"),
  middleware: Symbol.for("lantern:middleware"),
  authorization: Symbol.for("lantern:authorization"),
  completions: Symbol.for("lantern:complete"),
  constructorInjections: Symbol.for("lantern:inject:constructor"),
  rateLimits: Symbol.for("lantern:rate-limit"),
} as const;

/**
 * A static property of a class that only a middleware provides per server (`MetricsCollector`):
 * its value says which middleware, so that injecting the class without it is a build error rather
 * than a fresh instance per call.
 */
export const PROVIDED_BY = Symbol.for("lantern:provided-by");
