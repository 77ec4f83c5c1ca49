import "reflect-metadata";
import { IsInt } from "class-validator";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { auditFleetManifest, AuditFleetTimeline, AuditMiddleware, McpServer, Server, Tool, verifyAuditFleet, type AuditEntry, type AuditFleetVerification } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";
import { run as auditCommand } from "../../../src/cli/commands/audit.js";
import { readEntries, SECRET, tempDir } from "./helpers.js";

class Numbered {
  @IsInt() n!: number;
}

/** Released by the test: a call that starts before others and ends after them. */
let releaseHeld: (() => void) | undefined;

@Server({ name: "fleet-api", version: "1.0.0" })
class FleetApi {
  @Tool({ description: "Reads a record" })
  read(input: Numbered) {
    return { n: input.n };
  }

  @Tool({ description: "Waits until released" })
  async hold(input: Numbered) {
    await new Promise<void>((resolve) => { releaseHeld = resolve; });
    releaseHeld = undefined;
    return { n: input.n };
  }
}

const REPLICAS = ["replica-1", "replica-2", "replica-3"] as const;
const PER_REPLICA_SECRETS: Record<string, string> = {
  "replica-1": "replica-one-secret-0123456789",
  "replica-2": "replica-two-secret-0123456789",
  "replica-3": "replica-three-secret-01234567",
};

/**
 * Three replicas, each a real server with its own AuditMiddleware writing `<audit>/<id>/audit.jsonl`,
 * called in turn by real clients; replica-1 rotates its file; on replica-2 one call starts before
 * others and ends after them (its chain is not in start-time order).
 */
async function writeFleet(audit: string, secretOf: (id: string) => string): Promise<void> {
  const servers: McpServer[] = [];
  const clients: TestClient[] = [];
  for (const id of REPLICAS) {
    const server = new McpServer(FleetApi, { replicaId: id });
    server.use(new AuditMiddleware({ logPath: join(audit, id, "audit.jsonl"), hmacSecret: secretOf(id), ...(id === "replica-1" ? { rotate: { maxBytes: 1500 } } : {}) }));
    servers.push(server);
    clients.push(await createTestClient(server, { identity: { clientId: `agent-of-${id}`, scopes: [] } }));
  }
  for (let i = 0; i < 4; i++) for (const client of clients) await client.callTool("read", { n: i });
  const held = clients[1]!.callTool("hold", { n: 100 });
  // The held call is running, and the clock moved past its start: the calls after it start later.
  for (let i = 0; i < 1000 && !releaseHeld; i++) await new Promise((resolve) => setImmediate(resolve));
  const started = Date.now();
  for (let i = 0; i < 100_000 && Date.now() <= started; i++) await new Promise((resolve) => setImmediate(resolve));
  for (let i = 4; i < 6; i++) for (const client of clients) await client.callTool("read", { n: i });
  releaseHeld!();
  await held;
  for (const client of clients) await client.close();
  for (const server of servers) await server.close();
}

let base: { dir: string; remove: () => void };
let pristine: string;
let pristineOwnKeys: string;
beforeAll(async () => {
  base = tempDir("lantern-fleet-");
  pristine = join(base.dir, "shared", "audit");
  pristineOwnKeys = join(base.dir, "own-keys", "audit");
  await writeFleet(pristine, () => SECRET);
  await writeFleet(pristineOwnKeys, (id) => PER_REPLICA_SECRETS[id]!);
});
afterAll(() => base.remove());

let copies = 0;
/** A fresh copy of a pristine fleet directory to damage. */
function fleetCopy(from = pristine): string {
  const dir = join(base.dir, `case-${++copies}`, "audit");
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** The whole lines of a file, and a writer that puts lines back. */
const linesOf = (path: string): string[] => readFileSync(path, "utf8").split("\n").filter(Boolean);
const writeLines = (path: string, lines: string[]): void => writeFileSync(path, lines.map((l) => `${l}\n`).join(""));

/** Every entry of a replica's chain, rotated files first. */
function chainEntries(audit: string, id: string): AuditEntry[] {
  const folder = join(audit, id);
  const rotated = readdirSync(folder).filter((f) => /^audit\.jsonl\.\d+$/.test(f)).sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop()));
  return [...rotated, "audit.jsonl"].flatMap((f) => readEntries(join(folder, f)));
}

