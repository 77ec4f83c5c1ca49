import type { CallContext } from "../../core/call-context.js";
import { middlewareDecorator } from "../../core/decorators/middleware.js";
import type { ConfigurableMiddleware, MiddlewareObject, Next, OptionMerge } from "../../core/middleware.js";
import { callOutcome } from "../../core/outcome.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import type { ServerSetup } from "../../core/server-setup.js";
import { MetricsCollector } from "./metrics-collector.js";

/**
 * Options of `@Metered(...)` (and of {@link MetricsMiddleware.withOptions}).
 *
 * @example
 * @Tool({ description: "Liveness probe" }) @Metered({ enabled: false }) ping() { return "pong"; }
 */
export interface MeteredOptions {
  /** `false` leaves this class or method out of the metrics (a health probe, say). Default true. */
  enabled?: boolean;
}

/** The rules of {@link MeteredOptions} (`@Metered`, `new MetricsMiddleware(...)`). */
const METERED_OPTIONS = defineOptions<MeteredOptions>("MetricsMiddleware / @Metered options", {
  enabled: option.boolean(),
}, {
  disabled: 'use "enabled: false"',
  maxClients: "collector bounds belong to the collector: new MetricsMiddleware(new MetricsCollector({ maxClients }))",
  maxResources: "collector bounds belong to the collector: new MetricsMiddleware(new MetricsCollector({ maxResources }))",
});

/**
 * Feeds a {@link MetricsCollector} with every tool call, resource read and prompt get: duration,
 * and whether it ended `ok` (a tool that threw or returned `isError: true` is an error). In `setup`
 * it makes the collector injectable: `@Inject(MetricsCollector)`.
 *
 * A call is recorded once per collector, however many times the middleware appears in its chain.
 *
 * @example
 * const metrics = new MetricsCollector();
 * server.use(new MetricsMiddleware(metrics));
 * metrics.registerResource(server);
 */
export class MetricsMiddleware implements ConfigurableMiddleware<MeteredOptions> {
  /** What `@Metered` may set per class or method. */
  static readonly decoratorOptions: Readonly<Record<keyof MeteredOptions, OptionMerge>> = { enabled: "override" };
  /** Where the calls are recorded (a new collector when none was given). */
  readonly collector: MetricsCollector;
  private readonly enabled: boolean;
  /** Marks a call as recorded by this collector (`ctx.bag`), so it is never counted twice. */
  private readonly seen: symbol;

  constructor(collectorOrOptions?: MetricsCollector | MeteredOptions, options: MeteredOptions = {}) {
    options = checkOptions(METERED_OPTIONS, options);
    if (collectorOrOptions instanceof MetricsCollector) {
      this.collector = collectorOrOptions;
    } else {
      this.collector = new MetricsCollector();
      options = { ...checkOptions(METERED_OPTIONS, collectorOrOptions, "new MetricsMiddleware(options)"), ...options };
    }
    this.enabled = options.enabled ?? true;
    this.seen = seenMarkerOf(this.collector);
  }

  async handle(ctx: CallContext, next: Next): Promise<unknown> {
    if (!this.enabled || ctx.bag.has(this.seen)) return next();
    ctx.bag.set(this.seen, true);
    let result: unknown;
    try {
      result = await next();
    } catch (error) {
      this.record(ctx, error, true);
      throw error;
    }
    this.record(ctx, undefined, false);
    return result;
  }

  setup(server: ServerSetup): void {
    const collector = this.collector;
    server.provide(MetricsCollector, () => collector);
    collector.serveReplica(server.replicaId);
    for (const tool of server.tools()) collector.declare("tool", tool.name);
  }

  withOptions(options: Partial<MeteredOptions>): MiddlewareObject {
    return new MetricsMiddleware(this.collector, { enabled: this.enabled, ...options });
  }

  private record(ctx: CallContext, error: unknown, threw: boolean): void {
    const status = callOutcome(ctx, error, threw).status;
    this.collector.record(ctx.kind, ctx.name, ctx.elapsedMs(), status, ctx.clientId, ctx.kind === "resource" ? ctx.args : undefined);
  }
}

const markers = new WeakMap<MetricsCollector, symbol>();

function seenMarkerOf(collector: MetricsCollector): symbol {
  let marker = markers.get(collector);
  if (!marker) {
    marker = Symbol("lantern:metrics:recorded");
    markers.set(collector, marker);
  }
  return marker;
}

/**
 * The decorator form of {@link MetricsMiddleware}, on a class or a method. With a server-wide
 * `MetricsMiddleware` the call is recorded once, into that middleware's collector; without one, a
 * collector shared by the whole server is used (inject it with `@Inject(MetricsCollector)`).
 *
 * @example
 * @Server({ name: "hr-api", version: "1.0.0" })
 * @Metered()
 * class HrApi {
 *   @Tool({ description: "Liveness probe" }) @Metered({ enabled: false }) ping() { return "pong"; }
 * }
 */
export const Metered = middlewareDecorator<MeteredOptions, MeteredOptions>(MetricsMiddleware, { ...METERED_OPTIONS, owner: "@Metered options" }, "Metered");
