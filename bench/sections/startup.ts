import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { envInteger, median, type Measurement, type SectionResult } from "../harness.js";

const ROUNDS = envInteger("BENCH_STARTUP_ROUNDS", 11);
const NPM_START_ROUNDS = envInteger("BENCH_NPM_START_ROUNDS", 3);

const max = (values: number[]): number => Math.max(...values);

/** Runs `node -e` importing `specifier` in a fresh process; the import's own time (ms) and the process's. */
function importOnce(specifier: string): Promise<{ importMs: number; processMs: number }> {
  const code = `const t0 = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t0));`;
  const started = performance.now();
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`importing ${specifier} exited with ${code}`));
      else resolve({ importMs: Number(out), processMs: performance.now() - started });
    });
  });
}

/**
 * Starts `command` (detached: its own process group) and resolves with the ms from spawn until its
 * stderr prints the production example's "MCP on <url>" line and `/healthz` at that URL answers 200.
 */
async function timeToServing(command: string, args: string[], extraEnv: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, ...extraEnv } });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let seen = "";
      child.stderr!.on("data", (chunk) => {
        seen += chunk;
        const match = /MCP on (http:\/\/\S+)/.exec(seen);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`${command} ${args.join(" ")} exited with ${code} before serving:\n${seen}`)));
      child.once("error", reject);
    });
    const health = await fetch(new URL("/healthz", url));
    if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
    return performance.now() - started;
  } finally {
    await stop(child);
  }
}

/** SIGTERM to the process group, then waits (polling, bounded) until every process of it is gone. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return; // never started (the spawn failed)
  const group = -child.pid;
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(group, "SIGTERM");
  for (let i = 0; i < 1000 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (alive()) process.kill(group, "SIGKILL");
}

const row = (name: string, valuesMs: number[], extra: Record<string, number | string> = {}): Measurement => ({
  name,
  p50Us: median(valuesMs) * 1000,
  p99Us: max(valuesMs) * 1000,
  callsPerSec: 0,
  extra: { "median ms": median(valuesMs), "max ms": max(valuesMs), ...extra },
});

/**
 * Start-up as a newcomer meets it, each measurement in a fresh process, rounds alternating:
 * importing `lantern-mcp` against importing the SDK (`@modelcontextprotocol/server`) alone; the
 * production example's process from launch to serving (`/healthz` answers); and `npm start` on
 * an unchanged checkout (its build step finds nothing to do) to serving.
 */
export async function startupSection(): Promise<SectionResult> {
  const sdk = { importMs: [] as number[], processMs: [] as number[] };
  const root = { importMs: [] as number[], processMs: [] as number[] };
  await importOnce("lantern-mcp"); // the file system cache, warm for both
  for (let round = 0; round < ROUNDS; round++) {
    for (const [specifier, into] of [["@modelcontextprotocol/server", sdk], ["lantern-mcp", root]] as const) {
      const { importMs, processMs } = await importOnce(specifier);
      into.importMs.push(importMs);
      into.processMs.push(processMs);
    }
  }

  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-startup-"));
  const serverEnv = {
    PORT: "0",
    LANTERN_DATA_DIR: dir,
    LANTERN_AUDIT_SECRET: "bench-audit-secret-0123456789abcdef",
    LANTERN_JWT_SECRET: "bench-jwt-secret-that-is-comfortably-longer-than-32-bytes",
  };
  const ready: number[] = [];
  const npmStart: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) ready.push(await timeToServing(process.execPath, ["dist-examples/examples/production-api/main.js"], serverEnv));
    for (let round = 0; round < NPM_START_ROUNDS; round++) npmStart.push(await timeToServing("npm", ["start", "--silent"], serverEnv));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const importRatio = median(root.importMs) / median(sdk.importMs);
  const readyMs = median(ready);
  const npmStartMs = median(npmStart);
  return {
    title: "Start-up: import, server process, npm start (fresh processes, medians)",
    baseline: "import @modelcontextprotocol/server",
    rows: [
      row("import @modelcontextprotocol/server", sdk.importMs, { "process ms": median(sdk.processMs) }),
      row("import lantern-mcp", root.importMs, { "process ms": median(root.processMs) }),
      row("production example: launch → /healthz", ready),
      row("npm start (unchanged checkout) → /healthz", npmStart),
    ],
    notes: [
      `${ROUNDS} alternating rounds (npm start: ${NPM_START_ROUNDS}); the p50/p99 columns are the median and the slowest round, in µs`,
      `import lantern-mcp / import the SDK alone: ${importRatio.toFixed(2)}× (target ≤ 2×: ${importRatio <= 2 ? "met" : "MISSED"})`,
      `production example ready ${readyMs.toFixed(0)} ms after launch (target ≤ 500 ms: ${readyMs <= 500 ? "met" : "MISSED"})`,
      `npm start on an unchanged checkout serving after ${npmStartMs.toFixed(0)} ms (target ≤ 3000 ms: ${npmStartMs <= 3000 ? "met" : "MISSED"})`,
    ],
  };
}