const { log, error } = console;
let output: string[] = [];
beforeEach(() => {
  output = [];
  process.env.FLEET_SECRET = SECRET;
  for (const [id, secret] of Object.entries(PER_REPLICA_SECRETS)) process.env[`SECRET_${id.replace("-", "_").toUpperCase()}`] = secret;
  // The command prints with console.log/error: capture what a terminal would show.
  console.log = (...args: unknown[]) => { output.push(args.join(" ")); };
  console.error = (...args: unknown[]) => { output.push(args.join(" ")); };
});
afterEach(() => {
  console.log = log;
  console.error = error;
});

const verify = (...args: string[]) => auditCommand(["verify", ...args]);
const report = (): AuditFleetVerification => JSON.parse(output.join("\n")) as AuditFleetVerification;
const problemsBy = (result: AuditFleetVerification) => Object.fromEntries(result.chains.map((c) => [c.replica, c.problems.map((p) => p.kind)]));

describe("lantern audit verify <fleet directory>", () => {
  it("verifies every replica's chain (rotated files and head included) and reports each", async () => {
    expect(readdirSync(join(pristine, "replica-1")).filter((f) => /\.jsonl\.\d+$/.test(f)).length).toBeGreaterThan(0);
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--json")).toBe(0);
    const result = report();
    expect(result.ok).toBe(true);
    expect(result.chains.map((c) => [c.replica, c.log, c.ok])).toEqual(REPLICAS.map((id) => [id, `${id}/audit.jsonl`, true]));
    for (const chain of result.chains) {
      const entries = chainEntries(pristine, chain.replica);
      expect(chain.entries).toBe(entries.length);
      expect([chain.firstSeq, chain.lastSeq]).toEqual([1, entries.length]);
      const times = entries.map((e) => e.timestamp).sort();
      expect([chain.firstTime, chain.lastTime]).toEqual([times[0], times.at(-1)]);
    }
    expect(result.chains[0]!.files.length).toBeGreaterThan(1);
  });

  it("prints one line per replica", async () => {
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET")).toBe(0);
    expect(output[0]).toMatch(/^OK: 3 replicas, \d+ entries, every chain intact$/);
    for (const id of REPLICAS) expect(output.some((line) => new RegExp(`^  ${id}\\s+ok\\s+\\d+ entries  seq 1…\\d+  \\S+ … \\S+  ${id}/audit\\.jsonl`).test(line))).toBe(true);
  });

  it("reports a chain whose tail was cut for that replica only, and exits 1", async () => {
    const dir = fleetCopy();
    const live = join(dir, "replica-2", "audit.jsonl");
    writeLines(live, linesOf(live).slice(0, -2));
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--json")).toBe(1);
    const result = report();
    expect(problemsBy(result)).toEqual({ "replica-1": [], "replica-2": ["truncated-tail"], "replica-3": [] });
    expect(result.chains.find((c) => c.replica === "replica-2")!.problems[0]!.message).toMatch(/entries \d+…\d+ were removed from the end/);
  });

  it("verifies with the default LANTERN_AUDIT_SECRET and refuses a missing secret as a usage error", async () => {
    const saved = process.env.LANTERN_AUDIT_SECRET;
    try {
      process.env.LANTERN_AUDIT_SECRET = SECRET;
      expect(await verify(fleetCopy())).toBe(0);
      delete process.env.LANTERN_AUDIT_SECRET;
      output = [];
      expect(await verify(fleetCopy())).toBe(2);
      expect(output.join("\n")).toContain("the environment variable LANTERN_AUDIT_SECRET is not set");
    } finally {
      if (saved === undefined) delete process.env.LANTERN_AUDIT_SECRET;
      else process.env.LANTERN_AUDIT_SECRET = saved;
    }
  });

  it("refuses options that check one log, naming what to use with a directory", async () => {
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--anchor", "x.json")).toBe(2);
    expect(output.at(-1)).toContain("--anchor checks one log; with a directory, use a manifest");
    expect(await verify(join(pristine, "replica-1", "audit.jsonl"), "--timeline")).toBe(2);
    expect(output.at(-1)).toContain(`--timeline merges the chains of a fleet's directory, and ${join(pristine, "replica-1", "audit.jsonl")} is not a directory`);
    expect(await verify(fleetCopy(), "--replica-secret-env", "replica-1")).toBe(2);
    expect(output.join("\n")).toContain("--replica-secret-env needs ID=NAME");
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--out", "x.json")).toBe(2);
    expect(output.at(-1)).toContain("--replica and --out are options of lantern audit manifest");
  });
});

