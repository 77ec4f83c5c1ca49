import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import {
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
  type LoggingMessageNotification,
  type ProgressNotification,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallerIdentity } from "../core/call-context.js";
import { McpServer, type McpServerOptions } from "../core/mcp-server.js";
import type { ProviderOverride } from "../core/providers.js";

/** Options of {@link createTestClient}. */
export interface TestClientOptions {
  /** The client's name and version sent in initialize (the `client_id` when there is no auth). */
  clientInfo?: { name: string; version: string };
  capabilities?: ClientCapabilities;
  /** Calls run as this identity (in place of a token an authenticator would verify). */
  identity?: Partial<CallerIdentity> & { clientId: string };
  /** Options for the server, when a class is given (a server you made already has its options: passing them is refused). */
  server?: McpServerOptions;
  /**
   * Replacements for what tokens inject (fakes of services, a fixed clock): they win over
   * `provide()`, middleware providers and the container. Applied before the server is built.
   */
  providers?: ProviderOverride[];
}

/** Options of one `callTool`. */
export interface CallOptions {
  /** `params._meta` to send (trace context, ...). */
  meta?: Record<string, unknown>;
  /** Ask for progress: the call carries a progress token and `progress` collects the notifications. */
  progress?: boolean;
  /** Aborting it sends `notifications/cancelled`. */
  signal?: AbortSignal;
  /** The client's own time limit, in ms. */
  timeoutMs?: number;
}

/** A real SDK client connected in memory, with what the server sent it collected. */
export interface TestClient {
  client: Client;
  server: McpServer;
  /** `notifications/message` received so far. */
  logs: LoggingMessageNotification["params"][];
  /** `notifications/progress` received so far (for calls made with `{ progress: true }`). */
  progress: ProgressNotification["params"][];
  /** tools/call; resolves to the result (JSON-RPC errors reject as `McpError`). */
  callTool(name: string, args?: Record<string, unknown>, options?: CallOptions): Promise<CallToolResult>;
  /** Closes the client and the server. */
  close(): Promise<void>;
}

/**
 * A real MCP SDK `Client` talking to a Lantern server over the in-memory transport.
 *
 * @example
 * const client = await createTestClient(HrApi, { providers: [{ token: EmployeeRepository, value: fakeRepository }] });
 * const result = await client.callTool("search_employees", { query: "ada" });
 * await client.close();
 */
export async function createTestClient(serverOrClass: McpServer | Function, options: TestClientOptions = {}): Promise<TestClient> {
  if (serverOrClass instanceof McpServer && options.server !== undefined) {
    throw new TypeError("createTestClient(server, { server }): `server` options apply only when a class is given; pass them to new McpServer(Class, options) instead");
  }
  const server = serverOrClass instanceof McpServer ? serverOrClass : new McpServer(serverOrClass, options.server);
  for (const override of options.providers ?? []) server.overrideProvider(override);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const identity: CallerIdentity | undefined = options.identity
    ? { scopes: [], roles: [], claims: {}, method: "test", ...options.identity }
    : undefined;
  await server.connect(serverTransport, { transport: "memory", identity });
  const client = new Client(options.clientInfo ?? { name: "lantern-test-client", version: "1.0.0" }, {
    capabilities: options.capabilities ?? {},
  });
  const logs: TestClient["logs"] = [];
  const progress: TestClient["progress"] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params); });
  await client.connect(clientTransport);
  return {
    client,
    server,
    logs,
    progress,
    callTool: async (name, args = {}, call = {}) =>
      (await client.callTool({ name, arguments: args, ...(call.meta ? { _meta: call.meta } : {}) }, undefined, {
        ...(call.progress ? { onprogress: (p) => progress.push(p as ProgressNotification["params"]) } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
        ...(call.timeoutMs ? { timeout: call.timeoutMs } : {}),
      })) as CallToolResult,
    close: async () => {
      await client.close();
      if (!(serverOrClass instanceof McpServer)) await server.close();
    },
  };
}
