import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REPLICA = "dist-examples/examples/rate-limited-api/main.js";
const owned = new Set<ChildProcess>();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves when a line of `child`'s output matches, rejects when it exits first. */
function lineMatching(child: ChildProcess, stream: NodeJS.ReadableStream, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    const seen: string[] = [];
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}) before it was ready:\n${seen.join("\n")}`));
    child.once("exit", onExit);
    lines.on("line", (line) => {
      if (seen.length < 50) seen.push(line);
      if (pattern.test(line)) {
        child.off("exit", onExit);
        lines.removeAllListeners("line");
        lines.on("line", () => {});
        resolve(line);
      }
    });
  });
}

/** A redis-server of our own on 127.0.0.1: its data in `dir`, every write appended and synced, so it survives a kill. */
export async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const binary = process.env.REDIS_SERVER ?? "redis-server";
  const child = spawn(binary, [
    "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
    "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "notice",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  owned.add(child);
  child.once("exit", () => owned.delete(child));
  await lineMatching(child, child.stdout!, /Ready to accept connections/, "redis-server");
  return child;
}

export interface Replica {
  child: ChildProcess;
  url: string;
  /** The replica's stderr so far (the store outage lines). */
  stderr: string[];
}

/** One replica of examples/rate-limited-api, on a free port. */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [REPLICA], { env: { ...process.env, PORT: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  owned.add(child);
  child.once("exit", () => owned.delete(child));
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk) => stderr.push(String(chunk)));
  const line = await lineMatching(child, child.stdout!, /^\{/, "the replica");
  return { child, url: (JSON.parse(line) as { url: string }).url, stderr };
}

/** Stops a process we started and waits until it is gone. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...owned].map((child) => stop(child, "SIGKILL")));
}

/** What one call answered: `ok`, or the JSON-RPC error's code and data. */
export type CallResult = { ok: true; text: string } | { ok: false; code: number; message: string; data: Record<string, unknown> };

/** One call in a session of its own (a client cycling sessions): connect, call, end the session. */
export async function callInNewSession(url: string, apiKey: string, tool: string, args: Record<string, unknown>): Promise<CallResult> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${apiKey}` } } });
  const client = new Client({ name: "limits-e2e", version: "1.0.0" });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: tool, arguments: args });
    return { ok: true, text: (result.content as { text: string }[])[0]!.text };
  } catch (error) {
    const e = error as { code: number; message: string; data: Record<string, unknown> };
    if (typeof e.code !== "number") throw error;
    return { ok: false, code: e.code, message: e.message, data: e.data };
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

/** Reads `uri` in a session of its own. */
export async function readInNewSession(url: string, apiKey: string, uri: string): Promise<unknown> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${apiKey}` } } });
  const client = new Client({ name: "limits-e2e", version: "1.0.0" });
  await client.connect(transport);
  try {
    const read = await client.readResource({ uri });
    return JSON.parse((read.contents[0] as { text: string }).text);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}
