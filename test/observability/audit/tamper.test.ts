import "reflect-metadata";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IsString } from "class-validator";
import { AuditMiddleware, McpServer, Server, Tool, verifyAuditLog, type AuditEntry, type AuditProblem } from "lantern-mcp";
import { auditKeyId } from "../../../src/observability/audit/audit-entry.js";
import { canonicalJson } from "../../../src/observability/canonical-json.js";
import { createTestClient } from "lantern-mcp/testing";
import { createHmac } from "node:crypto";
import { run as auditCommand } from "../../../src/cli/commands/audit.js";
import { SECRET, tempDir } from "./helpers.js";

class Lookup {
  @IsString() patientId!: string;
  @IsString() reason!: string;
}

@Server({ name: "records", version: "1.0.0" })
class Records {
  @Tool({ description: "read a record" }) read(input: Lookup) { return { patientId: input.patientId }; }
}

const ATTACKER = "attacker-secret-fedcba9876543210";
let dir: string;
let remove: () => void;
let original: string[];
let head: string;

/** A real trail of 8 entries written through a server, kept as lines to damage copy by copy. */
async function writeTrail(path: string, calls: number): Promise<void> {
  const server = new McpServer(Records).use(new AuditMiddleware({ logPath: path, hmacSecret: SECRET, includeArgs: true }));
  const client = await createTestClient(server);
  for (let i = 1; i <= calls; i++) await client.callTool("read", { patientId: `p-00${i}`, reason: "treatment" });
  await client.close();
  await server.close();
}

beforeAll(async () => {
  ({ dir, remove } = tempDir());
  await writeTrail(join(dir, "source.jsonl"), 8);
  original = readFileSync(join(dir, "source.jsonl"), "utf8").split("\n").filter(Boolean);
  head = readFileSync(join(dir, "source.jsonl.head.json"), "utf8");
});
afterAll(() => remove());

let counter = 0;
/** Writes damaged lines (and, unless told not to, the untouched head beside them). */
function damaged(lines: string[], options: { withHead?: boolean; ending?: string } = {}): string {
  const path = join(dir, `case-${++counter}.jsonl`);
  writeFileSync(path, lines.join("\n") + (options.ending ?? "\n"));
  if (options.withHead !== false) writeFileSync(`${path}.head.json`, head);
  return path;
}

const entry = (i: number): AuditEntry => JSON.parse(original[i]!) as AuditEntry;
const findings = (problems: AuditProblem[]) => problems.map((p) => ({ kind: p.kind, line: p.line, seq: p.seq }));

