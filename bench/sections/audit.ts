import { constants as fsConstants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditMiddleware, type AuditDurability, type CallContext, type MiddlewareObject, type Next } from "lantern-mcp";
import { measureAlternating, yielding, type Measurement, type SectionResult } from "../harness.js";
import { lantern } from "../systems.js";

const CONCURRENCY = 64;
const MODES: AuditDurability[] = ["fsync", "flush", "none"];
const SECRET = "bench-audit-secret-0123456789";

/**
 * What the disk alone allows an fsync-mode audit: every call waits, as in the audit's group commit,
 * for an O_DSYNC append of as many bytes as its entry, written with the same policy (one write in
 * flight, a write started from idle taking half the queue), and nothing else: no entry built,
 * serialised or signed. Its calls/s against no audit is the floor any design of that durability
 * reaches on this disk with these callers.
 */
class DiskFloor implements MiddlewareObject {
  private readonly queue: (() => void)[] = [];
  private draining: Promise<void> | undefined;
  writes = 0;
  entries = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly entryBytes: number,
  ) {}

  static async open(path: string, entryBytes: number): Promise<DiskFloor> {
    const { O_RDWR, O_APPEND, O_CREAT, O_DSYNC } = fsConstants;
    return new DiskFloor(await open(path, O_RDWR | O_APPEND | O_CREAT | O_DSYNC, 0o640), entryBytes);
  }

  async handle(_ctx: CallContext, next: Next): Promise<unknown> {
    const result = await next();
    await new Promise<void>((resolve) => {
      this.queue.push(resolve);
      this.draining ??= new Promise<void>((hop) => setImmediate(hop))
        .then(() => this.drain())
        .finally(() => { this.draining = undefined; });
    });
    return result;
  }

  private async drain(): Promise<void> {
    let half = this.queue.length >= 2;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, half ? Math.ceil(this.queue.length / 2) : this.queue.length);
      half = false;
      const bytes = Buffer.alloc(batch.length * this.entryBytes, 0x78);
      for (let offset = 0; offset < bytes.length; ) offset += (await this.fh.write(bytes, offset, bytes.length - offset)).bytesWritten;
      this.writes += 1;
      this.entries += batch.length;
      for (const resolve of batch) resolve();
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

const diff = (now: { writes: number; entries: number }, then: { writes: number; entries: number }) => ({ writes: now.writes - then.writes, entries: now.entries - then.entries });

/**
 * The audit trail's cost per durability mode, against the same server without audit, with
 * 64 concurrent callers over the in-memory transport (group commit shares each write and fsync),
 * and the disk's own floor for the fsync mode. Every system lets the event loop run every 100
 * calls, so a "none" audit's deferred signing and writing is charged to its own rounds.
 */
