import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditFleetTimeline, AuditMiddleware, McpServer, verifyAuditFleet, verifyAuditLog } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";
import { envInteger, measureAlternating, type SectionResult } from "../harness.js";

const REPLICAS = 3;
const SECRET = "bench-audit-secret-0123456789";
const ENTRIES_PER_REPLICA = envInteger("BENCH_FLEET_ENTRIES", 3000);

/**
 * Writes `<dir>/<replica>/audit.jsonl` for three replicas through real servers (rotating, so each
 * chain spans files); the files of each chain, oldest first.
 */
async function writeFleet(dir: string): Promise<string[][]> {
  const chains: string[][] = [];
  for (let r = 1; r <= REPLICAS; r++) {
    const id = `replica-${r}`;
    const server = new McpServer({ name: "bench-fleet", version: "1.0.0" }, { replicaId: id });
    server.addTool({ name: "ping", description: "pong", handler: () => "pong" });
    const audit = new AuditMiddleware({ logPath: join(dir, id, "audit.jsonl"), hmacSecret: SECRET, durability: "none", rotate: { maxBytes: 256 * 1024 } });
    server.use(audit);
    const client = await createTestClient(server);
    for (let i = 0; i < ENTRIES_PER_REPLICA; i++) await client.callTool("ping", {});
    await client.close();
    await server.close();
    chains.push(await audit.log.files());
  }
  return chains;
}

/**
 * `lantern audit verify <dir>`: verifying a fleet directory (discovery, per-chain verification,
 * the fleet's own checks) against verifying each chain on its own with verifyAuditLog, and the
 * merged timeline on top.
 */
export async function auditFleetSection(): Promise<SectionResult> {
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-fleet-"));
  try {
    const chains = await writeFleet(dir);
    const total = REPLICAS * ENTRIES_PER_REPLICA;
    let intact = true;
    const rows = await measureAlternating(
      [
        {
          name: "verifyAuditLog, each chain",
          call: async () => {
            for (const files of chains) intact &&= (await verifyAuditLog(files, { secret: SECRET })).ok;
          },
        },
        { name: "verifyAuditFleet(dir)", call: async () => { intact &&= (await verifyAuditFleet(dir, { secrets: [SECRET] })).ok; } },
        {
          name: "verifyAuditFleet + timeline",
          call: async () => {
            const fleet = await verifyAuditFleet(dir, { secrets: [SECRET] });
            let n = 0;
            for await (const _ of new AuditFleetTimeline(fleet.chains)) n++;
            intact &&= fleet.ok && n === total;
          },
        },
      ],
      { warmup: 2, iterations: 4, rounds: 7, concurrency: 1 },
    );
    for (const row of rows) row.extra = { "entries/s": Math.round(row.callsPerSec * total) };
    const ratio = (i: number) => (rows[i]!.callsPerSec / rows[0]!.callsPerSec).toFixed(3);
    return {
      title: `Fleet audit: ${REPLICAS} replicas × ${ENTRIES_PER_REPLICA} entries (rotated files), one verification per "call"`,
      baseline: "verifyAuditLog, each chain",
      rows,
      notes: [
        `fleet verification / each chain alone: ${ratio(1)}× (target ≥ 0.90×: the fleet layer adds discovery and a peek at one line per chain)`,
        `with the merged timeline: ${ratio(2)}× (the files are read a second time)`,
        `every verification intact and every entry in the timeline: ${intact ? "yes" : "NO"}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
