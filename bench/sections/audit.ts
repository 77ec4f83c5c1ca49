import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditMiddleware, type AuditDurability } from "lantern-mcp";
import { measureAlternating, type SectionResult } from "../harness.js";
import { lantern } from "../systems.js";

const CONCURRENCY = 64;
const MODES: AuditDurability[] = ["fsync", "flush", "none"];

/**
 * The audit trail's cost per durability mode, against the same server without audit, with
 * 64 concurrent callers over the in-memory transport (group commit shares each write and fsync).
 */
export async function auditSection(): Promise<SectionResult> {
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-audit-"));
  try {
    const plain = await lantern();
    const audited = await Promise.all(
      MODES.map(async (durability) => {
        const audit = new AuditMiddleware({ logPath: join(dir, `${durability}.jsonl`), hmacSecret: "bench-audit-secret-0123456789", durability, includeArgs: true });
        return { durability, audit, client: await lantern([audit]) };
      }),
    );
    // The same as "none" with the key kept for good: what key evolution costs per call.
    const fixedKey = new AuditMiddleware({ logPath: join(dir, "fixed-key.jsonl"), hmacSecret: "bench-audit-secret-0123456789", durability: "none", includeArgs: true, keyEvolution: false });
    const fixed = await lantern([fixedKey]);
    const rows = await measureAlternating(
      [
        { name: "no audit", call: plain.call },
        ...audited.map((a) => ({ name: `audit ${a.durability}`, call: a.client.call })),
        { name: "audit none, no key evolution", call: fixed.call },
      ],
      { warmup: 1000, iterations: 5000, rounds: 5, concurrency: CONCURRENCY },
    );
    const base = rows[0]!;
    for (const [i, row] of rows.slice(1, 1 + MODES.length).entries()) {
      const { writes, entries } = audited[i]!.audit.log.stats;
      row.extra = { "entries/s": row.callsPerSec, "calls/s ratio": row.callsPerSec / base.callsPerSec, "entries/write": entries / Math.max(1, writes) };
    }
    const intact = await Promise.all(audited.map(async (a) => a.audit.verifyChain()));
    await plain.close();
    await fixed.close();
    await fixed.server.close();
    for (const a of audited) {
      await a.client.close();
      await a.client.server.close();
    }
    const ratio = (mode: AuditDurability) => (rows.find((r) => r.name === `audit ${mode}`)!.callsPerSec / base.callsPerSec).toFixed(3);
    return {
      title: `Audit trail: trivial tool, ${CONCURRENCY} concurrent callers, in-memory transport`,
      baseline: "no audit",
      rows,
      notes: [
        `calls/s vs no audit: fsync ${ratio("fsync")}× (target ≥ 0.80×), flush ${ratio("flush")}× (target ≥ 0.90×), none ${ratio("none")}× (target ≥ 0.97×)`,
        `key evolution (a new epoch every 10,000 entries): "none" with it / without it ${(rows.find((r) => r.name === "audit none")!.callsPerSec / rows.at(-1)!.callsPerSec).toFixed(3)}×`,
        `every chain verified after the run: ${intact.every(Boolean) ? "yes" : "NO"}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
