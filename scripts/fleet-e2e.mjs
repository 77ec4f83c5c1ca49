#!/usr/bin/env node
// End-to-end proof of the fleet (examples/fleet) behind a real HAProxy, run by `npm run test:fleet`
// after `npm run build`:
//   1. installs Debian's `haproxy` package when the binary is missing (needs root and apt-get);
//   2. starts three replicas of the production example behind HAProxy (temp dir, free ports);
//   3. 32 clients of the 2026-07-28 era (SDK v2, pinned) and 8 of the 2025 era (SDK 1.32, sticky
//      sessions) call find_items through HAProxy, each call with a unique query (its call id);
//   4. meanwhile each replica in turn gets SIGTERM (it must drain and exit 0) and is started again,
//      the next only once HAProxy has the last one UP and sends it calls: no modern call may fail; a
//      2025-era session whose replica went away gets 404, opens a new session and retries;
//   5. then one replica gets SIGKILL: only calls in flight at that moment may fail, HAProxy marks it
//      DOWN and sends it nothing more; it is started again (its audit trail recovers);
//   6. Prometheus (examples/fleet/prometheus.yml) has every replica up under its `replica` label;
//   7. the fleet stops (every replica exits 0), every replica's audit chain verifies, and every call
//      a client saw succeed is in exactly one replica's chain (no call lost, none run twice);
//   8. prints a summary and removes everything it started, pass or fail.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FLEET_MODULE = join(ROOT, "dist-examples/examples/fleet/fleet.js");
const CLI = join(ROOT, "dist/cli/main.js");
const MODERN_CLIENTS = 32;
const LEGACY_CLIENTS = 8;
/** The load runs at least this long; the restarts happen inside it. */
const LOAD_MS = Number(process.env.FLEET_E2E_LOAD_MS ?? 40_000);
/** Everything, setup and checks included, must be done within this. */
const DEADLINE_MS = 170_000;
const started = Date.now();

const log = (message) => process.stdout.write(`[fleet-e2e] ${message}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
  return ok;
};

if (!existsSync(FLEET_MODULE) || !existsSync(CLI)) {
  process.stderr.write(`[fleet-e2e] ${FLEET_MODULE} or ${CLI} is missing: run "npm run build" first (npm run test:fleet does)\n`);
  process.exit(2);
}
if (!Number.isInteger(LOAD_MS) || LOAD_MS < 0) {
  process.stderr.write(`[fleet-e2e] FLEET_E2E_LOAD_MS must be a whole number of milliseconds, got "${process.env.FLEET_E2E_LOAD_MS}"\n`);
  process.exit(2);
}
const { Fleet, REPLICA_IDS, HEALTH_CHECK_INTERVAL_MS, ensureDebianBinary } = await import(FLEET_MODULE);

/** Every call a client made: its id (the unique query), era, times and outcome. */
const calls = [];
/** 2025-era sessions that answered 404 and were opened again. */
const reopened = [];
/** A client loop that ended on an error of its own (a failed connect, say). */
const loopErrors = [];
let stopLoad = false;

const isNotFound = (error) => error?.code === 404 || /HTTP 404|\(404\)|Session not found/.test(String(error?.message));
const textOf = (error) => (error instanceof Error ? error.message : String(error)).slice(0, 200);

async function modernClient(fleet, name) {
  const client = new Client({ name, version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  const headers = { Authorization: `Bearer ${await fleet.token(name)}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(fleet.url), { requestInit: { headers } }));
  return client;
}

async function legacySession(fleet, name, token) {
  const client = new LegacyClient({ name, version: "1.0.0" });
  // The standalone GET stream of a session whose replica went away fails too: the calls tell.
  client.onerror = () => {};
  const transport = new LegacyTransport(new URL(fleet.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  try {
    await client.connect(transport);
  } catch (error) {
    void transport.close().catch(() => {});
    throw error;
  }
  return { client, transport };
}

/**
 * Opens a 2025-era session; a session opened on a replica that goes away before the client's
 * `notifications/initialized` lands is unknown where that lands (404): open another, as the spec says.
 */
async function openLegacySession(fleet, name, token) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await legacySession(fleet, name, token);
    } catch (error) {
      if (!isNotFound(error) || attempt >= 5) throw error;
    }
  }
}

