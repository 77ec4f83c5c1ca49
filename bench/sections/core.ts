import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { measureAlternating, median, type Measurement, type SectionResult } from "../harness.js";
import { bareLowLevelServer, bareMcpServer, bareV2McpServer, lantern } from "../systems.js";

const SDK_V1 = "sdk McpServer";
const SDK_V2 = "sdk v2 McpServer";
const LANTERN = "lantern (no middleware)";

/**
 * Lantern with no middleware against the bare SDK, over the in-memory transport: in one process
 * (alternating rounds), then each system alone in a process of its own; then validation alone.
 * Two SDK baselines: `@modelcontextprotocol/sdk` 1.x (the 2025-era package) and the v2
 * `@modelcontextprotocol/server` Lantern runs on, both answering the same 2025-era client.
 */
export async function coreSection(): Promise<SectionResult[]> {
  const sdk = await bareMcpServer();
  const sdkV2 = await bareV2McpServer();
  const low = await bareLowLevelServer();
  const plain = await lantern();
  const rows = await measureAlternating([
    { name: SDK_V1, call: sdk.call },
    { name: SDK_V2, call: sdkV2.call },
    { name: "sdk low-level Server", call: low.call },
    { name: LANTERN, call: plain.call },
  ]);
  await Promise.all([sdk.close(), sdkV2.close(), low.close(), plain.close()]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const l = byName.get(LANTERN)!;
  const ratio = (base: string) => (l.p50Us / byName.get(base)!.p50Us).toFixed(3);
  return [
    {
      title: "Core: trivial tool over the in-memory transport (1 caller), one process",
      baseline: SDK_V1,
      rows,
      notes: [
        `lantern / sdk v2 McpServer (the SDK Lantern runs on) p50: ${ratio(SDK_V2)}× (target ≤ 1.05×, validation included)`,
        `lantern / sdk 1.x McpServer p50: ${ratio(SDK_V1)}×; sdk v2 / sdk 1.x: ${(byName.get(SDK_V2)!.p50Us / byName.get(SDK_V1)!.p50Us).toFixed(3)}× (the v2 SDK's own per-request work)`,
        `lantern / sdk low-level Server p50: ${ratio("sdk low-level Server")}×`,
      ],
    },
    await standalone(),
    await validationScaling(),
  ];
}

/** The same calls with each system alone in its own process, in alternating rounds. */
async function standalone(rounds = 15, iterations = 4000): Promise<SectionResult> {
  const script = fileURLToPath(new URL("../processes/core-standalone.js", import.meta.url));
  const systems = [SDK_V1, SDK_V2, LANTERN];
  const children = systems.map((name) => fork(script, [name], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  try {
    await Promise.all(children.map(reply));
    const samples = systems.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < children.length; k++) {
        const i = (round + k) % children.length;
        const answer = reply(children[i]!);
        children[i]!.send({ iterations });
        samples[i]!.push((await answer).us!);
      }
    }
    const rows: Measurement[] = systems.map((name, i) => {
      const us = median(samples[i]!);
      return { name, p50Us: us, p99Us: Math.max(...samples[i]!), callsPerSec: 1e6 / us };
    });
    const us = (name: string) => rows.find((r) => r.name === name)!.p50Us;
    return {
      title: "Core: the same, each system alone in its own process (mean µs per call, median of alternating rounds; p99 column = slowest round)",
      baseline: SDK_V1,
      rows,
      notes: [
        `lantern / sdk v2 McpServer: ${(us(LANTERN) / us(SDK_V2)).toFixed(3)}× (target ≤ 1.05×); lantern / sdk 1.x McpServer: ${(us(LANTERN) / us(SDK_V1)).toFixed(3)}×`,
        "Alone, Lantern's process pays for the AsyncLocalStorage behind CallContext.current() (Node 20 tracks every promise once it is in use); in one process every system pays it.",
      ],
    };
  } finally {
    for (const child of children) child.kill();
  }
}

/** The next message of a forked benchmark process; rejects if it exits first. */
function reply(child: ChildProcess): Promise<{ ns?: number; us?: number }> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`a benchmark process exited with ${code}`));
    child.once("exit", onExit);
    child.once("message", (message) => {
      child.off("exit", onExit);
      resolve(message as { ns?: number; us?: number });
    });
  });
}

/**
 * Per-call validation of one input class with 1, 100 and 500 input classes loaded, each count in a
 * process of its own (this one has loaded every example's classes), measured in alternating rounds.
 * class-validator's validateSync looks the class's rules up among all loaded classes on every call;
 * the compiled check read them once.
 */
async function validationScaling(rounds = 21): Promise<SectionResult> {
  const script = fileURLToPath(new URL("../validation-scaling-process.js", import.meta.url));
  const counts = [1, 100, 500];
  const systems = ["compiled check", "validateSync"];
  // Rounds of a few tens of ms: long enough for the collector's work to be part of each, short
  // enough that a round preempted on a busy machine is an outlier the median drops.
  const iterations: Record<string, number> = { "compiled check": 50_000, validateSync: 2_000 };
  const children = counts.map((count) => fork(script, [String(count)], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  try {
    await Promise.all(children.map(reply));
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      // Each round starts with another process, so that no count is always measured first.
      for (let k = 0; k < children.length; k++) {
        const i = (round + k) % children.length;
        const child = children[i]!;
        for (const system of systems) {
          const answer = reply(child);
          child.send({ system, iterations: iterations[system] });
          const { ns } = await answer;
          const key = `${system}|${counts[i]}`;
          samples.set(key, [...(samples.get(key) ?? []), ns! / 1000]);
        }
      }
    }
    const us = (system: string, count: number) => median(samples.get(`${system}|${count}`)!);
    const rows: Measurement[] = systems.flatMap((system) =>
      counts.map((count) => ({
        name: `${system}, ${count} class${count > 1 ? "es" : ""} loaded`,
        p50Us: us(system, count),
        p99Us: Math.max(...samples.get(`${system}|${count}`)!),
        callsPerSec: 1e6 / us(system, count),
      })),
    );
    const ratio = (system: string) => us(system, 500) / us(system, 1);
    return {
      title: "Validation: µs per call of one input class (median of alternating rounds; p99 column = slowest round), by input classes loaded",
      baseline: "compiled check, 1 class loaded",
      rows,
      notes: [
        `compiled check, 500 classes / 1 class: ${ratio("compiled check").toFixed(3)}× (target: flat within 10 %)`,
        `validateSync, 500 classes / 1 class: ${ratio("validateSync").toFixed(3)}×`,
        `compiled check / validateSync with 500 classes: ${(us("compiled check", 500) / us("validateSync", 500)).toFixed(3)}×`,
      ],
    };
  } finally {
    for (const child of children) child.kill();
  }
}
