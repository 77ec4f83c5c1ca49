import { EOL } from "node:os";
import type { LoggingLevel } from "@modelcontextprotocol/server";
import type { SpanContext } from "@opentelemetry/api";
import type winston from "winston";
import { openTelemetryApi, winstonLibrary } from "../../core/libraries.js";
import type { CallContext } from "../../core/call-context.js";
import { middlewareDecorator } from "../../core/decorators/middleware.js";
import { DefinitionError, describeError } from "../../core/errors.js";
import { mergeOptions, type ConfigurableMiddleware, type MiddlewareObject, type Next, type OptionMerge } from "../../core/middleware.js";
import { callOutcome } from "../../core/outcome.js";
import { checkOptions, defineOptions, option, type OptionRules } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";
import type { ClientLogRecord, RefusalEvent, ServerSetup } from "../../core/server-setup.js";
import { canonicalJson } from "../canonical-json.js";
import { cutToSize } from "../json-text.js";
import { checkLogFileOptions, LogFile, type LogFileOptions } from "./log-file.js";
import { Redaction } from "../redaction.js";
import { CALL_SPAN_CONTEXT } from "../tracing/semantic-conventions.js";
import {
  ecsCallRecord,
  ecsClientLogRecord,
  jsonCallRecord,
  jsonClientLogRecord,
  LINE_KEYS,
  logOrigin,
  redactValue,
  UNKNOWN_ORIGIN,
  type CallLine,
  type LogFormat,
  type LogOrigin,
} from "./log-records.js";

/**
 * Options of {@link StructuredLoggingMiddleware} and `@Logged`.
 *
 * @example
 * new StructuredLoggingMiddleware({ format: "ecs", includeArgs: true, redact: ["password", "ssn"] });
 */
export interface StructuredLoggingOptions {
  /** Your own winston logger; its format and transports decide how lines are written. */
  logger?: winston.Logger;
  /** Transports for the logger Lantern creates (default: JSON lines on stderr, as stdout may carry stdio MCP). */
  transports?: winston.transport[];
  /**
   * Appends the lines to a file, written in batches off the main thread (a path, or a
   * {@link LogFileOptions} with rotation); with `transports`, lines go to both.
   */
  file?: string | LogFileOptions;
  /** Lowest level the logger Lantern creates writes (winston's npm levels: `error` ... `silly`). Default `info`. */
  level?: string;
  /** Put the (redacted) arguments on each call's line. Off by default: arguments may be sensitive. */
  includeArgs?: boolean;
  /** Argument (and `ServerLogger` data) field names, at any depth, whose values never reach a line. */
  redact?: string[];
  /** `json` (the seed's field names, default) or `ecs` (Elastic Common Schema). */
  format?: LogFormat;
  /** Lines waiting for a slow sink past which new ones are dropped (and counted). Default 10,000. */
  maxPendingLines?: number;
}

/**
 * What `@Logged(...)` may set per class or method; the rest configures the shared logger.
 *
 * @example
 * @Logged({ includeArgs: true, redact: ["ssn"] }) @Tool({ description: "..." }) lookup(input: Lookup) { ... }
 */
export type LoggedOptions = Pick<StructuredLoggingOptions, "includeArgs" | "redact">;