/** One client's loop: a call with a fresh id after another, until the load stops. */
async function runModern(fleet, index) {
  const name = `modern-${String(index).padStart(2, "0")}`;
  const client = await modernClient(fleet, name);
  for (let n = 0; !stopLoad; n++) {
    const call = { id: `${name}-${n}`, era: "2026-07-28", start: Date.now(), end: 0, ok: false, error: undefined };
    calls.push(call);
    try {
      const result = await client.callTool({ name: "find_items", arguments: { query: call.id } });
      call.ok = result.isError !== true;
      if (!call.ok) call.error = JSON.stringify(result.content).slice(0, 200);
    } catch (error) {
      call.error = textOf(error);
    }
    call.end = Date.now();
  }
  await client.close().catch(() => {});
}

async function runLegacy(fleet, index) {
  const name = `legacy-${index}`;
  const token = await fleet.token(name);
  let session = await openLegacySession(fleet, name, token);
  for (let n = 0; !stopLoad; n++) {
    const call = { id: `${name}-${n}`, era: "2025", start: Date.now(), end: 0, ok: false, error: undefined, retried: 0 };
    calls.push(call);
    for (;;) {
      try {
        const result = await session.client.callTool({ name: "find_items", arguments: { query: call.id } });
        call.ok = result.isError !== true;
        if (!call.ok) call.error = JSON.stringify(result.content).slice(0, 200);
        break;
      } catch (error) {
        // The spec's way: the session is unknown where the request landed; open a new one and retry
        // (a 404 is answered before anything runs).
        if (!isNotFound(error) || call.retried >= 3) {
          call.error = textOf(error);
          break;
        }
        call.retried++;
        reopened.push({ client: name, session: session.transport.sessionId, at: Date.now() });
        const old = session;
        session = await openLegacySession(fleet, name, token);
        void old.transport.close().catch(() => {});
      }
    }
    call.end = Date.now();
  }
  await session.client.close().catch(() => {});
}

/** Waits (bounded) until HAProxy has sent the replica more requests than `before`. */
async function waitForTraffic(fleet, id, before) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const sent = (await fleet.balancerStats()).get(id).sent;
    if (sent > before) return sent;
    if (Date.now() > deadline) throw new Error(`HAProxy sent ${id} no request within 20 s of it being UP`);
    await sleep(20);
  }
}

/**
 * `lantern audit verify <auditDir> --manifest <manifest> --json`: every replica's chain verifies,
 * and the directory holds exactly the chains the fleet's manifest lists. One result per chain.
 */
function verifyFleetAudit(auditDir, manifest, env) {
  const run = spawnSync(process.execPath, [CLI, "audit", "verify", auditDir, "--manifest", manifest, "--json"], { env: { ...process.env, ...env }, encoding: "utf8" });
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    return [{ id: "fleet", ok: false, output: `${run.stdout}${run.stderr}`.trim() }];
  }
  const chains = report.chains.map((c) => ({ id: c.replica, ok: c.ok, output: `${c.ok ? "intact" : "PROBLEMS"}: ${c.entries} entries (seq ${c.firstSeq}..${c.lastSeq}) in ${c.files.length} file(s)${c.problems.length ? `; ${c.problems.map((p) => `${p.kind}: ${p.message}`).join("; ")}` : ""}` }));
  if (run.status !== 0 && chains.every((c) => c.ok)) chains.push({ id: "fleet", ok: false, output: `exit ${run.status}: ${report.notes?.join("; ") ?? run.stderr}` });
  return chains;
}