describe("verifyAuditLog finds and names each kind of damage at its place", () => {
  test("the intact trail verifies, tail checked against the head", async () => {
    const result = await verifyAuditLog(damaged(original), { secret: SECRET });
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ ok: true, entries: 8, firstSeq: 1, lastSeq: 8 });
    expect(result.heads).toHaveLength(1);
  });

  test("modified: an entry's content changed", async () => {
    const lines = [...original];
    lines[3] = lines[3]!.replace('"reason":"treatment"', '"reason":"billing"');
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "modified", line: 4, seq: 4 }]);
    expect(result.problems[0]!.message).toMatch(/seq 4 \(line 4 of .*\) was changed/);
  });

  test("modified: the last entry changed", async () => {
    const lines = [...original];
    lines[7] = lines[7]!.replace('"status":"ok"', '"status":"error"');
    expect(findings((await verifyAuditLog(damaged(lines), { secret: SECRET })).problems)).toEqual([{ kind: "modified", line: 8, seq: 8 }]);
  });

  test("inserted: a forged entry between two real ones", async () => {
    const forged = { ...entry(3), args: { patientId: "p-999", reason: "curiosity" }, hmac: "f".repeat(64) };
    const lines = [...original.slice(0, 3), JSON.stringify(forged), ...original.slice(3)];
    expect(findings((await verifyAuditLog(damaged(lines), { secret: SECRET })).problems)).toEqual([{ kind: "inserted", line: 4, seq: 4 }]);
  });

  test("inserted: a changed copy of an existing entry", async () => {
    const copy = original[2]!.replace('"p-003"', '"p-777"');
    const lines = [...original.slice(0, 3), copy, ...original.slice(3)];
    expect(findings((await verifyAuditLog(damaged(lines), { secret: SECRET })).problems)).toEqual([{ kind: "inserted", line: 4, seq: 3 }]);
  });

  test("deleted: entries removed from the middle", async () => {
    const lines = [...original.slice(0, 4), ...original.slice(6)];
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "deleted", line: 5, seq: 5 }]);
    expect(result.problems[0]!.message).toMatch(/seq 5…6 are missing between line 4 .*\(seq 4\) and line 5 \(seq 7\)/);
  });

  test("reordered: two entries swapped", async () => {
    const lines = [...original];
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "reordered", line: 5, seq: 4 }]);
  });

  test("duplicated: an entry repeated", async () => {
    const lines = [...original.slice(0, 6), original[5]!, ...original.slice(6)];
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "duplicated", line: 7, seq: 6 }]);
    expect(result.problems[0]!.message).toMatch(/copy of the entry at line 6/);
  });

  test("wrong key: one entry re-signed with another key", async () => {
    const { hmac: _hmac, ...body } = { ...entry(2), key_id: auditKeyId(ATTACKER), args: { patientId: "p-003", reason: "audit" } };
    const resigned = { ...body, hmac: createHmac("sha256", ATTACKER).update(canonicalJson(body)).digest("hex") };
    const lines = [...original];
    lines[2] = JSON.stringify(resigned);
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "wrong-key", line: 3, seq: 3 }]);
    // With the attacker's key also held, the entry verifies, but the next one does not link to it: named at line 4.
    const both = await verifyAuditLog(damaged(lines), { secrets: [SECRET, ATTACKER] });
    expect(findings(both.problems)).toEqual([{ kind: "chain-reset", line: 4, seq: 4 }]);
  });

  test("wrong key: the verifier holds the wrong secret (one finding, not one per entry)", async () => {
    const result = await verifyAuditLog(damaged(original), { secret: ATTACKER });
    expect(result.ok).toBe(false);
    // The head (not signed with the key held), then the entries: one finding for all 8.
    expect(findings(result.problems)).toEqual([
      { kind: "wrong-key", line: undefined, seq: undefined },
      { kind: "wrong-key", line: 1, seq: 1 },
    ]);
    expect(result.problems.find((p) => p.seq === 1)?.message).toMatch(/8 entries.*key id/);
  });

  test("modified: a line nested too deeply to serialise (100,000 arrays) is named, not a crash", async () => {
    const lines = [...original];
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    lines[4] = JSON.stringify({ ...entry(4), args: null }).replace('"args":null', `"args":${deep}`);
    expect(findings((await verifyAuditLog(damaged(lines), { secret: SECRET })).problems)).toEqual([{ kind: "modified", line: 5, seq: 5 }]);
  });

  test("malformed line: a line that is not an entry, without cascading", async () => {
    const lines = [...original];
    lines[1] = "this is not json";
    const result = await verifyAuditLog(damaged(lines), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "malformed-line", line: 2, seq: undefined }]);
  });

  test("torn last line: a write cut short by a crash", async () => {
    const result = await verifyAuditLog(damaged([...original, original[0]!.slice(0, 40)], { ending: "" }), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "torn-last-line", line: 9, seq: undefined }]);
    expect(result.lastSeq).toBe(8);
  });

  test("truncated tail: entries removed from the end, found by the head and by an anchor kept elsewhere", async () => {
    const cut = damaged(original.slice(0, 6));
    const result = await verifyAuditLog(cut, { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "truncated-tail", line: undefined, seq: 7 }]);
    expect(result.problems[0]!.message).toMatch(/ends at seq 6 .* records seq 8: entries 7…8 were removed/);

    // Head deleted too: never intact; only an explicit "no head expected" passes, and says so; the anchor catches it.
    const noHead = damaged(original.slice(0, 6), { withHead: false });
    const alone = await verifyAuditLog(noHead, { secret: SECRET });
    expect(findings(alone.problems)).toEqual([{ kind: "missing-head", line: undefined, seq: undefined }]);
    const told = await verifyAuditLog(noHead, { secret: SECRET, head: false });
    expect(told.ok).toBe(true);
    expect(told.notes.join(" ")).toMatch(/cannot be detected/);
    const anchor = join(dir, "anchor.json");
    writeFileSync(anchor, head);
    expect(findings((await verifyAuditLog(noHead, { secret: SECRET, anchor, head: false })).problems)).toEqual([{ kind: "truncated-tail", line: undefined, seq: 7 }]);
  });

  test("a forged head is refused", async () => {
    const path = damaged(original.slice(0, 6));
    writeFileSync(`${path}.head.json`, JSON.stringify({ ...JSON.parse(head), seq: 6, hmac: entry(5).hmac }));
    const result = await verifyAuditLog(path, { secret: SECRET });
    expect(result.problems.map((p) => p.kind)).toEqual(["wrong-key"]);
    expect(result.problems[0]!.message).toMatch(/head .* not signed/);
  });

  test("chain reset: a new chain started in the middle of the file", async () => {
    const other = join(dir, "other.jsonl");
    await writeTrail(other, 3);
    const fresh = readFileSync(other, "utf8").split("\n").filter(Boolean);
    const result = await verifyAuditLog(damaged([...original, ...fresh]), { secret: SECRET });
    expect(findings(result.problems)).toEqual([{ kind: "chain-reset", line: 9, seq: 1 }]);
  });
});

