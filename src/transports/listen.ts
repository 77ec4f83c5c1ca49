import { serveStdio } from "@modelcontextprotocol/server/stdio";
import type { McpServer } from "../core/mcp-server.js";
import type { ProtocolHost } from "../core/protocol-host.js";
import type { CallerIdentity } from "../core/call-context.js";
import { UnauthorizedError } from "../core/errors.js";
import { writeStderrEvent, writeStderrNotice } from "../core/stderr-report.js";
import { checkOptions, defineOptions, option, type OptionRules } from "../core/options.js";
import { HttpTransportHost, type HttpOptions } from "./http.js";

/** `server.listen(...)`: stdio, or Streamable HTTP with its options. */
export type ListenOptions = CommonListenOptions &
  (
    | { transport: "stdio"; /** The bearer token of this process's client, when an authenticator is set (else LANTERN_TOKEN). */ token?: string }
    | ({ transport: "http" } & HttpOptions)
  );

interface CommonListenOptions {
  /** Exit cleanly on SIGINT/SIGTERM after in-flight calls finish. Default true. */
  handleSignals?: boolean;
  /**
   * On SIGINT/SIGTERM, how long in-flight calls may take to finish before they are aborted; the
   * shutdown hooks (audit close, log flush) run after, whatever the calls do. Default 10 s.
   */
  shutdownGraceMs?: number;
  /** Draws the live dashboard on this terminal (HTTP only: stdio's stdout is the protocol). */
  dashboard?: boolean;
}

const STDIO_ONLY = 'applies only to { transport: "stdio" }; over HTTP every request carries its own Authorization header';
const HTTP_ONLY = 'applies only to { transport: "http" }';

const COMMON_LISTEN_RULES: OptionRules<CommonListenOptions> = {
  handleSignals: option.boolean(),
  shutdownGraceMs: option.milliseconds(0),
  dashboard: option.boolean(),
};

