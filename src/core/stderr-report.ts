/**
 * What Lantern itself writes to stderr, in one of two shapes a log reader cannot confuse with each
 * other or with forged lines: one escaped JSON object per event, or a `[lantern] ` notice kept on
 * one line. Messages may quote what a client sent (an argument, a request id, a tool's error
 * message); neither shape lets such text start a line of its own.
 */

/**
 * Writes one event as one JSON line: `{"level":...,"event":...,"timestamp":...,...fields}`.
 *
 * @example
 * writeStderrEvent("error", "internal_error", { tool: "import_csv", error: describeError(error) });
 */
export function writeStderrEvent(level: "error" | "warn" | "info", event: string, fields: Record<string, unknown>): void {
  let line: string;
  try {
    line = JSON.stringify({ level, event, timestamp: new Date().toISOString(), ...fields }, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value);
  } catch {
    line = JSON.stringify({ level, event, timestamp: new Date().toISOString(), error: "the event's fields could not be serialised" });
  }
  process.stderr.write(`${line}\n`);
}

// C0 controls (newline and carriage return included), DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

/** `text` on one line: control characters written as `\n`, `\u001b`, ... */
export function oneLine(text: string): string {
  return text.replace(CONTROL, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/**
 * Writes `[lantern] <message>` as one line (clearly not JSON), control characters escaped.
 *
 * @example
 * writeStderrNotice(`the completer ${label} failed: ${describeError(error)}`);
 */
export function writeStderrNotice(message: string): void {
  process.stderr.write(`[lantern] ${oneLine(message)}\n`);
}
