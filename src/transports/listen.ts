import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { McpServer } from "../core/mcp-server.js";
import type { SessionHost } from "../core/session-host.js";
import { UnauthorizedError } from "../core/errors.js";
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
  /** Draws the live dashboard on this terminal (HTTP only: stdio's stdout is the protocol). */
  dashboard?: boolean;
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
  /** Waits until every request in flight has been answered (at most `graceMs`). */
  drain(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

function installSignalHandlers(server: McpServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`[lantern] ${signal}: finishing in-flight calls, then exiting\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

export async function startTransport(server: McpServer, host: SessionHost, options: ListenOptions): Promise<RunningServer> {
  let running: RunningServer;
  if (options.dashboard && options.transport === "stdio") {
    throw new Error("listen({ transport: \"stdio\", dashboard: true }): a stdio server cannot draw the dashboard, its stdout carries the MCP protocol. Use attach mode: `await new DashboardEndpoint(server).start()` after listen, then run `lantern dashboard --url <url> --token <token>` (it prints both) in another terminal.");
  }
  if (options.transport === "stdio") {
    let identity;
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
    const transport = new StdioServerTransport();
    await host.connect(transport, { transport: "stdio", identity });
    running = {
      transport: "stdio",
      stopAccepting: async () => {},
      drain: async () => {},
      close: async () => { await transport.close(); },
    };
  } else if (options.transport === "http") {
    const http = new HttpTransportHost(host, server.routes, options);
    const { url, port } = await http.start();
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
  } else {
    throw new TypeError(`Unknown transport ${JSON.stringify((options as { transport?: unknown }).transport)}: use "stdio" or "http"`);
  }
  if (options.dashboard) {
    // Loaded only when asked for: React and Ink stay out of servers that do not draw.
    const { Dashboard } = await import("../observability/dashboard/dashboard.js");
    const handleSignals = options.handleSignals !== false;
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
  if (options.handleSignals !== false) installSignalHandlers(server);
  return running;
}
