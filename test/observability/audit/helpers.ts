import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEntry } from "lantern-mcp";

export const SECRET = "test-audit-secret-0123456789abcdef";

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix = "lantern-audit-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The entries of a JSONL audit file. */
export function readEntries(path: string): AuditEntry[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditEntry);
}
