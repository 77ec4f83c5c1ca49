import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { ensureDebianBinary, Fleet, REPLICA_IDS } from "../../examples/fleet/fleet.js";
import { cpuSeconds, envInteger, measureAlternating, measureRound, median, type Measurement, type SectionResult } from "../harness.js";
import { benchFetch } from "../http-systems.js";

async function modernClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "bench-fleet", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } }, fetch: benchFetch }));
  return client;
}

/** `calls` calls spread over the clients (each one call at a time): throughput and per-call latency. */
const throughputRound = (clients: Client[], calls: number) =>
  measureRound((c, i) => clients[c]!.callTool({ name: "find_items", arguments: { query: `bench-${i}` } }), calls, clients.length);

/**
 * The fleet of examples/fleet (three replicas of the production example, full stack, behind a real
 * HAProxy): throughput of a trivial 2026-07-28 tool call with 1, 2 and 3 replicas in rotation
 * (the others in maintenance; rounds alternate the order), and HAProxy's added latency per call
 * (one client, straight to a replica against through HAProxy, alternating rounds).
 */
export async function fleetSection(): Promise<SectionResult[]> {
  try {
    ensureDebianBinary("haproxy", "haproxy", (line) => console.log(`[bench fleet] ${line}`));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.log(`[bench fleet] skipped: ${reason}`);
    return [{ title: "Fleet behind HAProxy (skipped)", rows: [], notes: [`skipped: ${reason}`] }];
  }
  const concurrency = envInteger("BENCH_FLEET_CLIENTS", 16);
  const calls = envInteger("BENCH_FLEET_CALLS", 1500);
  const rounds = envInteger("BENCH_FLEET_ROUNDS", 3);
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-fleet-"));
  // Audit durability "flush": the figures are about CPU, not about this disk's fsync.
  let started: Fleet | undefined;
  try {
    const fleet = (started = await Fleet.start({ dir, auditDurability: "flush" }));
    const token = await fleet.token("bench");
    const clients = await Promise.all(Array.from({ length: concurrency }, () => modernClient(fleet.url, token)));
    const sizes = [1, 2, 3];
    const serve = async (n: number) => {
      for (const [i, id] of REPLICA_IDS.entries()) await fleet.setServing(id, i < n);
    };
    const byN = new Map(sizes.map((n) => [n, { rate: [] as number[], p50: [] as number[], p99: [] as number[], cores: [] as Record<string, number>[] }]));
    // Where the CPU goes in a round, in cores: the clients (this process), HAProxy, the replicas.
    const pids = { clients: process.pid, haproxy: fleet.pid("haproxy")!, replicas: REPLICA_IDS.map((id) => fleet.pid(id)!) };
    const cpuNow = () => ({
      clients: cpuSeconds(pids.clients),
      haproxy: cpuSeconds(pids.haproxy),
      replicas: pids.replicas.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    });
    await throughputRound(clients, calls); // warm-up of every replica
    for (let round = 0; round < rounds; round++) {
      for (const n of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        await serve(n);
        const before = cpuNow();
        const t0 = performance.now();
        const r = await throughputRound(clients, calls);
        const wall = (performance.now() - t0) / 1000;
        const after = cpuNow();
        byN.get(n)!.cores.push({
          clients: (after.clients - before.clients) / wall,
          haproxy: (after.haproxy - before.haproxy) / wall,
          replicas: (after.replicas - before.replicas) / wall,
        });
        byN.get(n)!.rate.push(r.rate);
        byN.get(n)!.p50.push(r.p50);
        byN.get(n)!.p99.push(r.p99);
      }
    }
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    const scaling: Measurement[] = sizes.map((n) => {
      const cores = byN.get(n)!.cores;
      const share = (key: string) => median(cores.map((c) => c[key]!));
      return {
        name: `${n} replica${n > 1 ? "s" : ""}`,
        p50Us: median(byN.get(n)!.p50),
        p99Us: median(byN.get(n)!.p99),
        callsPerSec: median(byN.get(n)!.rate),
        extra: {
          "cores: replicas": share("replicas"),
          haproxy: share("haproxy"),
          clients: share("clients"),
          "replica cpu µs/call": (share("replicas") / median(byN.get(n)!.rate)) * 1e6,
        },
      };
    });
    const one = scaling[0]!.callsPerSec;
    for (const row of scaling) row.extra = { "throughput vs 1": `${(row.callsPerSec / one).toFixed(2)}×`, ...row.extra };

    // HAProxy's cost per call: one client, replica-1 alone in rotation, direct against through HAProxy.
    await serve(1);
    const direct = await modernClient(`http://127.0.0.1:${fleet.replica("replica-1").port}/mcp`, token);
    const balanced = await modernClient(fleet.url, token);
    let i = 0;
    const latency = await measureAlternating(
      [
        { name: "direct to replica-1", call: () => direct.callTool({ name: "find_items", arguments: { query: `direct-${i++}` } }) },
        { name: "through HAProxy", call: () => balanced.callTool({ name: "find_items", arguments: { query: `lb-${i++}` } }) },
      ],
      { warmup: 300, iterations: envInteger("BENCH_FLEET_LATENCY_CALLS", 1500), rounds },
    );
    await direct.close().catch(() => {});
    await balanced.close().catch(() => {});
    const [d, b] = latency as [Measurement, Measurement];
    const cores = availableParallelism();
    const used = (row: Measurement) => ["cores: replicas", "haproxy", "clients"].reduce((sum, key) => sum + (row.extra![key] as number), 0);
    const cpuPerCall = (row: Measurement) => (row.extra!["replica cpu µs/call"] as number).toFixed(0);
    const gain = scaling[1]!.callsPerSec / one;
    const verdict = gain >= 1.1
      ? `throughput grows from 1 to 2 replicas (${gain.toFixed(2)}×) and flattens at the core count: a third replica on ${cores} cores adds processes, not CPU`
      : `throughput does not grow past 1 replica on this machine (2 / 1: ${gain.toFixed(2)}×): the replicas, HAProxy and the clients got ${used(scaling[0]!).toFixed(2)} of its ${cores} cores with 1 replica and ${used(scaling[2]!).toFixed(2)} with 3 (the rest went to other processes), so more replicas split the same CPU while each call costs the replicas more of it (${cpuPerCall(scaling[0]!)} → ${cpuPerCall(scaling[2]!)} µs: fewer calls per replica to batch, more processes to schedule); the ceiling is the core count`;
    return [
      {
        title: `Fleet behind HAProxy: trivial 2026-07-28 call, production stack, ${concurrency} clients (machine: ${cores} cores)`,
        baseline: "1 replica",
        rows: scaling,
        notes: [
          `throughput 2 / 1 replicas: ${(scaling[1]!.callsPerSec / one).toFixed(2)}×, 3 / 1: ${(scaling[2]!.callsPerSec / one).toFixed(2)}×, 3 / 2: ${(scaling[2]!.callsPerSec / scaling[1]!.callsPerSec).toFixed(2)}×`,
          verdict,
          `"cores" columns: CPU seconds per second of the replicas together, HAProxy and the client process in a round; load average at the end ${loadavg()[0]!.toFixed(1)} (other processes share the machine)`,
          `${calls} calls a round, ${rounds} rounds alternating 1→2→3 and 3→2→1; audit durability flush`,
        ],
      },
      {
        title: "HAProxy's added latency per call (1 client, replica-1 alone in rotation)",
        baseline: "direct to replica-1",
        rows: latency,
        notes: [`added by HAProxy: ${(b.p50Us - d.p50Us).toFixed(0)} µs per call at the median (${((b.p50Us / d.p50Us - 1) * 100).toFixed(1)} %)`],
      },
    ];
  } finally {
    await started?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