const USE_REDACT = 'use "redact" (a list of field names)';
const LOGGED_RULES: OptionRules<LoggedOptions> = {
  includeArgs: option.boolean(),
  redact: option.secured(option.stringList(), "redact nothing"),
};
const LOGGED_HINTS = { redacted: USE_REDACT, redactFields: USE_REDACT, redactKeys: USE_REDACT, includeArguments: 'use "includeArgs"' };
/** The rules of {@link StructuredLoggingOptions}. */
const STRUCTURED_LOGGING_OPTIONS = defineOptions<StructuredLoggingOptions>("StructuredLoggingMiddleware options", {
  ...LOGGED_RULES,
  logger: option.withMethods("a winston Logger", "log"),
  transports: { expected: "a list of winston transports", isType: Array.isArray },
  file: option.anyOf(option.string({ nonEmpty: true, describe: "a file path" }), option.object(undefined, "{ path, flushMs?, maxBytes?, maxFiles? }")),
  // The logger Lantern creates has winston's npm levels: a level outside them would write nothing, silently.
  level: option.oneOf("error", "warn", "info", "http", "verbose", "debug", "silly"),
  format: option.oneOf("json", "ecs"),
  maxPendingLines: option.integer({ min: 1 }),
}, { ...LOGGED_HINTS, transport: 'use "transports" (a list)', logLevel: 'use "level"' });
const ON_THE_INSTANCE = (key: string) => `${key} configures the shared logger, which belongs to the StructuredLoggingMiddleware instance: server.use(new StructuredLoggingMiddleware({ ${key}: ... }))`;
/** The rules of `@Logged(...)`. */
const LOGGED_OPTIONS = defineOptions<LoggedOptions>("@Logged options", LOGGED_RULES, {
  ...LOGGED_HINTS,
  ...Object.fromEntries(["logger", "transports", "file", "level", "format", "maxPendingLines"].map((key) => [key, ON_THE_INSTANCE(key)])),
});

/** What a decorator may change per class or method; the rest configures the shared logger. */
interface PerCallOptions {
  includeArgs: boolean;
  redact: Redaction;
}

/** Removes winston's routing `level` from ECS lines, which carry it as `log.level`. */
const dropRoutingLevel = (info: winston.Logform.TransformableInfo) => {
  delete (info as { level?: string }).level;
  return info;
};

/** Most `request_refused` lines written a second; the rest are counted in the next one. */
const REFUSAL_LINES_PER_SECOND = 10;

/** The logger and its bookkeeping, shared by a middleware and its decorator variants. */
class LogSink {
  readonly logger: winston.Logger;
  readonly format: LogFormat;
  /** Marks, in `CallContext.bag`, calls this sink logs (with the options they are logged with). */
  readonly callKey = Symbol("lantern:structured-log");
  readonly levels: { ok: string; warn: string; error: string; byMcp: Record<LoggingLevel, string> };
  private readonly maxPending: number;
  private dropped = 0;
  private file: LogFile | undefined;
  /**
   * The log file, when it is the logger's only destination: lines go to it directly, in the bytes
   * winston's JSON format would write (keys sorted, one line each), without winston's streams.
   */
  private direct: LogFile | undefined;
  /** The server's name and replica id every line carries; set once, when the server is built. */
  origin: LogOrigin = UNKNOWN_ORIGIN;

  constructor(options: StructuredLoggingOptions) {
    this.format = options.format ?? "json";
    this.maxPending = options.maxPendingLines ?? 10_000;
    this.logger = options.logger ?? this.createLogger(options);
    this.levels = levelsFor(this.logger);
  }

  private createLogger(options: StructuredLoggingOptions): winston.Logger {
    const winston = winstonLibrary();
    return winston.createLogger({
      level: options.level ?? "info",
      format: this.format === "ecs" ? winston.format.combine(winston.format(dropRoutingLevel)(), winston.format.json()) : winston.format.json(),
      transports: this.destinations(options, winston),
    });
  }

  /** The transports of the logger Lantern creates: `transports`, then `file`; stderr when neither is given. */
  private destinations(options: StructuredLoggingOptions, winston: typeof import("winston")): winston.transport[] {
    if (options.file === undefined) return options.transports ?? [new winston.transports.Stream({ stream: process.stderr })];
    this.file = new LogFile(options.file as LogFileOptions);
    if (!options.transports?.length) this.direct = this.file;
    return [...(options.transports ?? []), new winston.transports.Stream({ stream: this.file })];
  }

