#!/usr/bin/env node
// `npm run test:limits` (after `npm run build`): the rate-limit suites that need a real Redis.
//   1. installs Debian's `redis-server` package when the binary is missing (needs root and apt-get);
//   2. runs the Jest suites of test/limits-redis (jest.limits.config.js), which start their own
//      redis-server on 127.0.0.1 (free port, temp dir) and three replicas of the rate-limited
//      example, and stop everything they started.
import { spawn, spawnSync } from "node:child_process";

const log = (message) => process.stdout.write(`[limits-e2e] ${message}\n`);

function which(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim() || undefined;
}

function ensureRedis() {
  const found = which("redis-server");
  if (found) return found;
  log("redis-server not found: installing the Debian package");
  if (!which("apt-get")) throw new Error("redis-server is not installed and apt-get is unavailable; install Redis 6 or later and put redis-server on PATH");
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", "redis-server"]]) {
    const command = [...asRoot, "apt-get", ...args];
    const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) throw new Error(`"${command.join(" ")}" failed (exit ${result.status}); run as root or install redis-server yourself`);
  }
  const installed = which("redis-server");
  if (!installed) throw new Error("apt-get installed redis-server but the binary is not on PATH");
  return installed;
}

const redis = ensureRedis();
log(`using ${redis}`);
const jest = spawn(process.execPath, ["node_modules/jest/bin/jest.js", "-c", "jest.limits.config.js", "--runInBand", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules`.trim(), REDIS_SERVER: redis },
});
jest.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
