import { checkOptions, defineOptions, option } from "../core/options.js";
import { writeStderrNotice } from "../core/stderr-report.js";

/** The part of an ioredis client the limits use (rate-limiter-flexible drives it). */
export interface RedisClientLike {
  status?: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Options of {@link RedisStore}: a `url` (ioredis is loaded, and its client made, when the server
 * is built) or a `client` you made yourself (it is not closed by Lantern).
 */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port/db`. */
  url?: string;
  /** An ioredis client to use in place of `url`. */
  client?: RedisClientLike;
  /** Prefix of every key the limits write (default `lantern:limits`); give each application its own. */
  keyPrefix?: string;
  /** How long the server waits at start for the first connection before serving anyway (default 2000 ms). */
  connectTimeoutMs?: number;
}

const REDIS_STORE_OPTIONS = defineOptions<RedisStoreOptions>("RedisStore options", {
  url: option.string({ nonEmpty: true }),
  client: option.any("an ioredis client"),
  keyPrefix: option.string(),
  connectTimeoutMs: option.milliseconds(),
}, { uri: 'use "url"', host: 'use "url" (redis://host:port)', prefix: 'use "keyPrefix"' });

/**
 * Keeps rate limits and quotas in Redis, so every replica of a server counts against the same
 * allowance. Needs the `ioredis` package (an optional peer dependency), loaded only when a
 * server with a `RedisStore` is built.
 *
 * @example
 * server.use(new QuotaMiddleware({ store: new RedisStore({ url: process.env.REDIS_URL }), limit: { points: 1000, per: "1h" } }));
 */
export class RedisStore {
  readonly keyPrefix: string;
  private readonly options: RedisStoreOptions;
  private opened: Promise<RedisClientLike> | undefined;
  private owned: RedisClientLike | undefined;

  constructor(options: RedisStoreOptions) {
    options = checkOptions(REDIS_STORE_OPTIONS, options);
    if (!options.url === !options.client) throw new TypeError("RedisStore: give either url (redis://host:port) or client (an ioredis instance), not both or neither");
    if (options.url !== undefined && !/^rediss?:\/\//.test(options.url)) {
      throw new TypeError(`RedisStore: url must start with redis:// or rediss://, got "${options.url.replace(/\/\/[^@]*@/, "//***@")}"`);
    }
    this.options = options;
    this.keyPrefix = options.keyPrefix ?? "lantern:limits";
  }

  /** The client, made (and ioredis loaded) on first use; waits up to `connectTimeoutMs` for the connection. */
  client(): Promise<RedisClientLike> {
    return (this.opened ??= this.open());
  }

  /** Closes the client this store made (a client you passed in stays open). */
  async close(): Promise<void> {
    const owned = this.owned;
    this.owned = undefined;
    if (!owned) return;
    // quit() lets pending replies arrive; when Redis is away it fails, and disconnect() stops the reconnecting.
    if (owned.status === "ready") await owned.quit().catch(() => {});
    owned.disconnect();
  }

  private async open(): Promise<RedisClientLike> {
    if (this.options.client) return this.options.client;
    let Redis: new (url: string, options: object) => RedisClientLike;
    try {
      const loaded = (await import("ioredis")) as unknown as { Redis?: typeof Redis; default?: typeof Redis };
      Redis = (loaded.Redis ?? loaded.default)!;
    } catch {
      throw new Error("RedisStore needs the ioredis package: npm install ioredis");
    }
    // No offline queue: while Redis is away a command fails at once, and onStoreUnavailable decides.
    const client = new Redis(this.options.url!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    // ioredis reports each failed reconnect as an "error" event; the limiter reports the outage once.
    client.on("error", () => {});
    this.owned = client;
    const timeout = this.options.connectTimeoutMs ?? 2000;
    // Failed attempts ("error" events) do not end the wait: ioredis keeps reconnecting, and a Redis
    // that comes up within the timeout is used from the start. "end": the store was closed meanwhile.
    const emitter = client as unknown as NodeJS.EventEmitter;
    let settle!: () => void;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await new Promise<boolean>((resolve) => {
      settle = () => resolve(false);
      emitter.once("ready", settle).once("end", settle);
      timer = setTimeout(() => resolve(true), timeout);
    });
    clearTimeout(timer);
    emitter.off("ready", settle).off("end", settle);
    if (timedOut) writeStderrNotice(`Redis for rate limits is not reachable after ${timeout} ms; serving anyway (onStoreUnavailable applies until it is)`);
    return client;
  }
}

/** Where limits keep their counts: process memory (the default) or Redis, shared by replicas. */
export type LimitStore = "memory" | RedisStore;