/** The call ids each replica's chain holds (the `query` argument of its find_items entries). */
function auditedCallIds(auditDir) {
  const byId = new Map();
  for (const id of REPLICA_IDS) {
    const dir = join(auditDir, id);
    for (const file of readdirSync(dir).filter((f) => /^audit\.jsonl(\.\d+)?$/.test(f))) {
      for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
        if (!line) continue;
        const entry = JSON.parse(line);
        const query = entry.tool === "find_items" ? entry.args?.query : undefined;
        if (typeof query !== "string") continue;
        const where = byId.get(query) ?? [];
        where.push(id);
        byId.set(query, where);
      }
    }
  }
  return byId;
}

/** Polls Prometheus (bounded) until every replica is up under its `replica` label with calls counted. */
async function prometheusSeesEveryReplica(base) {
  const query = async (q) => {
    const answer = await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json();
    return Object.fromEntries(answer.data.result.map((r) => [r.metric.replica, Number(r.value[1])]));
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await query('up{job="inventory-api"}');
    const counted = await query('sum by (replica) (inventory_tool_calls_total{job="inventory-api"})');
    if (REPLICA_IDS.every((id) => up[id] === 1 && counted[id] > 0)) return counted;
    if (Date.now() > deadline) throw new Error(`Prometheus does not see every replica up with calls after 30 s: up ${JSON.stringify(up)}, calls ${JSON.stringify(counted)}`);
    await sleep(250);
  }
}

