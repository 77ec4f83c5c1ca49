import {
  Client,
  InMemoryTransport,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type ClientCapabilities,
  type LoggingLevel,
  type LoggingMessageNotification,
  type ProgressNotification,
} from "@modelcontextprotocol/client";
import { createMcpHandler, LOG_LEVEL_META_KEY, type AuthInfo } from "@modelcontextprotocol/server";
import type { CallerIdentity, ProtocolEra } from "../core/call-context.js";
import { McpServer, type McpServerOptions } from "../core/mcp-server.js";
import { checkOptions, defineOptions, option } from "../core/options.js";
import type { ProviderOverride } from "../core/providers.js";
import { LOG_LEVELS } from "../core/server-logger.js";

/** Options of {@link createTestClient}. */
export interface TestClientOptions {
  /**
   * The protocol era the client speaks: `legacy` (the 2025 `initialize` handshake, a session over
   * the in-memory transport; the default) or `modern` (MCP 2026-07-28, every request on its own,
   * served in process by the same handler HTTP uses).
   */
  era?: ProtocolEra;
  /** The client's name and version (the `client_id` when there is no auth). */
  clientInfo?: { name: string; version: string };
  capabilities?: ClientCapabilities;
  /** 2026 era: the log level every request asks for (`_meta` `logLevel`); none: no log messages. */
  logLevel?: LoggingLevel;
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
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
  /** The client's own time limit, in ms. */
  timeoutMs?: number;
}

/** The rules of {@link TestClientOptions}. */
const TEST_CLIENT_OPTIONS = defineOptions<TestClientOptions>("createTestClient options", {
  clientInfo: option.object(defineOptions<{ name: string; version: string }>("createTestClient options", {
    name: option.required(option.string({ nonEmpty: true }), "it is sent in initialize"),
    version: option.required(option.string({ nonEmpty: true }), "it is sent in initialize"),
  })),
  era: option.oneOf("modern", "legacy"),
  capabilities: option.object(),
  logLevel: option.oneOf(...LOG_LEVELS),
  identity: option.object(undefined, "an identity object with at least { clientId }"),
  server: option.object(undefined, "the options of new McpServer(...)"),
  providers: option.any("a list of provider overrides: { token, value } or { token, factory }"),
}, {
  token: "createTestClient runs calls as { identity: { clientId, scopes } } in place of a token",
  clientId: 'use "identity: { clientId }"',
  scopes: 'use "identity: { clientId, scopes }"',
});

/** The rules of {@link CallOptions}. */
const CALL_OPTIONS = defineOptions<CallOptions>("callTool options (the third argument)", {
  meta: option.object(),
  progress: option.boolean(),
  signal: option.instanceOf(AbortSignal, "an AbortSignal"),
  timeoutMs: option.milliseconds(),
}, { _meta: 'use "meta"', timeout: 'use "timeoutMs"' });

/** A real SDK client connected in process, with what the server sent it collected. */
export interface TestClient {
  client: Client;
  server: McpServer;
  /** `notifications/message` received so far. */
  logs: LoggingMessageNotification["params"][];
  /** `notifications/progress` received so far (for calls made with `{ progress: true }`). */
  progress: ProgressNotification["params"][];
  /** tools/call; resolves to the result (JSON-RPC errors reject as the SDK's `ProtocolError`). */
  callTool(name: string, args?: Record<string, unknown>, options?: CallOptions): Promise<CallToolResult>;
  /** Closes the client and (when it made it) the server. */
  close(): Promise<void>;
}

/**
 * A real MCP SDK `Client` talking to a Lantern server in process: over the in-memory transport
 * (2025 era, the default) or through the 2026-07-28 request handler (`era: "modern"`).
 *
 * @example
 * const client = await createTestClient(HrApi, { providers: [{ token: EmployeeRepository, value: fakeRepository }] });
 * const result = await client.callTool("search_employees", { query: "ada" });
 * await client.close();
 */
export async function createTestClient(serverOrClass: McpServer | Function, options: TestClientOptions = {}): Promise<TestClient> {
  options = checkOptions(TEST_CLIENT_OPTIONS, options);
  if (serverOrClass instanceof McpServer && options.server !== undefined) {
    throw new TypeError("createTestClient options: \"server\" configures the server built from a class, and an McpServer instance was given; pass those options to new McpServer(..., options) instead");
  }
  const server = serverOrClass instanceof McpServer ? serverOrClass : new McpServer(serverOrClass, options.server);
  for (const override of options.providers ?? []) server.overrideProvider(override);
  const identity: CallerIdentity | undefined = options.identity
    ? { scopes: [], roles: [], claims: {}, method: "test", ...options.identity }
    : undefined;
  const era = options.era ?? "legacy";
  if (era === "legacy" && options.logLevel !== undefined) {
    throw new TypeError('createTestClient options: "logLevel" is what every 2026-era request asks for (era: "modern"); a 2025-era client sets its level once: await client.client.setLoggingLevel(level)');
  }
  const client = new Client(options.clientInfo ?? { name: "lantern-test-client", version: "1.0.0" }, {
    capabilities: options.capabilities ?? {},
    ...(era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {}),
  });
  const logs: TestClient["logs"] = [];
  const progress: TestClient["progress"] = [];
  client.setNotificationHandler("notifications/message", (n) => { logs.push(n.params); });
  let closeHandler: (() => Promise<void>) | undefined;
  if (era === "modern") {
    const host = await server.build();
    const handler = createMcpHandler(({ era: requestEra }) => host.createServer({ era: requestEra, transport: "memory", identity, perRequest: true }), { legacy: "reject" });
    const removeNotifier = host.addNotifier(handler.notify);
    const authInfo: AuthInfo | undefined = identity ? { token: "", clientId: identity.clientId, scopes: [...identity.scopes], extra: { identity } } : undefined;
    const transport = new StreamableHTTPClientTransport(new URL("http://lantern.test/mcp"), {
      fetch: (url, init) => handler.fetch(new Request(url, init), authInfo ? { authInfo } : {}),
    });
    closeHandler = async () => {
      removeNotifier();
      await handler.close();
    };
    await client.connect(transport);
  } else {
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport, { transport: "memory", identity });
    await client.connect(clientTransport);
  }
  const baseMeta = era === "modern" && options.logLevel ? { [LOG_LEVEL_META_KEY]: options.logLevel } : undefined;
  return {
    client,
    server,
    logs,
    progress,
    callTool: async (name, args = {}, call = {}) => {
      call = checkOptions(CALL_OPTIONS, call);
      const meta = baseMeta || call.meta ? { ...baseMeta, ...call.meta } : undefined;
      return (await client.callTool(
        { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
        {
          ...(call.progress ? { onprogress: (p: { progress: number; total?: number; message?: string }) => { progress.push(p as ProgressNotification["params"]); } } : {}),
          ...(call.signal ? { signal: call.signal } : {}),
          ...(call.timeoutMs ? { timeout: call.timeoutMs } : {}),
        },
      )) as CallToolResult;
    },
    close: async () => {
      await client.close();
      await closeHandler?.();
      if (!(serverOrClass instanceof McpServer)) await server.close();
    },
  };
}