describe("a fleet manifest", () => {
  it("is written from the directory: each replica's id, log and the seq its head records", async () => {
    const dir = fleetCopy();
    const out = join(dir, "..", "manifest.json");
    expect(await auditCommand(["manifest", dir, "--out", out])).toBe(0);
    const manifest = JSON.parse(readFileSync(out, "utf8"));
    expect(manifest).toEqual({
      format: "lantern-audit-fleet/1",
      replicas: REPLICAS.map((id) => ({ id, log: `${id}/audit.jsonl`, minSeq: chainEntries(pristine, id).length })),
    });
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--manifest", out)).toBe(0);
    expect(output.at(-4)).toMatch(/every chain intact and the fleet matches its manifest$/);
  });

  it("names a replica whose folder was removed as missing", async () => {
    const dir = fleetCopy();
    const out = join(dir, "..", "manifest.json");
    expect(await auditCommand(["manifest", dir, "--out", out])).toBe(0);
    rmSync(join(dir, "replica-3"), { recursive: true });
    output = [];
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--manifest", out, "--json")).toBe(1);
    const result = report();
    expect(problemsBy(result)).toEqual({ "replica-1": [], "replica-2": [], "replica-3": ["missing"] });
    expect(result.chains.find((c) => c.replica === "replica-3")).toMatchObject({ listed: true, entries: 0, files: [] });
    // Without the manifest, nothing says a replica is gone: the two chains left are intact.
    output = [];
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--json")).toBe(0);
    expect(report().chains.map((c) => c.replica)).toEqual(["replica-1", "replica-2"]);
  });

  it("catches a chain cut back together with its head, which the chain alone cannot show", async () => {
    const dir = fleetCopy();
    const out = join(dir, "..", "manifest.json");
    expect(await auditCommand(["manifest", dir, "--out", out])).toBe(0);
    const live = join(dir, "replica-3", "audit.jsonl");
    // Keep an early head, cut the log back to it: an older, consistent state of the chain.
    const head = JSON.parse(readFileSync(`${live}.head.json`, "utf8")) as { seq: number };
    const cutTo = head.seq - 3;
    writeLines(live, linesOf(live).slice(0, cutTo));
    rmSync(`${live}.head.json`);
    output = [];
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--manifest", out, "--json")).toBe(1);
    const chain = report().chains.find((c) => c.replica === "replica-3")!;
    expect(chain.problems.map((p) => p.kind)).toEqual(["missing-head", "cut-short"]);
    expect(chain.problems[1]!.message).toBe(`the chain ends at seq ${cutTo} but the manifest records that it reached seq ${head.seq}: entries ${cutTo + 1}…${head.seq} were removed from its end`);
    expect(problemsBy(report())["replica-1"]).toEqual([]);
  });

  it("reports a chain the manifest does not list, and a log listed under another replica's name", async () => {
    const dir = fleetCopy();
    expect(await auditCommand(["manifest", dir, "--replica", "replica-1=replica-2/audit.jsonl", "--replica", "replica-2=replica-1/audit.jsonl"])).toBe(0);
    const manifest = JSON.parse(output.join("\n")) as { replicas: { id: string; log: string; minSeq?: number }[] };
    expect(manifest.replicas.map((r) => [r.id, r.log])).toEqual([["replica-1", "replica-2/audit.jsonl"], ["replica-2", "replica-1/audit.jsonl"]]);
    const file = join(dir, "..", "swapped.json");
    writeFileSync(file, JSON.stringify(manifest));
    output = [];
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--manifest", file, "--json")).toBe(1);
    expect(problemsBy(report())).toEqual({ "replica-1": ["replica-mismatch"], "replica-2": ["replica-mismatch"], "replica-3": ["unlisted"] });
  });

  it("refuses a manifest that is not one, saying what is wrong", async () => {
    const file = join(base.dir, "bad-manifest.json");
    writeFileSync(file, JSON.stringify({ replicas: [{ id: "replica-1", path: "replica-1/audit.jsonl" }] }));
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--manifest", file)).toBe(2);
    expect(output.at(-1)).toContain('the fleet manifest ' + file + ', replicas[0]: unknown option "path": use "log"');
    writeFileSync(file, JSON.stringify({ replicas: [{ id: "replica-1", log: "../elsewhere/audit.jsonl" }] }));
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--manifest", file)).toBe(2);
    expect(output.at(-1)).toContain('"log" must be a path inside the fleet directory');
  });

  it("refuses an --out file it cannot write as a usage error, leaving no temporary file behind", async () => {
    const missing = join(base.dir, "no-such-folder", "manifest.json");
    expect(await auditCommand(["manifest", fleetCopy(), "--out", missing])).toBe(2);
    expect(output.at(-1)).toContain(`lantern audit manifest: cannot write ${missing}`);
    // A directory in the way: the temporary file is written, the rename over the directory fails.
    const parent = join(base.dir, "out-is-a-folder");
    const taken = join(parent, "manifest.json");
    mkdirSync(join(taken, "inside"), { recursive: true });
    expect(await auditCommand(["manifest", fleetCopy(), "--out", taken])).toBe(2);
    expect(output.at(-1)).toContain(`lantern audit manifest: cannot write ${taken}`);
    expect(readdirSync(parent)).toEqual(["manifest.json"]);
    // A file where a folder should be: neither the write nor the removal of the temporary file can start.
    const file = join(base.dir, "out-under-a-file");
    writeFileSync(file, "");
    const under = join(file, "manifest.json");
    expect(await auditCommand(["manifest", fleetCopy(), "--out", under])).toBe(2);
    expect(output.at(-1)).toContain(`lantern audit manifest: cannot write ${under}`);
  });
});