let fleet;
let dir;
let timer;
try {
  timer = setTimeout(() => {
    log(`deadline of ${DEADLINE_MS / 1000} s passed: giving up`);
    process.exitCode = 1;
    stopLoad = true;
    void fleet?.close().finally(() => process.exit(1));
  }, DEADLINE_MS);
  ensureDebianBinary("haproxy", "haproxy", log);
  dir = mkdtempSync(join(tmpdir(), "lantern-fleet-e2e-"));
  fleet = await Fleet.start({ dir, prometheus: true });
  log(`fleet up at ${fleet.url} (${elapsed()}): ${REPLICA_IDS.map((id) => `${id} :${fleet.replica(id).port}`).join(", ")}`);

  const loadStarted = Date.now();
  const loop = (name, run) => run().catch((error) => loopErrors.push(`${name}: ${error instanceof Error ? error.stack : String(error)}`));
  const clientsDone = Promise.all([
    ...Array.from({ length: MODERN_CLIENTS }, (_, i) => loop(`modern-${i}`, () => runModern(fleet, i))),
    ...Array.from({ length: LEGACY_CLIENTS }, (_, i) => loop(`legacy-${i}`, () => runLegacy(fleet, i))),
  ]);
  for (const id of REPLICA_IDS) await waitForTraffic(fleet, id, 0);
  log(`load running: ${MODERN_CLIENTS} modern + ${LEGACY_CLIENTS} legacy clients (${elapsed()})`);

  // Rolling restart: one replica at a time, the next only when the last is back and serving.
  const restarts = [];
  for (const id of REPLICA_IDS) {
    const before = (await fleet.balancerStats()).get(id);
    const t0 = Date.now();
    const exit = await fleet.stopReplica(id, "SIGTERM");
    const stoppedIn = Date.now() - t0;
    check(exit.code === 0, `${id} exited with ${exit.code ?? exit.signal} after SIGTERM, not 0`);
    await fleet.startReplica(id);
    const sent = await waitForTraffic(fleet, id, (await fleet.balancerStats()).get(id).sent);
    restarts.push({ id, inFlightAtSigterm: before.current, stoppedIn, backIn: Date.now() - t0 });
    log(`${id}: SIGTERM with ${before.current} request(s) in flight in HAProxy, exited ${exit.code} after ${stoppedIn} ms, UP and serving again after ${Date.now() - t0} ms (sent ${sent})`);
  }
  const rollingEnded = Date.now();

  // A crash: SIGKILL, no draining.
  const victim = "replica-2";
  // The process dies between these two moments: a call is in flight at the kill when it started
  // before the second and ended after the first.
  const killSentAt = Date.now();
  const killed = await fleet.stopReplica(victim, "SIGKILL");
  const killedAt = Date.now();
  check(killed.signal === "SIGKILL", `${victim} should have died of SIGKILL, got ${killed.code ?? killed.signal}`);
  await fleet.waitForStatus(victim, "DOWN");
  const downAfter = Date.now() - killSentAt;
  const sentAtDown = (await fleet.balancerStats()).get(victim).sent;
  log(`${victim}: SIGKILL (dead ${killedAt - killSentAt} ms later); HAProxy marked it DOWN after ${downAfter} ms (check interval ${HEALTH_CHECK_INTERVAL_MS} ms)`);
  // Calls keep going to the others for a while (a bounded number of calls, not a time).
  const callsAtDown = calls.length;
  while (calls.length < callsAtDown + 500 && !stopLoad) await sleep(50);
  const sentLater = (await fleet.balancerStats()).get(victim).sent;
  check(sentLater === sentAtDown, `HAProxy sent ${sentLater - sentAtDown} request(s) to ${victim} after marking it DOWN`);
  await fleet.startReplica(victim);
  log(`${victim} started again and UP (${elapsed()})`);

  const loadLeft = LOAD_MS - (Date.now() - loadStarted);
  if (loadLeft > 0) await sleep(loadLeft);
  stopLoad = true;
  await clientsDone;
  const loadEnded = Date.now();
  const stats = await fleet.balancerStats();
  const scraped = await prometheusSeesEveryReplica(fleet.prometheusUrl);
  log(`prometheus: ${Object.entries(scraped).map(([id, n]) => `${id} up, ${n} calls counted`).join("; ")}`);
  await fleet.close();
  log(`load stopped after ${((loadEnded - loadStarted) / 1000).toFixed(1)} s; fleet stopped (${elapsed()})`);

  // Outcomes.
  check(loopErrors.length === 0, `${loopErrors.length} client loop(s) broke off: ${loopErrors.slice(0, 3).join("\n")}`);
  const ok = calls.filter((c) => c.ok);
  const failed = calls.filter((c) => !c.ok);
  const modernFailed = failed.filter((c) => c.era === "2026-07-28");
  const inFlightAtKill = (c) => c.start <= killedAt && c.end >= killSentAt;
  const outsideKill = failed.filter((c) => !inFlightAtKill(c));
  const duringRolling = failed.filter((c) => c.end < killSentAt);
  check(duringRolling.length === 0, `${duringRolling.length} call(s) failed during the rolling restart, e.g. ${JSON.stringify(duringRolling.slice(0, 3))}`);
  const relative = (list) => JSON.stringify(list.slice(0, 5).map((c) => ({ id: c.id, startMsAfterKill: c.start - killedAt, endMsAfterKill: c.end - killedAt, error: c.error })));
  check(outsideKill.length === 0, `${outsideKill.length} call(s) failed that were not in flight at the SIGKILL (DOWN after ${downAfter} ms): ${relative(outsideKill)}`);
  const reopenedInRolling = reopened.filter((r) => r.at < rollingEnded);
  check(reopenedInRolling.length > 0, "no 2025-era session saw a 404 during the rolling restart: the sessions were not sticky to the restarted replicas");

  // Audit: every chain verifies; every call seen to succeed is in exactly one chain.
  const auditDir = join(dir, "audit");
  const env = fleet.auditEnv;
  const chains = verifyFleetAudit(auditDir, fleet.auditManifest, env);
  for (const result of chains) {
    check(result.ok, `${result.id}'s audit chain does not verify:\n${result.output}`);
    log(`audit ${result.id}: ${result.output.split("\n")[0]}`);
  }
  // Each chain names its replica in its entries (the report takes the id from them).
  check(JSON.stringify(chains.map((c) => c.id).sort()) === JSON.stringify([...REPLICA_IDS].sort()), `the fleet's chains name ${chains.map((c) => c.id).join(", ")}, not ${REPLICA_IDS.join(", ")}`);
  const audited = auditedCallIds(auditDir);
  const missing = ok.filter((c) => !audited.has(c.id));
  const twice = [...audited].filter(([, where]) => where.length > 1);
  const made = new Set(calls.map((c) => c.id));
  const unknown = [...audited.keys()].filter((id) => !made.has(id));
  check(missing.length === 0, `${missing.length} call(s) succeeded for the client but are in no audit chain, e.g. ${missing.slice(0, 5).map((c) => c.id).join(", ")}`);
  check(twice.length === 0, `${twice.length} call(s) ran more than once: ${twice.slice(0, 5).map(([id, where]) => `${id} on ${where.join("+")}`).join(", ")}`);
  check(unknown.length === 0, `${unknown.length} audited call id(s) no client made: ${unknown.slice(0, 5).join(", ")}`);
  check(ok.length > 0 && calls.length >= MODERN_CLIENTS + LEGACY_CLIENTS, "too few calls were made to prove anything");

  const byReplica = Object.fromEntries(REPLICA_IDS.map((id) => [id, [...audited.values()].filter((w) => w[0] === id).length]));
  log("summary:");
  log(`  calls: ${calls.length} (${ok.length} ok, ${failed.length} failed: ${modernFailed.length} modern, ${failed.length - modernFailed.length} legacy; all failures in flight at the SIGKILL: ${outsideKill.length === 0})`);
  log(`  rate: ${Math.round(calls.length / ((loadEnded - loadStarted) / 1000))} calls/s through HAProxy on ${MODERN_CLIENTS + LEGACY_CLIENTS} clients`);
  log(`  rolling restart: ${restarts.map((r) => `${r.id} drained ${r.inFlightAtSigterm} in ${r.stoppedIn} ms, back in ${r.backIn} ms`).join("; ")}`);
  log(`  2025-era sessions reopened after 404: ${reopened.length} (${reopenedInRolling.length} during the rolling restart); legacy calls retried: ${calls.filter((c) => c.retried > 0).length}`);
  log(`  SIGKILL ${victim}: DOWN in HAProxy after ${downAfter} ms; ${failed.filter(inFlightAtKill).length} call(s) in flight failed (${failed.filter((c) => audited.has(c.id)).length} of them had run: in its chain); requests sent to it after DOWN: ${sentLater - sentAtDown}`);
  log(`  HAProxy: ${REPLICA_IDS.map((id) => `${id} sent ${stats.get(id).sent}, retries ${stats.get(id).retries}, redispatches ${stats.get(id).redispatches}`).join("; ")}`);
  log(`  audit: ${audited.size} distinct calls in the chains (${Object.entries(byReplica).map(([id, n]) => `${id} ${n}`).join(", ")}); every ok call exactly once: ${missing.length === 0 && twice.length === 0}`);
} catch (error) {
  problems.push(error instanceof Error ? error.stack ?? error.message : String(error));
} finally {
  stopLoad = true;
  clearTimeout(timer);
  await fleet?.close().catch(() => {});
  if (problems.length > 0 && dir) {
    const balancerLog = join(dir, "logs", "haproxy.log");
    if (existsSync(balancerLog)) log(`haproxy log (failed or retried requests) ends:\n${readFileSync(balancerLog, "utf8").trimEnd().split("\n").slice(-40).join("\n")}`);
    for (const id of REPLICA_IDS) {
      const file = join(dir, "logs", `${id}.log`);
      if (existsSync(file)) log(`${id} log ends:\n${readFileSync(file, "utf8").trimEnd().split("\n").slice(-8).join("\n").slice(-3000)}`);
    }
  }
  // FLEET_E2E_KEEP=1 keeps the fleet's folder (logs, audit trails) of a failed run for a look.
  if (dir && (problems.length === 0 || process.env.FLEET_E2E_KEEP !== "1")) rmSync(dir, { recursive: true, force: true });
  else if (dir) log(`kept ${dir}`);
}

if (problems.length > 0) {
  for (const problem of problems) log(`FAIL: ${problem}`);
  process.exit(1);
}
log(`PASS (${elapsed()})`);
process.exit(0);
