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
  if (options.transport === "stdio") {
    let identity;
    if (host.authenticator) {
      const token = options.token ?? process.env.LANTERN_TOKEN;
      if (!token) throw new UnauthorizedError("Unauthorized: this stdio server requires a token; set LANTERN_TOKEN or pass listen({ transport: \"stdio\", token })");
      identity = await host.authenticator.authenticate(token);
    }
    const transport = new StdioServerTransport();
    await host.connect(transport, { transport: "stdio", identity });
    running = {
      transport: "stdio",
      stopAccepting: async () => {},
      close: async () => { await transport.close(); },
    };
  } else if (options.transport === "http") {
    const http = new HttpTransportHost(host, server.routes, options);
    const { url, port } = await http.start();
    running = {
      transport: "http",
      url,
      port,
      http,
      stopAccepting: async () => http.stopAccepting(),
      close: () => http.close(),
    };
  } else {
    throw new TypeError(`Unknown transport ${JSON.stringify((options as { transport?: unknown }).transport)}: use "stdio" or "http"`);
  }
  if (options.handleSignals !== false) installSignalHandlers(server);
  return running;
}