/** The rules of {@link HttpOptions}, kept next to `ListenOptions` (the transport reads them as given). */
const HTTP_RULES: OptionRules<HttpOptions> = {
  host: option.string({ nonEmpty: true }),
  port: option.integer({ min: 0, max: 65535 }),
  path: option.string({ pattern: /^\//, describe: "a path starting with /" }),
  stateless: option.boolean(),
  allowedHosts: option.anyOf(option.stringList({ nonEmpty: true }), option.literal("*")),
  allowedOrigins: option.anyOf(option.stringList({ nonEmpty: true }), option.literal("*")),
  maxBodyBytes: option.integer({ min: 1, unit: "bytes" }),
  maxSessions: option.integer({ min: 1 }),
  maxSessionsPerClient: option.integer({ min: 1 }),
  sessionIdleMs: option.milliseconds(1000),
  jsonResponse: option.boolean(),
  eventStore: option.withMethods("an EventStore (storeEvent, replayEventsAfter), e.g. new InMemoryEventStore()", "storeEvent", "replayEventsAfter"),
  retryIntervalMs: option.milliseconds(0),
  requestTimeoutMs: option.milliseconds(1000),
  headersTimeoutMs: option.milliseconds(1000),
  maxConnections: option.integer({ min: 1 }),
  drainDelayMs: option.milliseconds(0),
};

const TRANSPORT = option.required(option.oneOf("stdio", "http"), 'say which: { transport: "http", port } or { transport: "stdio" }');
const misplacedHttp = Object.fromEntries(Object.keys(HTTP_RULES).map((key) => [key, HTTP_ONLY]));
const LISTEN_HINTS = { maxBodySize: 'use "maxBodyBytes"', bodyLimit: 'use "maxBodyBytes"', idleTimeoutMs: 'use "sessionIdleMs"', hostname: 'use "host"' };

const STDIO_LISTEN_OPTIONS = defineOptions<CommonListenOptions & { transport: "stdio"; token?: string }>(
  'server.listen({ transport: "stdio" })',
  { ...COMMON_LISTEN_RULES, transport: TRANSPORT, token: option.string() },
  { ...LISTEN_HINTS, ...misplacedHttp },
);
const HTTP_LISTEN_OPTIONS = defineOptions<CommonListenOptions & { transport: "http" } & HttpOptions>(
  'server.listen({ transport: "http" })',
  { ...COMMON_LISTEN_RULES, ...HTTP_RULES, transport: TRANSPORT },
  { ...LISTEN_HINTS, token: STDIO_ONLY },
);

/**
 * Checks `listen(...)` options (unknown keys, types, bounds) and drops `undefined` values, so
 * `{ maxBodyBytes: cfg.x }` with `cfg.x` unset keeps the 1 MiB default.
 */
export function checkListenOptions(options: ListenOptions): ListenOptions {
  if (typeof options !== "object" || options === null || options.transport === undefined) {
    throw new TypeError('server.listen(options) needs { transport }: { transport: "http", port } or { transport: "stdio" }');
  }
  if (options.transport !== "stdio" && options.transport !== "http") {
    throw new RangeError(`server.listen(options): "transport" must be "stdio" or "http", got ${JSON.stringify((options as { transport?: unknown }).transport)}`);
  }
  return options.transport === "stdio"
    ? checkOptions(STDIO_LISTEN_OPTIONS, options)
    : (checkOptions(HTTP_LISTEN_OPTIONS, options as CommonListenOptions & { transport: "http" } & HttpOptions) as ListenOptions);
}

/** A listening server. */
export interface RunningServer {
  transport: "stdio" | "http";
  /** The MCP endpoint (HTTP only). */
  url?: string;
  port?: number;
  /** The HTTP transport host, for parts that need it (HTTP only). */
  http?: HttpTransportHost;
  stopAccepting(): Promise<void>;
  /** Waits until every request in flight has been answered (at most `graceMs`) and, over HTTP, until `drainDelayMs` has passed. */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

function installSignalHandlers(server: McpServer, graceMs: number | undefined): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    writeStderrNotice(`${signal}: finishing in-flight calls, then exiting`);
    server.close(graceMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

export async function startTransport(server: McpServer, host: ProtocolHost, options: ListenOptions): Promise<RunningServer> {
  let running: RunningServer;
  if (options.dashboard && options.transport === "stdio") {
    throw new Error("listen({ transport: \"stdio\", dashboard: true }): a stdio server cannot draw the dashboard, its stdout carries the MCP protocol. Use attach mode: `await new DashboardEndpoint(server).start()` after listen, then run `lantern dashboard --url <url> --token <token>` (it prints both) in another terminal.");
  }
  if (options.transport === "stdio") {
    let identity: CallerIdentity | undefined;
    if (host.authenticator) {
      const token = options.token ?? process.env.LANTERN_TOKEN;
      try {
        // The authenticator decides whether no token means anonymous (AuthMiddleware({ required: false })).
        identity = await host.authenticator.authenticate(token || undefined);
      } catch (error) {
        if (!token) throw new UnauthorizedError("Unauthorized: this stdio server requires a token; set LANTERN_TOKEN or pass listen({ transport: \"stdio\", token })");
        throw error;
      }
    }
    // The opening exchange picks the era (initialize: 2025; a request with a _meta envelope: 2026-07-28).
    const handle = serveStdio(({ era }) => host.createServer({ era, transport: "stdio", identity, perRequest: false }), {
      onerror: (error) => writeStderrEvent("warn", "stdio_protocol_error", { message: error.message }),
    });
    running = {
      transport: "stdio",
      stopAccepting: async () => {},
      drain: async () => {},
      close: () => handle.close(),
    };
  } else {
    // checkListenOptions admits "stdio" and "http" only.
    const http = new HttpTransportHost(host, server.routes, options, server.replicaId);
    // A failed start leaves nothing behind: the host's notifier removed, the socket closed.
    const { url, port } = await http.start().catch(async (error: unknown) => {
      await http.close();
      throw error;
    });
    server.announceListening({ transport: "http", url });
    running = {
      transport: "http",
      url,
      port,
      http,
      stopAccepting: async () => http.stopAccepting(),
      drain: (graceMs) => http.drain(graceMs),
      close: () => http.close(),
    };
  }
  const handleSignals = options.handleSignals !== false;
  if (options.dashboard) {
    // Loaded only when asked for: React and Ink stay out of servers that do not draw.
    const { Dashboard } = await import("../observability/dashboard/dashboard.js");
    const dashboard = new Dashboard(server, {
      transport: running.transport,
      endpoint: running.url,
      // q / Ctrl+C in the dashboard stop the server the way Ctrl+C would without it.
      onExit: handleSignals ? () => { process.kill(process.pid, "SIGINT"); } : undefined,
    });
    await dashboard.start().catch(async (error: unknown) => {
      await running.close();
      throw error;
    });
  }
  if (handleSignals) installSignalHandlers(server, options.shutdownGraceMs);
  // Only now is everything up: /healthz turns 200 and MCP requests run.
  running.http?.markReady();
  return running;
}
