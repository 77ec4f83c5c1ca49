#!/usr/bin/env node
// End-to-end proof of the Prometheus metrics with a real Prometheus, run by
// `npm run test:prometheus` after `npm run build`:
//   1. installs Debian's `prometheus` package when the binary is missing (needs root and apt-get);
//   2. starts two replicas of examples/metrics-replica on 127.0.0.1 (free ports, /metrics behind a token);
//   3. starts Prometheus on 127.0.0.1 (free port, temp storage, scrape interval 1 s) scraping both;
//   4. drives a known number of ok and error calls through both with the real SDK client over Streamable HTTP;
//   5. asserts through Prometheus's HTTP query API: calls by (tool, status), histogram _count,
//      per-replica totals, in-flight back to 0, both targets up, each naming its replica (<ns>_replica_info);
//   6. stops everything it started and removes its temp dir, pass or fail.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const REPLICA = "dist-examples/examples/metrics-replica/main.js";
const NAMESPACE = "stock";
const DEADLINE_MS = 100_000;
const started = Date.now();
const children = [];
let tempDir;

const log = (message) => process.stdout.write(`[prometheus-e2e] ${message}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const remaining = () => DEADLINE_MS - (Date.now() - started);

function which(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim() || undefined;
}

function ensurePrometheus() {
  const found = which("prometheus");
  if (found) return found;
  log("prometheus not found: installing the Debian package");
  if (!which("apt-get")) throw new Error("prometheus is not installed and apt-get is unavailable; install Prometheus 2.x and put it on PATH");
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", "prometheus"]]) {
    const command = [...asRoot, "apt-get", ...args];
    const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) throw new Error(`"${command.join(" ")}" failed (exit ${result.status}); run as root or install prometheus yourself`);
  }
  const installed = which("prometheus");
  if (!installed) throw new Error("apt-get installed prometheus but the binary is not on PATH");
  return installed;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns a process we own; its output is kept (bounded) and shown only when the test fails. */
function start(name, command, args, env = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.label = name;
  child.output = [];
  const keep = (chunk) => {
    child.output.push(String(chunk));
    if (child.output.length > 200) child.output.shift();
  };
  child.stderr.on("data", keep);
  children.push(child);
  return child;
}

async function startReplica(name, token) {
  const child = start(name, process.execPath, [REPLICA], { PORT: "0", METRICS_TOKEN: token, LANTERN_REPLICA_ID: name });
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once("line", resolve)),
    new Promise((_, reject) => child.once("exit", (code) => reject(new Error(`${name} exited (code ${code}) before listening:\n${child.output.join("")}`)))),
    sleep(15_000).then(() => { throw new Error(`${name} did not print its address within 15 s`); }),
  ]);
  lines.on("line", (line) => child.output.push(`${line}\n`));
  return { name, ...JSON.parse(first) };
}

async function stopAll() {
  await Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => { clearTimeout(force); resolve(); });
    child.kill("SIGTERM");
  })));
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

async function query(base, promql) {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await response.json();
  if (body.status !== "success") throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

/** Polls Prometheus until `check` passes on the query's result, or the deadline: then fails with both sides shown. */
async function expectQuery(base, promql, expected, describe = (rows) => rows) {
  let last;
  while (remaining() > 0) {
    try {
      last = describe(await query(base, promql));
      if (JSON.stringify(last) === JSON.stringify(expected)) {
        log(`ok  ${promql} = ${JSON.stringify(last)}`);
        return;
      }
    } catch (error) {
      last = String(error);
    }
    await sleep(500);
  }
  throw new Error(`${promql}\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(last)}`);
}

const byLabels = (...names) => (rows) =>
  Object.fromEntries(rows.map((r) => [names.map((n) => r.labels[n]).join("/"), r.value]).sort(([a], [b]) => a.localeCompare(b)));

async function main() {
  if (!existsSync(REPLICA)) throw new Error(`${REPLICA} is missing: run "npm run build" first (npm run test:prometheus does)`);
  const prometheusBin = ensurePrometheus();
  tempDir = mkdtempSync(join(tmpdir(), "lantern-prometheus-e2e-"));
  const token = randomBytes(16).toString("hex");

  const replicas = await Promise.all([startReplica("replica-a", token), startReplica("replica-b", token)]);
  log(`replicas on ports ${replicas.map((r) => r.port).join(", ")}`);

  const promPort = await freePort();
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    `  - job_name: ${NAMESPACE}`,
    "    authorization:",
    "      type: Bearer",
    `      credentials: ${token}`,
    "    static_configs:",
    `      - targets: [${replicas.map((r) => `"127.0.0.1:${r.port}"`).join(", ")}]`,
    "",
  ].join("\n");
  writeFileSync(join(tempDir, "prometheus.yml"), config, { mode: 0o600 });
  start("prometheus", prometheusBin, [
    `--config.file=${join(tempDir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(tempDir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    "--log.level=warn",
  ]);
  const base = `http://127.0.0.1:${promPort}`;
  while (true) {
    if (remaining() <= 0) throw new Error("Prometheus did not become ready");
    const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    await sleep(250);
  }
  log(`prometheus ready on ${base}`);

  // The plan: per replica, how many calls of each kind. `cancel` beyond what was reserved ends as
  // isError (status error); quantity 0 is refused by validation (JSON-RPC -32602, status error too).
  const plan = {
    "replica-a": [["reserve", 1, 6], ["cancel", 1, 2], ["cancel", 1000, 3], ["reserve", 0, 1]],
    "replica-b": [["reserve", 2, 4], ["cancel", 1000, 2], ["reserve", 0, 2]],
  };
  const expectedByStatus = {};
  const expectedCount = {};
  const expectedByReplica = {};
  for (const replica of replicas) {
    const client = new Client({ name: `e2e-${replica.name}`, version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(replica.url)));
    let reserved = 0;
    for (const [tool, quantity, times] of plan[replica.name]) {
      for (let i = 0; i < times; i++) {
        let status;
        try {
          const result = await client.callTool({ name: tool, arguments: { quantity } });
          status = result.isError ? "error" : "ok";
        } catch {
          status = "error";
        }
        const predicted = quantity === 0 || (tool === "cancel" && quantity > reserved) ? "error" : "ok";
        if (status !== predicted) throw new Error(`${replica.name} ${tool}(${quantity}) ended ${status}, expected ${predicted}`);
        if (status === "ok") reserved += tool === "reserve" ? quantity : -quantity;
        expectedByStatus[`${tool}/${status}`] = (expectedByStatus[`${tool}/${status}`] ?? 0) + 1;
        expectedCount[tool] = (expectedCount[tool] ?? 0) + 1;
        expectedByReplica[`127.0.0.1:${replica.port}`] = (expectedByReplica[`127.0.0.1:${replica.port}`] ?? 0) + 1;
      }
    }
    await client.close();
  }
  const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  log(`made ${Object.values(expectedCount).reduce((a, b) => a + b, 0)} calls: ${JSON.stringify(sortKeys(expectedByStatus))}`);

  await expectQuery(base, `count(up{job="${NAMESPACE}"} == 1)`, [2], (rows) => rows.map((r) => r.value));
  // Every status series exists from a tool's first call (at 0 until it happens): compare the non-zero ones.
  await expectQuery(base, `sum by (tool, status) (${NAMESPACE}_tool_calls_total) > 0`, sortKeys(expectedByStatus), byLabels("tool", "status"));
  await expectQuery(base, `sum by (tool) (${NAMESPACE}_tool_duration_seconds_count)`, sortKeys(expectedCount), byLabels("tool"));
  await expectQuery(base, `sum by (instance) (${NAMESPACE}_tool_calls_total)`, sortKeys(expectedByReplica), byLabels("instance"));
  // Present (one series per tool and replica) and at zero: not merely absent.
  await expectQuery(base, `count(${NAMESPACE}_tool_in_flight)`, [4], (rows) => rows.map((r) => r.value));
  await expectQuery(base, `sum(${NAMESPACE}_tool_in_flight)`, [0], (rows) => rows.map((r) => r.value));
  // Each target names its replica once, in an info series (the other series carry no replica label).
  await expectQuery(base, `sum by (replica, instance) (${NAMESPACE}_replica_info)`, sortKeys(Object.fromEntries(replicas.map((r) => [`${r.name}/127.0.0.1:${r.port}`, 1]))), byLabels("replica", "instance"));
  log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

let failed = false;
const onSignal = (signal) => {
  log(`${signal}: stopping everything`);
  stopAll().finally(() => process.exit(130));
};
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);
try {
  await main();
} catch (error) {
  failed = true;
  process.stderr.write(`[prometheus-e2e] FAILED: ${error instanceof Error ? error.message : error}\n`);
  for (const child of children) {
    if (child.output.length) process.stderr.write(`--- ${child.label} (last output) ---\n${child.output.join("")}\n`);
  }
} finally {
  await stopAll();
}
process.exit(failed ? 1 : 0);