describe("the merged timeline", () => {
  it("prints every entry of every chain once, ordered by time, then replica, then seq", async () => {
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--timeline", "--json")).toBe(0);
    const lines = output.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.at(-1)!.type).toBe("report");
    const entries = lines.slice(0, -1) as unknown as { type: string; time: string; replica: string; seq: number; tool: string; status: string; client_id: string }[];
    const all = REPLICAS.flatMap((id) => chainEntries(pristine, id).map((e) => ({ time: e.timestamp, replica: id, seq: e.seq, tool: e.tool, status: e.status, client_id: e.client_id })));
    expect(entries).toHaveLength(all.length);
    const expected = [...all].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : a.seq - b.seq));
    expect(entries.map(({ time, replica, seq, tool, status, client_id }) => ({ time, replica, seq, tool, status, client_id }))).toEqual(expected);
    // replica-2's held call started before calls that were written before it: the timeline puts it back in time order.
    const held = entries.findIndex((e) => e.tool === "hold");
    const writtenBefore = chainEntries(pristine, "replica-2").filter((e) => e.seq < entries[held]!.seq && e.timestamp > entries[held]!.time);
    expect(writtenBefore.length).toBeGreaterThan(0);
    for (const e of writtenBefore) expect(entries.findIndex((t) => t.replica === "replica-2" && t.seq === e.seq)).toBeGreaterThan(held);
  });

  it("keeps a bounded window per chain: an entry further out of order than the window comes late, and is counted", async () => {
    const replica2 = (await verifyAuditFleet(pristine, { secrets: [SECRET] })).chains.filter((c) => c.replica === "replica-2");
    const wide = new AuditFleetTimeline(replica2);
    const inOrder: string[] = [];
    for await (const e of wide) inOrder.push(e.time);
    expect(inOrder).toEqual([...inOrder].sort());
    expect(wide.late).toBe(0);
    const narrow = new AuditFleetTimeline(replica2, { window: 1 });
    const seen: number[] = [];
    for await (const e of narrow) seen.push(e.seq);
    // Every entry still comes out once; the held call, written after two calls that started later, cannot be put back through a window of 1.
    expect([...seen].sort((a, b) => a - b)).toEqual(chainEntries(pristine, "replica-2").map((e) => e.seq));
    expect(narrow.late).toBe(1);
  });

  (process.platform === "linux" ? it : it.skip)("leaves no chain's file open when the reader stops early", async () => {
    // Chains larger than a read-ahead, so that their files are still open when the reader stops.
    const dir = join(base.dir, "large-chains");
    mkdirSync(dir, { recursive: true });
    const entry = chainEntries(pristine, "replica-1")[0]!;
    const chains = ["a", "b"].map((name) => {
      const file = join(dir, `${name}.jsonl`);
      writeLines(file, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ ...entry, seq: i + 1 })));
      return { replica: name, files: [file] };
    });
    const openInDir = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      }).length;
    let read = 0;
    for await (const _entry of new AuditFleetTimeline(chains, { window: 16 })) {
      expect(openInDir()).toBe(2);
      if (++read === 2) break;
    }
    // A destroyed stream closes its file on a later turn of the event loop.
    for (let i = 0; i < 1000 && openInDir() > 0; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(openInDir()).toBe(0);
  });

  it("prints a text line per entry before the report", async () => {
    expect(await verify(fleetCopy(), "--secret-env", "FLEET_SECRET", "--timeline")).toBe(0);
    const first = output[0]!;
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\S+Z  replica-\d  #\d+  read  ok  agent-of-replica-\d$/);
    expect(output.some((line) => /  replica-2  #\d+  hold  ok  agent-of-replica-2$/.test(line))).toBe(true);
  });
});

