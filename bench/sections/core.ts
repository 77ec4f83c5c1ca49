import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { measureAlternating, type Measurement, type SectionResult } from "../harness.js";
import { bareLowLevelServer, bareMcpServer, lantern } from "../systems.js";

/** Lantern with no middleware against the bare SDK, over the in-memory transport; then validation alone. */
export async function coreSection(): Promise<SectionResult[]> {
  const sdk = await bareMcpServer();
  const low = await bareLowLevelServer();
  const plain = await lantern();
  const rows = await measureAlternating([
    { name: "sdk McpServer", call: sdk.call },
    { name: "sdk low-level Server", call: low.call },
    { name: "lantern (no middleware)", call: plain.call },
  ]);
  await Promise.all([sdk.close(), low.close(), plain.close()]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const l = byName.get("lantern (no middleware)")!;
  return [
    {
      title: "Core: trivial tool over the in-memory transport (1 caller)",
      baseline: "sdk McpServer",
      rows,
      notes: [
        `lantern / sdk McpServer p50: ${(l.p50Us / byName.get("sdk McpServer")!.p50Us).toFixed(3)}× (target ≤ 1.05×, validation included)`,
        `lantern / sdk low-level Server p50: ${(l.p50Us / byName.get("sdk low-level Server")!.p50Us).toFixed(3)}×`,
      ],
    },
    await validationScaling(),
  ];
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
  const reply = (child: ChildProcess) =>
    new Promise<{ ns?: number }>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the validation benchmark process exited with ${code}`));
      child.once("exit", onExit);
      child.once("message", (message) => {
        child.off("exit", onExit);
        resolve(message as { ns?: number });
      });
    });
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
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
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
