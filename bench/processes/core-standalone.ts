import "reflect-metadata";
import { performance } from "node:perf_hooks";
import { bareMcpServer, bareV2McpServer, lantern, type BenchClient } from "../systems.js";

/**
 * One system alone in a process of its own, forked by the core section: nothing else in the
 * process pays for what this system turns on (AsyncLocalStorage makes Node 20 track every promise
 * of the process). Answers each `{ iterations }` message with the mean µs per sequential call.
 */
const BUILDERS: Record<string, () => Promise<BenchClient>> = {
  "sdk McpServer": bareMcpServer,
  "sdk v2 McpServer": bareV2McpServer,
  "lantern (no middleware)": () => lantern(),
};

const system = process.argv[2]!;
const build = BUILDERS[system];
if (!build) throw new Error(`usage: core-standalone.js "${Object.keys(BUILDERS).join('" | "')}" (got ${system})`);
const client = await build();
for (let i = 0; i < 3000; i++) await client.call();
process.on("message", async (message: { iterations: number }) => {
  const t0 = performance.now();
  for (let i = 0; i < message.iterations; i++) await client.call();
  process.send!({ us: ((performance.now() - t0) * 1000) / message.iterations });
});
process.send!({ ready: true });