describe("lantern audit verify", () => {
  let output: string[];
  const saved = process.env.LANTERN_AUDIT_SECRET;
  const { log, error } = console;
  beforeEach(() => {
    output = [];
    // The command prints with console.log/error: capture what a terminal would show.
    console.log = (...args: unknown[]) => { output.push(args.join(" ")); };
    console.error = (...args: unknown[]) => { output.push(args.join(" ")); };
    process.env.LANTERN_AUDIT_SECRET = SECRET;
  });
  afterEach(() => {
    console.log = log;
    console.error = error;
    if (saved === undefined) delete process.env.LANTERN_AUDIT_SECRET;
    else process.env.LANTERN_AUDIT_SECRET = saved;
  });

  test("exit 0 when intact, 1 naming each problem and place, --json for machines", async () => {
    expect(await auditCommand(["verify", damaged(original)])).toBe(0);
    expect(output.join("\n")).toMatch(/^OK: 8 entries \(seq 1…8\)/);
    const lines = [...original];
    lines[3] = lines[3]!.replace('"treatment"', '"billing"');
    const tampered = damaged(lines);
    output.length = 0;
    expect(await auditCommand(["verify", tampered])).toBe(1);
    expect(output.join("\n")).toMatch(/modified .*line 4 seq 4/);
    output.length = 0;
    expect(await auditCommand(["verify", tampered, "--json"])).toBe(1);
    expect(JSON.parse(output.join("\n"))).toMatchObject({ ok: false, problems: [{ kind: "modified", line: 4, seq: 4 }] });
  });

  test("--secret-env names the variable, --anchor adds a head kept elsewhere", async () => {
    process.env.MY_AUDIT_KEY = SECRET;
    delete process.env.LANTERN_AUDIT_SECRET;
    const anchor = join(dir, "cli-anchor.json");
    writeFileSync(anchor, head);
    const cut = damaged(original.slice(0, 7), { withHead: false });
    expect(await auditCommand(["verify", cut, "--secret-env", "MY_AUDIT_KEY"])).toBe(1);
    expect(output.join("\n")).toMatch(/missing-head/);
    expect(await auditCommand(["verify", cut, "--secret-env", "MY_AUDIT_KEY", "--no-head"])).toBe(0);
    expect(await auditCommand(["verify", cut, "--secret-env", "MY_AUDIT_KEY", "--no-head", "--anchor", anchor])).toBe(1);
    expect(output.join("\n")).toMatch(/truncated-tail/);
    delete process.env.MY_AUDIT_KEY;
  });

  test("exit 2 on usage errors: no file, unknown option, missing secret, missing file", async () => {
    expect(await auditCommand([])).toBe(2);
    expect(await auditCommand(["verify"])).toBe(2);
    expect(output.at(-1)).toContain("name at least one audit log file");
    // Refused while parsing, before x.jsonl is looked for (which alone would also exit 2).
    expect(await auditCommand(["verify", "x.jsonl", "--frobnicate"])).toBe(2);
    expect(output.at(-1)).toContain("unknown option --frobnicate");
    expect(await auditCommand(["verify", "x.jsonl", "--anchor"])).toBe(2);
    expect(output.at(-1)).toContain("--anchor needs a file");
    expect(await auditCommand(["verify", "x.jsonl", "--witness", "--json"])).toBe(2);
    expect(output.at(-1)).toContain("--witness needs a file of witnessed heads");
    expect(await auditCommand(["verify", join(dir, "does-not-exist.jsonl")])).toBe(2);
    expect(output.join("\n")).toMatch(/no such file/);
    delete process.env.LANTERN_AUDIT_SECRET;
    expect(await auditCommand(["verify", damaged(original)])).toBe(2);
    expect(output.join("\n")).toMatch(/LANTERN_AUDIT_SECRET is not set/);
  });
});

test("copying a file keeps it verifiable (no hidden state outside the files)", async () => {
  const path = join(dir, "copied.jsonl");
  copyFileSync(join(dir, "source.jsonl"), path);
  copyFileSync(join(dir, "source.jsonl.head.json"), `${path}.head.json`);
  expect((await verifyAuditLog(path, { secret: SECRET })).ok).toBe(true);
});
