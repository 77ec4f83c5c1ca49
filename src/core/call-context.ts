import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type {
  ClientCapabilities,
  Implementation,
  LoggingLevel,
  RequestId,
  ResultTypeMap,
  ServerNotification,
} from "@modelcontextprotocol/server";
import { CallAbort } from "./call-abort.js";
import type { CallStatus } from "./errors.js";
import type { InputExchange } from "./protocol/input-exchange.js";

/** What a call is: a tool call, a resource read or a prompt get. */
export type CallKind = "tool" | "resource" | "prompt";

/** The transport a call arrived on; `memory` is the in-process transport of tests. */
export type TransportKind = "stdio" | "http" | "memory";

/**
 * The protocol era of a request: `modern` for MCP 2026-07-28 (stateless, everything in the
 * request's `_meta`), `legacy` for the 2025 revisions (an `initialize` handshake, then a session).
 */
export type ProtocolEra = "modern" | "legacy";

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
  /**
   * Set when this round ended by asking the client for input (a multi-round-trip call): the keys
   * of the input requests. The call goes on in a later request with the answers.
   */
  inputRequired?: readonly string[];
}

/** Where a later round of a multi-round-trip call continues from (carried in the sealed `requestState`). */
export interface CallContinuation {
  /** The correlation id of the logical call, the same in every round. */
  correlationId: string;
  /** The trace context of the first round, so every round joins one trace. */
  traceparent?: string;
  tracestate?: string;
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
  /**
   * Multi-round-trip calls: which round of the logical call this request is (1 for the first, or
   * for any call that never asked the client for input).
   */
  round = 1;
  /** The earlier round this one continues, when it is a later round of a multi-round-trip call. */
  continuation: CallContinuation | undefined = undefined;
  /**
   * The answers the client sent with this round (`inputResponses`), keyed as the tool asked:
   * untrusted input, check before use.
   */
  inputResponses: Readonly<Record<string, unknown>> | undefined = undefined;
  /**
   * The state the tool returned with its last input-required result, verified (sealed by the
   * server, bound to the caller, the tool and an expiry). Undefined on a first round.
   */
  requestState: string | undefined = undefined;
  /**
   * The trace context of the span that observes this call, set by the tracing part; later rounds
   * of a multi-round-trip call continue it.
   */
  traceContext: TraceCarrier | undefined = undefined;
  /** A refusal settled before the chain ran (a tampered `requestState`): the innermost step raises it. */
  refusal: Error | undefined = undefined;
  /** The caller's network address, when the transport knows it (HTTP); rate limits key anonymous callers by it. */
  remoteAddress: string | undefined = undefined;
  private correlation: string | undefined;
  private exchange: InputExchange | undefined;
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
    /** The client's signal, or how the call ends early (client cancel, time limit, shutdown). */
    ending: CallAbort | AbortSignal,
    /** `params._meta` as the client sent it (trace context, progress token, ...). */
    readonly meta: Readonly<Record<string, unknown>> | undefined,
    /** The raw JSON-RPC id, for replies tied to this request. */
    readonly rawRequestId: RequestId,
  ) {
    this.ending = ending instanceof CallAbort ? ending : new CallAbort(ending, name);
  }

  /** How the call ends early; the call runner watches it. */
  readonly ending: CallAbort;

  /** Aborted when the client cancels, the call times out or the server shuts down. Made when first read. */
  get signal(): AbortSignal {
    return this.ending.signal;
  }

  /**
   * A unique id of this logical call (the JSON-RPC id repeats across sessions); made when first
   * read. Every round of a multi-round-trip call has the same one, whichever process serves it.
   */
  get correlationId(): string {
    return (this.correlation ??= this.continuation?.correlationId ?? randomUUID());
  }

  /** The input requests and answers of this round (multi-round-trip); made when first used. */
  get inputs(): InputExchange {
    return (this.exchange ??= this.channel.openInputs(this));
  }

  /** True when this round asked the client for something (the exchange was used). */
  get hasInputExchange(): boolean {
    return this.exchange !== undefined;
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

  /** The protocol era of the request: `modern` (2026-07-28, stateless) or `legacy` (2025 sessions). */
  get era(): ProtocolEra {
    return this.session.era;
  }

  /** The MCP protocol version the request was made with. */
  get protocolVersion(): string | undefined {
    return this.session.protocolVersion;
  }

  /** The MCP method this call answers (`tools/call`, `resources/read`, `prompts/get`). */
  get method(): "tools/call" | "resources/read" | "prompts/get" {
    return this.kind === "tool" ? "tools/call" : this.kind === "resource" ? "resources/read" : "prompts/get";
  }

  /**
   * The trace context from `params._meta`, if the client sent one; on a later round of a
   * multi-round-trip call without one, the first round's.
   */
  get traceCarrier(): TraceCarrier | undefined {
    const meta = this.meta;
    if (!meta || typeof meta.traceparent !== "string") {
      const continued = this.continuation;
      return continued?.traceparent ? { traceparent: continued.traceparent, tracestate: continued.tracestate } : undefined;
    }
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

/** The requests a server may make of the client (in the 2026 era, as input requests of a round). */
export type ClientRequestMethod = "elicitation/create" | "sampling/createMessage" | "roots/list";

/** How code inside a call talks back to the client that made it. */
export interface CallChannel {
  /** Sends a notification tied to this request (Streamable HTTP delivers it on the request's stream). */
  notify(notification: ServerNotification): Promise<void>;
  /**
   * Sends a request to the client tied to this request (2025 era: a server→client request on the
   * session). The 2026 era has no such channel: helpers ask through {@link CallContext.inputs}.
   */
  request<M extends ClientRequestMethod>(method: M, params: Record<string, unknown>, signal: AbortSignal): Promise<ResultTypeMap[M]>;
  /** The client's capabilities: from initialize (2025 era) or from this request's `_meta` (2026 era). */
  clientCapabilities(): ClientCapabilities | undefined;
  /**
   * Sends `notifications/message` when the client asked for that level: the session's
   * `logging/setLevel` (2025 era; none set means every level), or this request's `logLevel`
   * (2026 era; none given means no messages).
   */
  log(level: LoggingLevel, data: unknown, logger: string | undefined): Promise<void>;
  /** The input exchange of a multi-round-trip round (answers of earlier rounds, requests of this one). */
  openInputs(ctx: CallContext): InputExchange;
  /** Hands a ServerLogger message to the server-side listeners (structured log, dashboard). */
  recordLog(level: LoggingLevel, data: unknown, logger: string | undefined): void;
  /** True when the request's SSE stream can be closed and resumed (Streamable HTTP with an event store). */
  canCloseStream?(): boolean;
  /** Closes the request's SSE stream; the client reconnects with Last-Event-ID (SSE polling). */
  closeStream?(): void;
}

/**
 * What Lantern knows about the connection a call came from: a 2025-era session, or (2026 era)
 * the one request itself, with what its `_meta` says.
 */
export interface SessionInfo {
  /** The `Mcp-Session-Id` of a 2025-era HTTP session; undefined where there is none (2026 era, stdio). */
  sessionId: string | undefined;
  transport: TransportKind;
  clientInfo: Implementation | undefined;
  protocolVersion: string | undefined;
  era: ProtocolEra;
}
