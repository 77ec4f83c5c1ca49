import type { LoggingLevel } from "@modelcontextprotocol/server";
import { CallContext } from "./call-context.js";

/** The eight MCP log levels, least severe first. */
export const LOG_LEVELS: readonly LoggingLevel[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/**
 * Sends log messages to the calling client as `notifications/message`, on the request's own
 * stream, at the level the client asked for: `logging/setLevel` on a 2025 session, the request's
 * `logLevel` in its `_meta` on MCP 2026-07-28 (none given there means no messages). Every message is also handed to the
 * server-side log, whatever the client's level. Never throws: with no client to send to, it only
 * records server-side.
 *
 * @example
 * async importCsv(input: ImportCsv, @Inject(ServerLogger) logger: ServerLogger) {
 *   await logger.info("Downloading CSV...");
 * }
 */
export class ServerLogger {
  constructor(
    private readonly ctx: CallContext | undefined = CallContext.current(),
    private readonly name?: string,
  ) {}

  /** A logger that names its messages' source (`logger` in the notification). */
  child(name: string): ServerLogger {
    return new ServerLogger(this.ctx, name);
  }

  async log(level: LoggingLevel, data: unknown): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    ctx.channel.recordLog(level, data, this.name);
    try {
      await ctx.channel.log(level, data, this.name);
    } catch {
      // The client went away; the message is already in the server-side log.
    }
  }

  debug(data: unknown): Promise<void> { return this.log("debug", data); }
  info(data: unknown): Promise<void> { return this.log("info", data); }
  notice(data: unknown): Promise<void> { return this.log("notice", data); }
  warning(data: unknown): Promise<void> { return this.log("warning", data); }
  error(data: unknown): Promise<void> { return this.log("error", data); }
  critical(data: unknown): Promise<void> { return this.log("critical", data); }
  alert(data: unknown): Promise<void> { return this.log("alert", data); }
  emergency(data: unknown): Promise<void> { return this.log("emergency", data); }
}

/**
 * Sends `notifications/progress` for the current call when the caller asked for progress (gave a
 * `progressToken`); otherwise does nothing.
 *
 * @example
 * for (const [i, row] of rows.entries()) { await progress.report(i + 1, rows.length, `row ${i + 1}`); }
 */
export class ProgressReporter {
  constructor(private readonly ctx: CallContext | undefined = CallContext.current()) {}

  /** True when the caller gave a progress token. */
  get enabled(): boolean {
    return this.token !== undefined;
  }

  private get token(): string | number | undefined {
    const token = this.ctx?.meta?.progressToken;
    return typeof token === "string" || typeof token === "number" ? token : undefined;
  }

  async report(progress: number, total?: number, message?: string): Promise<void> {
    const token = this.token;
    if (token === undefined || !this.ctx) return;
    try {
      await this.ctx.channel.notify({
        method: "notifications/progress",
        params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
      });
    } catch {
      // The client went away; progress is best-effort.
    }
  }
}