export async function auditSection(): Promise<SectionResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "lantern-bench-audit-"));
  try {
    const plain = await lantern();
    const audited = await Promise.all(
      MODES.map(async (durability) => {
        const audit = new AuditMiddleware({ logPath: join(dir, `${durability}.jsonl`), hmacSecret: SECRET, durability, includeArgs: true });
        return { durability, audit, client: await lantern([audit]) };
      }),
    );
    const byMode = (mode: AuditDurability) => audited.find((a) => a.durability === mode)!;
    // The floor writes as many bytes per call as the fsync audit's entries take on disk.
    const fsyncAudit = byMode("fsync");
    await fsyncAudit.client.call();
    const entryBytes = Buffer.byteLength(readFileSync(fsyncAudit.audit.log.path, "utf8").trimEnd().split("\n").at(-1)!, "utf8") + 1;
    const floor = await DiskFloor.open(join(dir, "floor.bin"), entryBytes);
    const floored = await lantern([floor]);
    // The same as "none" with the key kept for good: what key evolution costs per call.
    const fixedKey = new AuditMiddleware({ logPath: join(dir, "fixed-key.jsonl"), hmacSecret: SECRET, durability: "none", includeArgs: true, keyEvolution: false });
    const fixed = await lantern([fixedKey]);
    let before = new Map<AuditDurability, { writes: number; entries: number }>();
    let floorBefore = { writes: 0, entries: 0 };
    const options = {
      warmup: 1000,
      iterations: 5000,
      rounds: 5,
      concurrency: CONCURRENCY,
      afterWarmup: () => {
        before = new Map(audited.map((a) => [a.durability, { ...a.audit.log.stats }]));
        floorBefore = { writes: floor.writes, entries: floor.entries };
      },
    };
    /** An audit's writes and entries since the last warm-up. */
    const since = (mode: AuditDurability) => diff(byMode(mode).audit.log.stats, before.get(mode)!);
    // Two groups, each alternating with its own no-audit rounds: the fsync rounds and their floor
    // away from the rounds that leave megabytes of page cache for the disk to write back.
    const durable = await measureAlternating(
      [
        { name: "no audit", call: yielding(plain.call) },
        { name: "disk floor for fsync (no audit work)", call: yielding(floored.call) },
        { name: "audit fsync", call: yielding(fsyncAudit.client.call) },
      ],
      options,
    );
    const fsyncStats = since("fsync");
    const floorStats = diff(floor, floorBefore);
    const buffered = await measureAlternating(
      [
        { name: "no audit", call: yielding(plain.call) },
        { name: "audit flush", call: yielding(byMode("flush").client.call) },
        { name: "audit none", call: yielding(byMode("none").client.call) },
        { name: "audit none, no key evolution", call: yielding(fixed.call) },
      ],
      options,
    );
    const intact = await Promise.all(audited.map(async (a) => a.audit.verifyChain()));
    for (const client of [plain, fixed, floored, ...audited.map((a) => a.client)]) {
      await client.close();
      await client.server.close();
    }
    await floor.close();

    const annotate = (rows: Measurement[], stats: (name: string) => { writes: number; entries: number } | undefined) => {
      const base = rows[0]!;
      for (const row of rows.slice(1)) {
        const measured = stats(row.name);
        row.extra = { "calls/s ratio": row.callsPerSec / base.callsPerSec, ...(measured ? { "entries/write": measured.entries / Math.max(1, measured.writes) } : {}) };
      }
      return (name: string) => rows.find((r) => r.name === name)!.callsPerSec / base.callsPerSec;
    };
    const durableRatio = annotate(durable, (name) => (name === "audit fsync" ? fsyncStats : name.startsWith("disk floor") ? floorStats : undefined));
    const bufferedRatio = annotate(buffered, (name) => {
      const mode = MODES.find((m) => name === `audit ${m}`);
      return mode ? since(mode) : undefined;
    });
    const fsync = durableRatio("audit fsync");
    const floorRatio = durableRatio("disk floor for fsync (no audit work)");
    const chains = `every chain verified after the run: ${intact.every(Boolean) ? "yes" : "NO"}`;
    return [
      {
        title: `Audit trail, fsync: trivial tool, ${CONCURRENCY} concurrent callers, in-memory transport, against the disk's floor (${entryBytes} bytes per entry)`,
        baseline: "no audit",
        rows: durable,
        notes: [
          `calls/s vs no audit: fsync ${fsync.toFixed(3)}× (target ≥ 0.80×); the disk's floor ${floorRatio.toFixed(3)}×; fsync reaches ${(fsync / floorRatio).toFixed(3)} of the floor (target when the floor is under 0.80×: ≥ 0.95)`,
          "floor: each call waits for an O_DSYNC append of its entry's size, with the audit's group commit and nothing else (no entry built or signed)",
          chains,
        ],
      },
      {
        title: `Audit trail, flush and none: trivial tool, ${CONCURRENCY} concurrent callers, in-memory transport`,
        baseline: "no audit",
        rows: buffered,
        notes: [
          `calls/s vs no audit: flush ${bufferedRatio("audit flush").toFixed(3)}× (target ≥ 0.90×), none ${bufferedRatio("audit none").toFixed(3)}× (target ≥ 0.97×)`,
          `key evolution (a new epoch every 10,000 entries): "none" with it / without it ${(bufferedRatio("audit none") / bufferedRatio("audit none, no key evolution")).toFixed(3)}×`,
          chains,
        ],
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
