import type { Instance } from "ink";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { writeStderrNotice } from "../../core/stderr-report.js";
import { DashboardTelemetry, type DashboardServer } from "./dashboard-telemetry.js";
import { captureServerOutput, type ServerOutputCapture } from "./output-capture.js";

/** Options of {@link Dashboard}. */
export interface DashboardOptions {
  /** Refresh period in ms; at least 250 (4 times a second). Default 250. */
  refreshMs?: number;
  /** How clients reach the server, for the header (`listen` fills these in). */
  transport?: string;
  endpoint?: string;
  /** Capture console and stdout/stderr writes into the Raw Logs tab while running. Default true. */
  captureOutput?: boolean;
  /** Where to draw. Default: this process's terminal (stdout must be a TTY). */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Tab shown first, 0–5. */
  initialTab?: number;
  /** Called after the user quit with q or Ctrl+C (the dashboard has stopped by then). */
  onExit?: () => void;
}

/** The rules of {@link DashboardOptions}. */
const DASHBOARD_OPTIONS = defineOptions<DashboardOptions>("Dashboard options", {
  refreshMs: option.integer({ min: 250, max: 60_000, unit: "ms" }),
  transport: option.string(),
  endpoint: option.string(),
  captureOutput: option.boolean(),
  stdout: option.withMethods("a writable terminal stream", "write"),
  stdin: option.withMethods("a readable terminal stream", "on"),
  initialTab: option.integer({ min: 0, max: 5 }),
  onExit: option.function("a function () => void"),
}, { refresh: 'use "refreshMs"', refreshIntervalMs: 'use "refreshMs"', tab: 'use "initialTab" (0-5)', port: "the in-process dashboard draws on this terminal; to watch from elsewhere use new DashboardEndpoint(server, { port })" });

/** The dashboard drawing in this process: there is one terminal. */
let drawing: Dashboard | undefined;

/**
 * The live terminal dashboard drawn in this process: six tabs (Overview, Tools, Agents, Logs,
 * Metrics, Raw Logs), keys 1–6, Tab, ←/→, q. It may start after the server is listening. While it
 * runs, the server's own console/winston output goes to the Raw Logs tab instead of the terminal.
 * For a stdio server (stdout is the protocol) use {@link DashboardEndpoint} and `lantern dashboard`.
 *
 * @example
 * await server.listen({ transport: "http", port: 3000 });
 * const dashboard = await new Dashboard(server).start();
 * // later: await dashboard.stop();
 */
export class Dashboard {
  readonly telemetry: DashboardTelemetry;
  private instance: Instance | undefined;
  private capture: ServerOutputCapture | undefined;
  private detach: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private hookedShutdown = false;
  private finished: () => void = () => {};
  /** Resolves when the dashboard stopped (the user quit, or `stop()` was called). */
  closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly server: DashboardServer,
    private readonly options: DashboardOptions = {},
  ) {
    this.options = checkOptions(DASHBOARD_OPTIONS, options);
    this.telemetry = DashboardTelemetry.for(server);
  }

  /** Draws the dashboard; resolves once it is on screen. */
  async start(): Promise<this> {
    if (this.instance) return this;
    const stdout = this.options.stdout ?? process.stdout;
    if (!stdout.isTTY) {
      throw new Error("The dashboard needs a terminal, and this process's stdout is not one (for a stdio server it carries the MCP protocol). Expose the telemetry with `await new DashboardEndpoint(server).start()` and run `lantern dashboard --url <url> --token <token>` in another terminal.");
    }
    if (drawing && drawing !== this) throw new Error("Another dashboard is already drawing in this process; stop() it before starting another");
    if (process.env.CI !== undefined && process.env.CI !== "0" && process.env.CI !== "false") {
      // Ink (its is-in-ci check) draws only the final frame when CI is set.
      writeStderrNotice("the CI environment variable is set: the dashboard will not update live (unset CI to see it)");
    }
    drawing = this;
    let renderDashboard: typeof import("./render-dashboard.js").renderDashboard;
    try {
      ({ renderDashboard } = await import("./render-dashboard.js"));
    } catch (error) {
      drawing = undefined;
      throw error;
    }
    if (this.options.transport) this.telemetry.setEndpoint(this.options.transport, this.options.endpoint);
    if (this.options.captureOutput !== false) {
      this.capture = captureServerOutput((source, level, text) => this.telemetry.recordRawLog(source, level, text));
    }
    this.detach = this.telemetry.attach();
    this.stopping = undefined;
    this.closed = new Promise((resolve) => { this.finished = resolve; });
    const telemetry = this.telemetry;
    try {
      this.instance = renderDashboard(
        { label: "in-process", read: () => telemetry.snapshot() },
        { stdout: this.options.stdout ?? this.capture?.terminal ?? process.stdout, stdin: this.options.stdin, refreshMs: this.options.refreshMs, initialTab: this.options.initialTab },
      );
    } catch (error) {
      this.release();
      throw error;
    }
    const instance = this.instance;
    void instance.waitUntilExit().then(
      () => this.afterExit(instance),
      () => this.afterExit(instance),
    );
    if (!this.hookedShutdown) {
      this.hookedShutdown = true;
      this.server.onShutdown(() => this.stop());
    }
    return this;
  }

  /** Removes the dashboard and gives the terminal and console back. */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopOnce());
  }

  private async stopOnce(): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    instance.unmount();
    await instance.waitUntilExit().catch(() => undefined);
    this.release();
  }

  private afterExit(instance: Instance): void {
    if (this.instance !== instance) return;
    const quitByUser = this.stopping === undefined;
    this.release();
    if (quitByUser) this.options.onExit?.();
  }

  private release(): void {
    if (drawing === this) drawing = undefined;
    if (!this.instance && !this.capture && !this.detach) return;
    this.instance?.cleanup();
    this.instance = undefined;
    this.capture?.restore();
    this.capture = undefined;
    this.detach?.();
    this.detach = undefined;
    this.finished();
  }
}
