import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ReadResourceResult } from "@modelcontextprotocol/sdk/types.js";
import { createToken } from "lantern-mcp/testing";

/** Sizes come from the environment so CI can run a smaller load; the defaults are what the issue asks for. */
export const sizeFromEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
};

export const AUDIT_SECRET = "stress-suite-audit-secret-0123456789abcdef";
export const JWT_SECRET = "stress-suite-jwt-secret-0123456789abcdef-xyz";

/** A token the production example accepts (its issuer and audience), with both inventory scopes unless told otherwise. */
export const tokenFor = (clientId: string, scopes = ["inventory:read", "inventory:write"], secret = JWT_SECRET) =>
  createToken({ secret, clientId, subject: `${clientId}-user`, issuer: "lantern-dev", audience: "inventory-api", scopes });

/** A real SDK client over Streamable HTTP sending `token` as its bearer token. */
export async function connectClient(url: string, token: string, name = "stress-client"): Promise<{ client: Client; sessionId: string }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId! };
}

/** One line of the audit trail, as `docs/audit.md` describes it. */
export interface AuditLine {
  seq: number;
  kind: string;
  tool: string;
  client_id: string;
  request_id: string;
  session_id?: string;
  status: string;
  error?: { type: string; message: string };
  args?: Record<string, unknown>;
  prev_hash: string;
  hmac: string;
}

/** The whole entries of an audit file (a last line without its newline is left out: it is a torn write). */
export function readAudit(path: string): AuditLine[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const whole = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
  return whole.split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditLine);
}

const MAIN = resolve("dist-examples/examples/production-api/main.js");
const TAIL_LINES = 200;

/** `npm start` (the production example's main.js) running as a child process. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** `http://127.0.0.1:<port>` for /metrics and /healthz. */
  base: string;
  /** The last lines it wrote to stderr (bounded). */
  tail(): string[];
  /** Structured-log `tool_call` lines seen so far, by status. */
  logged: Map<string, number>;
  /** The other lines of stderr: the server's own notices (bounded). */
  notices: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Settles once everything the process wrote to stderr has been read. */
  drained: Promise<void>;
}

/**
 * Spawns `dist-examples/examples/production-api/main.js` on a free port with `env` added and
 * waits until it listens. Its stderr is read to the end (a full pipe would stall the server), keeping
 * only a bounded tail and the count of structured log lines.
 */
export async function startServerProcess(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm run test:stress does)`);
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, NODE_OPTIONS: "", LANTERN_DATA_DIR: dataDir, PORT: "0", LANTERN_DASHBOARD: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines: string[] = [];
  const logged = new Map<string, number>();
  const notices: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once("exit", (code, signal) => done({ code, signal })));
  const reader = createInterface({ input: child.stderr! });
  const drained = new Promise<void>((done) => reader.once("close", done));
  const listening = new Promise<string>((resolveUrl, reject) => {
    reader.on("line", (line) => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      if (line.startsWith("{")) {
        try {
          const record = JSON.parse(line) as { event?: string; status?: string };
          if (record.event === "tool_call") logged.set(record.status!, (logged.get(record.status!) ?? 0) + 1);
        } catch {
          // Not every line starting with "{" has to be ours.
        }
        return;
      }
      notices.push(line);
      if (notices.length > TAIL_LINES) notices.shift();
      const match = /MCP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(line);
      if (match) resolveUrl(match[1]!);
    });
    void exited.then(({ code, signal }) => reject(new Error(`main.js exited (code ${code}, signal ${signal}) before listening:\n${lines.join("\n")}`)));
  });
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`main.js did not listen within 20 s:\n${lines.join("\n")}`)), 20_000);
    timer.unref();
    void listening.finally(() => clearTimeout(timer)).catch(() => undefined);
  });
  let url: string;
  try {
    url = await Promise.race([listening, timeout]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { child, url, base: url.replace(/\/mcp$/, ""), tail: () => [...lines], logged, notices, exited, drained };
}

/** Stops a server process started by {@link startServerProcess} (SIGKILL if it ignores SIGTERM for 10 s). */
export async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  if (!server) return;
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill("SIGTERM");
    const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000);
    await server.exited;
    clearTimeout(timer);
  }
  await server.drained;
}

/** Where main.js keeps its audit trail under its data folder. */
export const auditPathIn = (dataDir: string): string => join(dataDir, "audit", "audit.jsonl");

/** The value of one Prometheus sample line, e.g. `inventory_tool_calls_total{tool="find_items",status="ok"}`. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The text of a resource read's first content. */
export const textOf = (result: ReadResourceResult): string => (result.contents[0] as { text: string }).text;
