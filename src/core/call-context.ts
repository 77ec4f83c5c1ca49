import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { AnyObjectSchema, SchemaOutput } from "@modelcontextprotocol/sdk/server/zod-compat.js";
import type {
  ClientCapabilities,
  Implementation,
  LoggingLevel,
  RequestId,
  ServerNotification,
  ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { CallStatus } from "./errors.js";

/** What a call is: a tool call, a resource read or a prompt get. */
export type CallKind = "tool" | "resource" | "prompt";

/** The transport a call arrived on; `memory` is the in-process transport of tests. */
export type TransportKind = "stdio" | "http" | "memory";

/** The W3C trace context a client put in `params._meta`. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

/** Who is calling, as an authentication provider established it. */
export interface CallerIdentity {
  /** The id every observability part records as `client_id`. */
  clientId: string;
  subject?: string;
  issuer?: string;
  scopes: readonly string[];
  roles: readonly string[];
  /** Every claim of the credential, for the application's own decisions. */
  claims: Readonly<Record<string, unknown>>;
  /** Which provider established it (`jwt`, `api-key`, ...). */
  method: string;
}

/** How a call ended: set by the dispatcher before the outermost middleware returns. */
export interface CallOutcome {
  status: CallStatus;
  /** The error thrown by the tool, or the refusal raised before it ran. */
  error?: unknown;
  /** `error.type` as the OpenTelemetry MCP conventions name it: a JSON-RPC code or `tool_error`. */
  errorType?: string;
}

const storage = new AsyncLocalStorage<CallContext>();

/**
 * Everything known about one call, from the moment the request arrives to the moment its answer
 * leaves: the one object every middleware and every observability part reads.
 *
 * Reachable anywhere inside the call (after awaits, in timers, in user spans) with
 * {@link CallContext.current}, or injected into a tool with `@Inject(CallContext)`.
 *
 * @example
 * @Tool({ description: "Who am I?" })
 * whoAmI(@Inject(CallContext) ctx: CallContext) { return { client: ctx.clientId }; }
 */
export class CallContext {
  /** `Date.now()` when the call started. */
  readonly startedAt: number = Date.now();
  /** `performance.now()` when the call started, for durations. */
  readonly startTime: number = performance.now();
  /** The validated input instance (set once validation passed; undefined before). */
  input: unknown = undefined;
  /** The caller's verified identity, when an authentication provider is configured. */
  identity: CallerIdentity | undefined;
  /** How the call ended; undefined while it runs. */
  outcome: CallOutcome | undefined = undefined;
  /** The caller's network address, when the transport knows it (HTTP); rate limits key anonymous callers by it. */
  remoteAddress: string | undefined = undefined;
  private correlation: string | undefined;
  private values: Map<symbol, unknown> | undefined;

  constructor(
    /** tools/call, resources/read or prompts/get. */
    readonly kind: CallKind,
    /** The tool or prompt name, or the resource URI that was read. */
    readonly name: string,
    /** The JSON-RPC request id, as a string. */
    readonly requestId: string,
    /** The raw `arguments` (tool, prompt) or template variables (resource), before validation. */
    readonly args: Readonly<Record<string, unknown>>,
    readonly session: SessionInfo,
    /** Sends notifications and requests to the calling client, tied to this request. */
    readonly channel: CallChannel,
    /** Aborted when the client cancels, the call times out or the server shuts down. */
    readonly signal: AbortSignal,
    /** `params._meta` as the client sent it (trace context, progress token, ...). */
    readonly meta: Readonly<Record<string, unknown>> | undefined,
    /** The raw JSON-RPC id, for replies tied to this request. */
    readonly rawRequestId: RequestId,
  ) {}

  /** A unique id of this call inside this process (the JSON-RPC id repeats across sessions); made when first read. */
  get correlationId(): string {
    return (this.correlation ??= randomUUID());
  }

  /** Per-call values middleware share with one another, keyed by a symbol of their own; made when first used. */
  get bag(): Map<symbol, unknown> {
    return (this.values ??= new Map());
  }

  /** The context of the call the current code runs in, or undefined outside any call. */
  static current(): CallContext | undefined {
    return storage.getStore();
  }

  /** Runs `fn` with `ctx` as the current context. */
  static run<T>(ctx: CallContext, fn: () => T): T {
    return storage.run(ctx, fn);
  }

  /** The id observability records as `client_id`: the auth identity, else the client's name. */
  get clientId(): string {
    return this.identity?.clientId ?? this.session.clientInfo?.name ?? "anonymous";
  }

  get sessionId(): string | undefined {
    return this.session.sessionId;
  }

  get clientInfo(): Implementation | undefined {
    return this.session.clientInfo;
  }

  get transport(): TransportKind {
    return this.session.transport;
  }

  /** The MCP method this call answers (`tools/call`, `resources/read`, `prompts/get`). */
  get method(): "tools/call" | "resources/read" | "prompts/get" {
    return this.kind === "tool" ? "tools/call" : this.kind === "resource" ? "resources/read" : "prompts/get";
  }

  /** The trace context from `params._meta`, if the client sent one. */
  get traceCarrier(): TraceCarrier | undefined {
    const meta = this.meta;
    if (!meta || typeof meta.traceparent !== "string") return undefined;
    return {
      traceparent: meta.traceparent,
      tracestate: typeof meta.tracestate === "string" ? meta.tracestate : undefined,
      baggage: typeof meta.baggage === "string" ? meta.baggage : undefined,
    };
  }

  /** Milliseconds since the call started. */
  elapsedMs(): number {
    return performance.now() - this.startTime;
  }
}

/** How code inside a call talks back to the client that made it. */
export interface CallChannel {
  /** Sends a notification tied to this request (Streamable HTTP delivers it on the request's stream). */
  notify(notification: ServerNotification): Promise<void>;
  /** Sends a request to the client (sampling, elicitation, roots) tied to this request. */
  request<S extends AnyObjectSchema>(request: ServerRequest, resultSchema: S, options?: RequestOptions): Promise<SchemaOutput<S>>;
  /** The client's capabilities, from initialize. */
  clientCapabilities(): ClientCapabilities | undefined;
  /** The level the client set with logging/setLevel, if any. */
  logLevel(): LoggingLevel | undefined;
  /** Hands a ServerLogger message to the server-side listeners (structured log, dashboard). */
  recordLog(level: LoggingLevel, data: unknown, logger: string | undefined): void;
  /** True when the request's SSE stream can be closed and resumed (Streamable HTTP with an event store). */
  canCloseStream?(): boolean;
  /** Closes the request's SSE stream; the client reconnects with Last-Event-ID (SSE polling). */
  closeStream?(): void;
}

/** What Lantern knows about the session a call belongs to (one per connected client). */
export interface SessionInfo {
  sessionId: string | undefined;
  transport: TransportKind;
  clientInfo: Implementation | undefined;
  protocolVersion: string | undefined;
}