  /** Ends the logger and waits (boundedly) until its transports (and the log file) wrote what they buffered. */
  close(): Promise<void> {
    const logger = this.logger;
    this.writePending();
    if (logger.writableEnded) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // winston never finished: end the file anyway (its lines so far are written, its descriptor closed).
        this.file?.end();
        resolve();
      }, 5000);
      timer.unref();
      logger.once("finish", () => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        // winston leaves a stream it was given open: the file is ours to end, once winston handed it every line.
        if (this.file) this.file.end(done);
        else done();
      });
      logger.end();
    });
  }

  /**
   * Queues a line; it reaches winston on the next turn of the event loop. A call's line is built
   * when the call ends (its timestamp and duration are exact), but handing it to winston starts the
   * transport's I/O (a thread-pool write for a file): deferring that lets the call's answer leave
   * first, and lines of calls that end together go to winston in one go, in order.
   */
  write(record: Record<string, unknown>): void {
    // winston accepts every write and buffers behind a slow transport without limit: bound it. A
    // direct file holds lines itself up to its byte bound, then makes its writers wait: past that,
    // lines are dropped here.
    const backlog = this.direct ? (this.direct.writableNeedDrain ? this.maxPending : 0) : this.logger.writableLength;
    if (backlog + this.pending.length >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.push(record);
    if (this.pending.length === 1) setImmediate(this.writePending);
  }

  private pending: Record<string, unknown>[] = [];
  /** Per refusal reason (a short fixed list): the current second, lines written in it, lines left out. */
  private readonly refusalBudget = new Map<string, { second: number; written: number; suppressed: number }>();

  /**
   * One line per refused request (failed authentication, unknown names), at most
   * {@link REFUSAL_LINES_PER_SECOND} a second for each reason: a flood of refusals must not flood
   * the log. The next line of that reason says how many were left out.
   */
  refusal(event: RefusalEvent): void {
    const second = Math.floor(Date.now() / 1000);
    let budget = this.refusalBudget.get(event.reason);
    if (!budget) this.refusalBudget.set(event.reason, (budget = { second, written: 0, suppressed: 0 }));
    if (budget.second !== second) {
      budget.second = second;
      budget.written = 0;
    }
    if (++budget.written > REFUSAL_LINES_PER_SECOND) {
      budget.suppressed++;
      return;
    }
    const record: Record<string, unknown> = {
      level: this.levels.warn,
      event: "request_refused",
      reason: event.reason,
      transport: event.transport,
      timestamp: new Date().toISOString(),
      ...this.originFields(),
    };
    if (event.clientId !== undefined) record.client_id = event.clientId;
    if (event.detail !== undefined) record.detail = cutToSize(event.detail, 200);
    if (budget.suppressed > 0) {
      record.suppressed = budget.suppressed;
      budget.suppressed = 0;
    }
    this.write(record);
  }

  /** The origin fields of a line the sink writes about itself, in the sink's format. */
  private originFields(): Record<string, unknown> {
    const origin = this.origin;
    return this.format === "ecs" ? { service: origin.ecsService } : { service: origin.service, replica: origin.replica };
  }

  private readonly writePending = (): void => {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    for (const record of batch) this.writeNow(record);
  };

  private writeNow(record: Record<string, unknown>): void {
    const logger = this.logger;
    if (logger.writableEnded) return;
    if (this.dropped > 0) {
      const count = this.dropped;
      this.dropped = 0;
      this.log({ level: this.levels.warn, event: "log_lines_dropped", count, reason: "the log sink was slower than the calls", ...this.originFields() });
    }
    this.log(record);
  }

  private log(record: Record<string, unknown>): void {
    const line = this.direct && this.directLine(record);
    if (line === undefined) this.logger.log(record as winston.LogEntry);
    else if (line !== null) this.direct!.write(line);
  }

  /**
   * The line winston would write for `record` (its JSON format: keys sorted, undefined left out,
   * toJSON honoured; ECS lines without the routing `level`), or null when the logger's level leaves
   * it out; undefined for what only winston's serialiser handles (a BigInt, a cycle).
   */
  private directLine(record: Record<string, unknown>): string | null | undefined {
    if (!this.logger.isLevelEnabled(record.level as string)) return null;
    let body = record;
    if (this.format === "ecs") {
      const { level: _routing, ...rest } = record;
      body = rest;
    }
    try {
      return canonicalJson(body, LINE_KEYS) + EOL;
    } catch {
      return undefined;
    }
  }
}

