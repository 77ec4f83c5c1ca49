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
  rateLimits: Symbol.for("lantern:rate-limit"),
} as const;