describe("per-replica secrets", () => {
  const own = ["--replica-secret-env", "replica-1=SECRET_REPLICA_1", "--replica-secret-env", "replica-2=SECRET_REPLICA_2", "--replica-secret-env", "replica-3=SECRET_REPLICA_3"];

  it("verify each replica's chain with its own secret", async () => {
    expect(await verify(fleetCopy(pristineOwnKeys), ...own, "--json")).toBe(0);
    expect(report().chains.map((c) => [c.replica, c.ok])).toEqual(REPLICAS.map((id) => [id, true]));
  });

  it("does not let one replica's secret vouch for another's chain", async () => {
    const swapped = ["--replica-secret-env", "replica-1=SECRET_REPLICA_1", "--replica-secret-env", "replica-2=SECRET_REPLICA_1", "--replica-secret-env", "replica-3=SECRET_REPLICA_3"];
    expect(await verify(fleetCopy(pristineOwnKeys), ...swapped, "--json")).toBe(1);
    const result = report();
    // Its entries and its head: neither is signed with the key given for it.
    expect(problemsBy(result)).toEqual({ "replica-1": [], "replica-2": ["wrong-key", "wrong-key"], "replica-3": [] });
    expect(result.chains[1]!.problems.map((p) => p.message).join("\n")).toMatch(/the head .* is not signed with a key the verifier holds[\s\S]*entries, the first seq 1/);
  });

  it("several shared secrets (--secret-env repeated) verify chains signed with different keys", async () => {
    expect(await verify(fleetCopy(pristineOwnKeys), "--secret-env", "SECRET_REPLICA_1", "--secret-env", "SECRET_REPLICA_2", "--secret-env", "SECRET_REPLICA_3")).toBe(0);
    output = [];
    expect(await verify(fleetCopy(pristineOwnKeys), "--secret-env", "SECRET_REPLICA_1", "--json")).toBe(1);
    expect(problemsBy(report())).toEqual({ "replica-1": [], "replica-2": ["wrong-key", "wrong-key"], "replica-3": ["wrong-key", "wrong-key"] });
  });

  it("binds a log to its replica's secret through the manifest: another replica's chain put in its place does not pass", async () => {
    const dir = fleetCopy(pristineOwnKeys);
    const manifest = join(dir, "..", "manifest.json");
    expect(await auditCommand(["manifest", dir, "--out", manifest])).toBe(0);
    // replica-2's chain replaced by replica-1's, which verifies with replica-1's key.
    rmSync(join(dir, "replica-2"), { recursive: true });
    cpSync(join(dir, "replica-1"), join(dir, "replica-2"), { recursive: true });
    output = [];
    expect(await verify(dir, ...own, "--manifest", manifest, "--json")).toBe(1);
    const withManifest = report();
    const replaced = withManifest.chains.find((c) => c.log === "replica-2/audit.jsonl")!;
    expect(new Set(replaced.problems.map((p) => p.kind))).toEqual(new Set(["wrong-key", "replica-mismatch", "cut-short", "duplicate-replica"]));
    // (cut-short too: replica-1 made one call fewer than the seq the manifest records for replica-2.)
    output = [];
    expect(await verify(dir, ...own, "--json")).toBe(1);
    expect(report().chains.map((c) => [c.log, c.problems.map((p) => p.kind)])).toEqual([
      ["replica-1/audit.jsonl", ["duplicate-replica"]],
      ["replica-2/audit.jsonl", ["duplicate-replica"]],
      ["replica-3/audit.jsonl", []],
    ]);
  });

  it("names a replica that has no secret as a usage error", async () => {
    expect(await verify(fleetCopy(pristineOwnKeys), "--replica-secret-env", "replica-1=SECRET_REPLICA_1")).toBe(2);
    expect(output.at(-1)).toMatch(/no secret for the chain replica-2\/audit\.jsonl \(replica "replica-2"\)/);
  });

  it("finds a replica's chain copied under another folder (two chains, one replica)", async () => {
    const dir = fleetCopy();
    cpSync(join(dir, "replica-1"), join(dir, "replica-4"), { recursive: true });
    expect(await verify(dir, "--secret-env", "FLEET_SECRET", "--json")).toBe(1);
    const result = report();
    expect(result.chains.filter((c) => c.replica === "replica-1").map((c) => [c.log, c.problems.map((p) => p.kind)])).toEqual([
      ["replica-1/audit.jsonl", ["duplicate-replica"]],
      ["replica-4/audit.jsonl", ["duplicate-replica"]],
    ]);
  });
});

