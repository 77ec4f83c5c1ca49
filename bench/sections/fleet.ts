import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { ensureDebianBinary, Fleet, REPLICA_IDS } from "../../examples/fleet/fleet.js";
import { measureAlternating, type Measurement, type SectionResult } from "../harness.js";

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function modernClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "bench-fleet", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

/** `calls` calls spread over the clients (each one call at a time): throughput and per-call latency. */
async function throughputRound(clients: Client[], calls: number): Promise<{ rate: number; p50: number; p99: number }> {
  const samples = new Float64Array(calls);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(clients.map(async (client) => {
    while (next < calls) {
      const i = next++;
      const s = performance.now();
      await client.callTool({ name: "find_items", arguments: { query: `bench-${i}` } });
      samples[i] = (performance.now() - s) * 1000;
    }
  }));
  const elapsed = performance.now() - t0;
  samples.sort();
  return { rate: (calls / elapsed) * 1000, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

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
  const concurrency = Number(process.env.BENCH_FLEET_CLIENTS ?? 16);
  const calls = Number(process.env.BENCH_FLEET_CALLS ?? 3000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-fleet-"));
  // Audit durability "flush": the figures are about CPU, not about this disk's fsync.
  const fleet = await Fleet.start({ dir, auditDurability: "flush" });
  try {
    const token = await fleet.token("bench");
    const clients = await Promise.all(Array.from({ length: concurrency }, () => modernClient(fleet.url, token)));
    const sizes = [1, 2, 3];
    const serve = async (n: number) => {
      for (const [i, id] of REPLICA_IDS.entries()) await fleet.setServing(id, i < n);
    };
    const byN = new Map(sizes.map((n) => [n, { rate: [] as number[], p50: [] as number[], p99: [] as number[] }]));
    await throughputRound(clients, calls); // warm-up of every replica
    for (let round = 0; round < rounds; round++) {
      for (const n of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        await serve(n);
        const r = await throughputRound(clients, calls);
        byN.get(n)!.rate.push(r.rate);
        byN.get(n)!.p50.push(r.p50);
        byN.get(n)!.p99.push(r.p99);
      }
    }
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    const scaling: Measurement[] = sizes.map((n) => ({
      name: `${n} replica${n > 1 ? "s" : ""}`,
      p50Us: median(byN.get(n)!.p50),
      p99Us: median(byN.get(n)!.p99),
      callsPerSec: median(byN.get(n)!.rate),
    }));
    const one = scaling[0]!.callsPerSec;
    for (const row of scaling) row.extra = { "throughput vs 1": `${(row.callsPerSec / one).toFixed(2)}×` };

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
      { warmup: 300, iterations: Number(process.env.BENCH_FLEET_LATENCY_CALLS ?? 1500), rounds },
    );
    await direct.close().catch(() => {});
    await balanced.close().catch(() => {});
    const [d, b] = latency as [Measurement, Measurement];
    const cores = availableParallelism();
    return [
      {
        title: `Fleet behind HAProxy: trivial 2026-07-28 call, production stack, ${concurrency} clients (machine: ${cores} cores)`,
        baseline: "1 replica",
        rows: scaling,
        notes: [
          `throughput 2 / 1 replicas: ${(scaling[1]!.callsPerSec / one).toFixed(2)}×, 3 / 1: ${(scaling[2]!.callsPerSec / one).toFixed(2)}×, 3 / 2: ${(scaling[2]!.callsPerSec / scaling[1]!.callsPerSec).toFixed(2)}×`,
          `replicas, HAProxy and the clients share ${cores} cores: throughput grows up to the core count and flattens there (a third replica on ${cores} cores adds processes, not CPU)`,
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
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