/** The winston level names to use with `logger`'s level set (npm's by default, syslog's work too). */
function levelsFor(logger: winston.Logger): LogSink["levels"] {
  const has = (name: string) => logger.levels[name] !== undefined;
  const pick = (...names: string[]) => names.find(has) ?? "info";
  const warn = pick("warn", "warning");
  const error = pick("error", "err");
  const info = pick("info");
  const debug = pick("debug", "info");
  return {
    ok: info,
    warn,
    error,
    byMcp: {
      debug,
      info,
      notice: pick("notice", "info"),
      warning: warn,
      error,
      critical: pick("crit", "critical", "error"),
      alert: pick("alert", "error"),
      emergency: pick("emerg", "emergency", "error"),
    },
  };
}

const NOT_SET = Symbol("not set");

/**
 * Writes one JSON line per call with winston: `event`, `tool`, `request_id`, `duration_ms`,
 * `status`, `timestamp`, `error` on failure, `service` and `replica` (the server's name and replica
 * id), `client_id`, `session_id`, and `trace_id` / `span_id`
 * when the call is traced — so a log line leads to its trace. Also records every `ServerLogger`
 * message of the calls it covers, with their request id. Arguments only when asked for, with
 * `redact`ed fields masked.
 *
 * @example
 * server.use(new StructuredLoggingMiddleware({ redact: ["password"], transports: [new winston.transports.File({ filename: "calls.log" })] }));
 */
export class StructuredLoggingMiddleware implements ConfigurableMiddleware<StructuredLoggingOptions> {
  /** What `@Logged` may set per class or method; `redact` lists only grow. The logger, format and transports belong to the instance. */
  static readonly decoratorOptions: Readonly<Partial<Record<keyof StructuredLoggingOptions, OptionMerge>>> = {
    includeArgs: "override",
    redact: "union",
  };
  private sink: LogSink | undefined;
  private readonly options: StructuredLoggingOptions;
  private readonly perCall: PerCallOptions;

  constructor(options: StructuredLoggingOptions = {}) {
    options = checkOptions(STRUCTURED_LOGGING_OPTIONS, options);
    // `file` checked (a path is { path }) once, here: the log file is opened when the server is built.
    if (options.file !== undefined) options.file = checkLogFileOptions(options.file);
    for (const key of ["transports", "file", "level"] as const) {
      if (options.logger && options[key] !== undefined) {
        throw new TypeError(`StructuredLoggingMiddleware options: "${key}" configures the logger Lantern creates, and "logger" was given too; set it on your logger, or leave "logger" out`);
      }
    }
    if (options.transports?.length === 0 && options.file === undefined) {
      throw new TypeError('StructuredLoggingMiddleware options: "transports" is empty and no "file" is given, so every line would be lost; list a transport, give "file", or leave "transports" out for stderr');
    }
    this.options = options;
    this.perCall = { includeArgs: options.includeArgs === true, redact: Redaction.of(options.redact) };
  }

  /** Records `ServerLogger` messages of the calls this middleware covers; flushes its own logger at shutdown. */
  setup(server: ServerSetup): void {
    const sink = this.shared();
    const origin = sink.origin;
    if (origin.replica !== undefined && (origin.replica !== server.replicaId || origin.service !== server.info.name)) {
      throw new DefinitionError(
        `One StructuredLoggingMiddleware cannot log for two servers with different names or replica ids ("${origin.service}" as "${origin.replica}", and "${server.info.name}" as "${server.replicaId}"): every line says which server and replica wrote it; give each server its own instance`,
      );
    }
    if (origin.replica === undefined) sink.origin = logOrigin(server.info.name, server.replicaId);
    server.onClientLog((record) => logClientMessage(sink, record));
    server.onRefusal((event) => sink.refusal(event));
    // A logger Lantern made is Lantern's to flush (files written in full before the process exits);
    // a logger you pass in stays yours.
    if (!this.options.logger) server.onShutdown(() => sink.close());
  }

  /** This middleware with other argument options for a class or method, writing to the same logger. */
  withOptions(options: Partial<StructuredLoggingOptions>): MiddlewareObject {
    const variant = new StructuredLoggingMiddleware(
      mergeOptions<StructuredLoggingOptions>(
        StructuredLoggingMiddleware.decoratorOptions,
        { includeArgs: this.perCall.includeArgs, redact: [...this.perCall.redact.fields] },
        { includeArgs: options.includeArgs, redact: options.redact },
      ),
    );
    variant.sink = this.shared();
    return variant;
  }

