import { format } from "node:util";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import type { DashboardLogLine } from "./telemetry-snapshot.js";

/** Where captured lines go. */
export type ServerOutputSink = (source: string, level: DashboardLogLine["level"], text: string) => void;

/** A capture in progress: the real terminal for the UI, and how to put everything back. */
export interface ServerOutputCapture {
  /** A stream that still writes to the real stdout (the dashboard draws on it). */
  readonly terminal: NodeJS.WriteStream;
  /** Restores console and the standard streams. */
  restore(): void;
}

const CONSOLE_LEVELS: Record<string, DashboardLogLine["level"]> = { log: "info", info: "info", debug: "debug", warn: "warn", error: "error", trace: "debug" };
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07/g;
/** A partial line longer than this is recorded as it is, so a writer that never ends a line cannot grow memory. */
const MAX_PENDING = 8_192;

type Write = NodeJS.WriteStream["write"];

/** How {@link captureServerOutput} captures. */
export interface ServerOutputCaptureOptions {
  /**
   * `replace` (the in-process dashboard owns the terminal): output goes only to the sink.
   * `tee` (attach mode): output is recorded and still written where it was going.
   */
  mode?: "replace" | "tee";
  /** Standard streams whose writes are captured. Default both; attach mode takes only stderr (a stdio server's stdout is the protocol). */
  streams?: readonly ("stdout" | "stderr")[];
}

const CAPTURE_OPTIONS = defineOptions<ServerOutputCaptureOptions>("captureServerOutput options", {
  mode: option.oneOf("replace", "tee"),
  streams: {
    expected: 'a list of "stdout" and/or "stderr"',
    isType: Array.isArray,
    inRange: (v) => (v as unknown[]).every((s) => s === "stdout" || s === "stderr"),
  },
});

/**
 * Captures the server's own output: `console.*` and writes to `process.stdout`/`process.stderr`
 * (winston's Console transport writes there too) become Raw Logs lines. The in-process dashboard
 * replaces the output (it owns the terminal); attach mode tees it. `restore()` puts back what was
 * installed before, so captures nest when restored last-in, first-out.
 *
 * @example
 * const capture = captureServerOutput((source, level, text) => telemetry.recordRawLog(source, level, text));
 * render(<App />, { stdout: capture.terminal });
 * capture.restore();
 */
export function captureServerOutput(sink: ServerOutputSink, options: ServerOutputCaptureOptions = {}): ServerOutputCapture {
  options = checkOptions(CAPTURE_OPTIONS, options);
  const tee = options.mode === "tee";
  const streams = options.streams ?? ["stdout", "stderr"];
  const stdout = process.stdout;
  const stderr = process.stderr;
  const originalStdoutWrite = stdout.write;
  const originalStderrWrite = stderr.write;
  const consoleRecord = console as unknown as Record<string, (...args: unknown[]) => void>;
  const originalConsole = new Map(Object.keys(CONSOLE_LEVELS).map((name) => [name, consoleRecord[name]!]));
  /** Set while a console method writes through, so its stream write is not recorded twice. */
  let inConsole = false;

  const emit = (source: string, level: DashboardLogLine["level"], text: string) => {
    for (const line of text.replace(ANSI, "").split("\n")) if (line.trim() !== "") sink(source, level, line.replace(/\r$/, ""));
  };

  for (const [name, level] of Object.entries(CONSOLE_LEVELS)) {
    const original = originalConsole.get(name)!;
    consoleRecord[name] = (...args: unknown[]) => {
      emit(`console.${name}`, level, format(...args));
      if (!tee) return;
      inConsole = true;
      try {
        original.apply(console, args);
      } finally {
        inConsole = false;
      }
    };
  }

  const streamWriter = (source: "stdout" | "stderr", level: DashboardLogLine["level"], original: Write, stream: NodeJS.WriteStream): Write => {
    let pending = "";
    return function write(chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean {
      if (!inConsole) {
        pending += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
        const lastNewline = pending.lastIndexOf("\n");
        if (lastNewline >= 0) {
          emit(source, level, pending.slice(0, lastNewline));
          pending = pending.slice(lastNewline + 1);
        }
        if (pending.length > MAX_PENDING) {
          emit(source, level, pending);
          pending = "";
        }
      }
      if (tee) return (original as Function).call(stream, chunk, encodingOrCallback, callback) as boolean;
      const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    } as Write;
  };
  if (streams.includes("stdout")) stdout.write = streamWriter("stdout", "info", originalStdoutWrite, stdout);
  if (streams.includes("stderr")) stderr.write = streamWriter("stderr", "warn", originalStderrWrite, stderr);

  const realWrite = originalStdoutWrite.bind(stdout) as Write;
  const terminal = new Proxy(stdout, {
    get(target, property) {
      if (property === "write") return realWrite;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as Function).bind(target) : value;
    },
  });

  let restored = false;
  return {
    terminal,
    restore() {
      if (restored) return;
      restored = true;
      stdout.write = originalStdoutWrite;
      stderr.write = originalStderrWrite;
      for (const [name, fn] of originalConsole) consoleRecord[name] = fn;
    },
  };
}