describe("lantern audit --help", () => {
  it("prints the usage of both subcommands and exits 0, after a subcommand too", async () => {
    for (const args of [["--help"], ["verify", "--help"], ["manifest", "-h"]]) {
      output = [];
      expect(await auditCommand(args)).toBe(0);
      expect(output.join("\n")).toMatch(/lantern audit verify <dir> \[--manifest FILE\][\s\S]*lantern audit manifest <dir>/);
    }
  });
});

describe("verifyAuditFleet", () => {
  it("reports a chain of which only the head is left as missing", async () => {
    const dir = fleetCopy();
    for (const f of readdirSync(join(dir, "replica-2"))) if (!f.endsWith(".head.json")) rmSync(join(dir, "replica-2", f));
    expect(existsSync(join(dir, "replica-2", "audit.jsonl.head.json"))).toBe(true);
    const result = await verifyAuditFleet(dir, { secrets: [SECRET] });
    expect(problemsBy(result)).toEqual({ "replica-1": [], "replica-2": ["missing"], "replica-3": [] });
    expect(result.ok).toBe(false);
  });

  it("auditFleetManifest refuses a member key it would not write, naming it", async () => {
    const dir = fleetCopy();
    await expect(auditFleetManifest(dir, { replicas: [{ id: "replica-1", log: "replica-1/audit.jsonl", minSeq: 3 } as { id: string; log: string }] })).rejects.toThrow(
      'auditFleetManifest options, replicas[0]: unknown option "minSeq": it is read from the chain\'s head file',
    );
    await expect(auditFleetManifest(dir, { replicas: [{ id: "replica-1", path: "replica-1/audit.jsonl" } as unknown as { id: string; log: string }] })).rejects.toThrow(/replicas\[0\]: unknown option "path": use "log"/);
    expect(await auditFleetManifest(dir, { replicas: [{ id: "replica-1", log: "replica-1/audit.jsonl" }] })).toEqual({
      format: "lantern-audit-fleet/1",
      replicas: [{ id: "replica-1", log: "replica-1/audit.jsonl", minSeq: chainEntries(pristine, "replica-1").length }],
    });
  });

  it("refuses replica secrets that are not a secret or a non-empty list of them, naming the replica", async () => {
    for (const value of [[], "", [SECRET, ""], 42]) {
      await expect(verifyAuditFleet(pristine, { replicaSecrets: { "replica-1": value as string[] } })).rejects.toThrow('verifyAuditFleet options: "replicaSecrets.replica-1" must be a secret or a non-empty list of secrets');
    }
  });

  it("says so when the directory holds no chain", async () => {
    const empty = join(base.dir, "empty");
    cpSync(join(pristine, ".."), empty, { recursive: true, filter: (src) => !src.includes("replica") });
    const result = await verifyAuditFleet(empty, { secrets: [SECRET] });
    expect(result).toMatchObject({ ok: false, chains: [] });
    expect(result.notes[0]).toMatch(/no audit chain/);
  });
});