  async handle(ctx: CallContext, next: Next): Promise<unknown> {
    const sink = this.shared();
    if (ctx.bag.has(sink.callKey)) return next();
    ctx.bag.set(sink.callKey, this.perCall);
    let thrown: unknown = NOT_SET;
    try {
      return await next();
    } catch (error) {
      thrown = error;
      throw error;
    } finally {
      this.logCall(sink, ctx, thrown);
    }
  }

  private logCall(sink: LogSink, ctx: CallContext, thrown: unknown): void {
    try {
      const outcome = callOutcome(ctx, thrown === NOT_SET ? undefined : thrown, thrown !== NOT_SET);
      const failed = outcome.status !== "ok";
      const error = failed ? (outcome.error ?? thrown) : undefined;
      const line: CallLine = {
        level: !failed ? sink.levels.ok : outcome.status === "error" ? sink.levels.error : sink.levels.warn,
        status: outcome.status,
        durationMs: ctx.elapsedMs(),
        errorName: failed ? (error instanceof Error ? error.name : "Error") : undefined,
        errorMessage: failed ? (error instanceof Error ? error.message : String(error)) : undefined,
        args: this.perCall.includeArgs ? redactValue(ctx.args, this.perCall.redact) : undefined,
        spanContext: callSpanContext(ctx),
      };
      sink.write(sink.format === "ecs" ? ecsCallRecord(ctx, line, sink.origin) : jsonCallRecord(ctx, line, sink.origin));
    } catch (error) {
      // A log line must never change how a call ends.
      writeStderrNotice(`could not write the structured log line of ${ctx.kind} "${ctx.name}": ${describeError(error)}`);
    }
  }

  private shared(): LogSink {
    return (this.sink ??= new LogSink(this.options));
  }
}

/**
 * The decorator form of {@link StructuredLoggingMiddleware}: logs every tool of a class, or one
 * method. A call also covered by a server-wide instance is logged once, by that instance.
 *
 * @example
 * @Server({ name: "hr-api", version: "1.0.0" })
 * @Logged({ includeArgs: true, redact: ["ssn"] })
 * class HrApi { ... }
 */
export const Logged = middlewareDecorator<StructuredLoggingOptions, LoggedOptions>(StructuredLoggingMiddleware, LOGGED_OPTIONS, "Logged");

function logClientMessage(sink: LogSink, record: ClientLogRecord): void {
  const ctx = record.ctx;
  const options = ctx.bag.get(sink.callKey) as PerCallOptions | undefined;
  if (!options) return;
  try {
    const line = {
      level: sink.levels.byMcp[record.level] ?? sink.levels.ok,
      mcpLevel: record.level,
      logger: record.logger,
      data: redactValue(record.data, options.redact),
      // Inside the tool: the active span is the tool's own (a child span, maybe), else the call's.
      spanContext: activeSpanContext() ?? callSpanContext(ctx),
    };
    sink.write(sink.format === "ecs" ? ecsClientLogRecord(ctx, line, sink.origin) : jsonClientLogRecord(ctx, line, sink.origin));
  } catch (error) {
    writeStderrNotice(`could not write a ServerLogger message to the structured log: ${describeError(error)}`);
  }
}

/**
 * The call's span: the one the tracing middleware started (found in the call's bag when this
 * middleware runs outside it in the chain), else whatever span is active here.
 */
function callSpanContext(ctx: CallContext): SpanContext | undefined {
  return validOrUndefined(ctx.bag.get(CALL_SPAN_CONTEXT) as SpanContext | undefined) ?? activeSpanContext();
}

/** The active span's context, when one is active. */
function activeSpanContext(): SpanContext | undefined {
  const { context, trace } = openTelemetryApi();
  return validOrUndefined(trace.getSpanContext(context.active()));
}

const validOrUndefined = (spanContext: SpanContext | undefined): SpanContext | undefined =>
  spanContext && openTelemetryApi().isSpanContextValid(spanContext) ? spanContext : undefined;
