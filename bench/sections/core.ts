import { measureAlternating, type SectionResult } from "../harness.js";
import { bareLowLevelServer, bareMcpServer, lantern } from "../systems.js";

/** Issue 2: Lantern with no middleware against the bare SDK, over the in-memory transport. */
export async function coreSection(): Promise<SectionResult> {
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
  return {
    title: "Core: trivial tool over the in-memory transport (1 caller)",
    baseline: "sdk McpServer",
    rows,
    notes: [
      `lantern / sdk McpServer p50: ${(l.p50Us / byName.get("sdk McpServer")!.p50Us).toFixed(3)}× (target ≤ 1.10×, validation included)`,
      `lantern / sdk low-level Server p50: ${(l.p50Us / byName.get("sdk low-level Server")!.p50Us).toFixed(3)}×`,
    ],
  };
}
