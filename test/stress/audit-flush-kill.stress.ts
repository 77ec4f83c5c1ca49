import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyAuditLog } from "lantern-mcp";
import { AUDIT_SECRET } from "./stress-support.js";

const WRITER = fileURLToPath(new URL("./fixtures/flush-audit-writer.mjs", import.meta.url));

describe('audit in "flush" mode, killed with SIGKILL mid-load', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lantern-flush-kill-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every acknowledged entry: each answered call is in the trail, and the chain verifies", async () => {
    const auditPath = join(dir, "audit.jsonl");
    const child = spawn(process.execPath, [WRITER], { env: { ...process.env, AUDIT_PATH: auditPath, AUDIT_SECRET }, stdio: ["ignore", "pipe", "inherit"] });
    const answered: number[] = [];
    let pending = "";
    const killAfter = 3000;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) answered.push(Number(line));
      if (answered.length >= killAfter && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, s) => resolve(s)));
    expect(signal).toBe("SIGKILL");
    expect(answered.length).toBeGreaterThanOrEqual(killAfter);

    const recorded = new Set(
      readFileSync(auditPath, "utf8")
        .split("\n")
        .filter((line) => line.endsWith("}"))
        .map((line) => (JSON.parse(line) as { args: { n: number } }).args.n),
    );
    const lost = answered.filter((n) => !recorded.has(n));
    expect(lost).toEqual([]);
    // The head is written off the calls' path: after a kill it may lag the log, which is all it may say.
    const verification = await verifyAuditLog(auditPath, { secret: AUDIT_SECRET });
    expect(verification.problems.filter((p) => p.kind !== "stale-head" && p.kind !== "torn-last-line")).toEqual([]);
  });
});
