import "reflect-metadata";
import { EventEmitter } from "node:events";
import { IsString } from "class-validator";
import { Dashboard, McpServer, Server, Tool } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";
import winston from "winston";

class Echo { @IsString() text!: string; }

@Server({ name: "drawn", version: "3.1.4" })
class Drawn {
  @Tool({ description: "echo" }) echo(input: Echo) {
    console.log(`echoing ${input.text.length} characters`);
    return input.text;
  }
}

/** A terminal: what Ink needs from stdout (size, TTY, write). */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 120;
  readonly rows = 30;
  output = "";
  write = (chunk: string) => { this.output += chunk; return true; };
}

/** A keyboard: what Ink needs from stdin for raw-mode input. */
class FakeKeyboard extends EventEmitter {
  readonly isTTY = true;
  private pending: string | null = null;
  setRawMode() {}
  setEncoding() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read = () => { const data = this.pending; this.pending = null; return data; };
  press(data: string) { this.pending = data; this.emit("readable"); }
}

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(options: { onExit?: () => void } = {}) {
  const server = new McpServer(Drawn);
  const terminal = new FakeTerminal();
  const keyboard = new FakeKeyboard();
  const dashboard = new Dashboard(server, {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: keyboard as unknown as NodeJS.ReadStream,
    transport: "http",
    endpoint: "http://127.0.0.1:9/mcp",
    initialTab: 5,
    ...options,
  });
  const client = await createTestClient(server, { clientInfo: { name: "drawn-agent", version: "1" } });
  await dashboard.start();
  cleanups.push(async () => { await dashboard.stop(); await client.close(); await server.close(); });
  return { server, dashboard, terminal, keyboard, client };
}

test("while it runs, console, winston and stderr output go to Raw Logs; stop() restores them", async () => {
  const originalLog = console.log;
  const originalStderrWrite = process.stderr.write;
  // The real terminal: in "replace" mode nothing captured may reach it.
  const originalStdoutWrite = process.stdout.write;
  const written: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stdout.write;
  cleanups.push(async () => { process.stdout.write = originalStdoutWrite; });
  const { dashboard, client, terminal } = await started();
  expect(console.log).not.toBe(originalLog);
  await client.callTool("echo", { text: "secret-value" });
  // In a real process winston's Console transport writes to console._stdout, which is process.stdout;
  // Jest's console is a buffer, so write to process.stdout the way it would.
  const logger = winston.createLogger({ transports: [new winston.transports.Stream({ stream: process.stdout })], format: winston.format.json() });
  logger.warn("winston says hi");
  process.stderr.write("partial ");
  process.stderr.write("line from stderr\n");
  console.error("%s failed", "something");

  const lines = dashboard.telemetry.snapshot().rawLogs.map((l) => [l.source, l.level, l.text]);
  expect(lines).toEqual(expect.arrayContaining([
    ["console.log", "info", "echoing 12 characters"],
    ["stdout", "info", JSON.stringify({ level: "warn", message: "winston says hi" })],
    ["stderr", "warn", "partial line from stderr"],
    ["console.error", "error", "something failed"],
  ]));
  expect(dashboard.telemetry.snapshot().totals.calls).toBe(1);
  expect(terminal.output).not.toContain("winston says hi");

  await dashboard.stop();
  process.stdout.write = originalStdoutWrite;
  for (const text of ["echoing 12 characters", "winston says hi"]) {
    expect(written.filter((chunk) => chunk.includes(text))).toEqual([]);
  }
  expect(console.log).toBe(originalLog);
  expect(process.stderr.write).toBe(originalStderrWrite);
  // Ink drew on the terminal it was given (the last frame is written on unmount even under CI).
  const screen = stripAnsi(terminal.output);
  expect(screen).toContain("drawn 3.1.4");
  expect(screen).toContain("[6 Raw Logs]");
  // Stopped: calls are no longer observed.
  await client.callTool("echo", { text: "later" });
  expect(dashboard.telemetry.snapshot().totals.calls).toBe(1);
});

test("q stops the dashboard, restores the console and tells onExit", async () => {
  const originalLog = console.log;
  let exited = 0;
  const { dashboard, keyboard } = await started({ onExit: () => { exited++; } });
  keyboard.press("q");
  await dashboard.closed;
  expect(exited).toBe(1);
  expect(console.log).toBe(originalLog);
});

test("a second dashboard in the same process is refused while one runs", async () => {
  const { server } = await started();
  const second = new Dashboard(server, { stdout: new FakeTerminal() as unknown as NodeJS.WriteStream, stdin: new FakeKeyboard() as unknown as NodeJS.ReadStream });
  await expect(second.start()).rejects.toThrow(/already drawing in this process/);
});

test("a stdout that is not a terminal is refused with the way to attach instead", async () => {
  const server = new McpServer(Drawn);
  const pipe = Object.assign(new FakeTerminal(), { isTTY: false });
  await expect(new Dashboard(server, { stdout: pipe as unknown as NodeJS.WriteStream }).start()).rejects.toThrow(/not one.*DashboardEndpoint.*lantern dashboard --url/);
});
