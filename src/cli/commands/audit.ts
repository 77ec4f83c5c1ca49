/**
 * `lantern audit verify <file…> [--secret-env NAME]… [--anchor FILE] [--witness FILE]… [--head FILE | --no-head] [--live] [--unsigned] [--json]`
 *
 * Exit codes: 0 the trail is intact, 1 a problem was found (tampering, a torn line, a truncated
 * tail, a missing or stale head, a witnessed head the log no longer reaches...), 2 usage error (bad
 * arguments, a missing secret, an unreadable file).
 */
import { existsSync } from "node:fs";
import { AUDIT_SECRET_ENV } from "../../observability/audit/audit-entry.js";
import { verifyAuditLog, type AuditVerification, type VerifyAuditLogOptions } from "../../observability/audit/verify-audit-log.js";

const USAGE = `Usage: lantern audit verify <file…> [options]

Checks an audit trail written by AuditMiddleware: every entry's HMAC (per key epoch), the chain,
seq order across rotated files, the tail against the signed head file (<file>.head.json), an
anchor, and the heads a witness kept.

Options:
  --secret-env NAME   read the secret from this environment variable (default ${AUDIT_SECRET_ENV});
                      repeat it to hold several keys (key rotation)
  --anchor FILE       also check against a head file kept elsewhere
  --witness FILE      also check against the heads a witness kept (JSON lines); repeatable
  --head FILE         the head file (default: <file>.head.json beside a given file)
  --no-head           the log is kept without a head file: do not require one
  --live              the log's server is running: a head a few entries behind (not from a
                      clean close) is its normal lag, a note instead of stale-head
  --unsigned          accept entries written with signed: false
  --json              print the result as JSON

Exit codes: 0 intact, 1 problems found (a missing or stale head is one), 2 usage error.`;

interface Parsed {
  files: string[];
  secretEnvs: string[];
  anchor?: string;
  witnesses: string[];
  head?: string | false;
  unsigned: boolean;
  live: boolean;
  json: boolean;
}

function parse(args: string[]): Parsed | string {
  const parsed: Parsed = { files: [], secretEnvs: [], witnesses: [], unsigned: false, live: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string | undefined => {
      const v = args[++i];
      return v === undefined || v.startsWith("--") ? undefined : v;
    };
    switch (arg) {
      case "--secret-env": {
        const v = value();
        if (!v) return "--secret-env needs the name of an environment variable";
        parsed.secretEnvs.push(v);
        break;
      }
      case "--anchor": {
        const v = value();
        if (!v) return "--anchor needs a file";
        parsed.anchor = v;
        break;
      }
      case "--witness": {
        const v = value();
        if (!v) return "--witness needs a file of witnessed heads";
        parsed.witnesses.push(v);
        break;
      }
      case "--head": {
        const v = value();
        if (!v) return "--head needs a file";
        parsed.head = v;
        break;
      }
      case "--no-head":
        parsed.head = false;
        break;
      case "--live":
        parsed.live = true;
        break;
      case "--unsigned":
        parsed.unsigned = true;
        break;
      case "--json":
        parsed.json = true;
        break;
      default:
        if (arg.startsWith("-")) return `unknown option ${arg}`;
        parsed.files.push(arg);
    }
  }
  if (parsed.files.length === 0) return "name at least one audit log file";
  return parsed;
}

function print(result: AuditVerification): void {
  const range = result.firstSeq !== undefined ? `seq ${result.firstSeq}…${result.lastSeq}` : "no entries";
  const checked = [...result.heads, ...(result.witnessedHeads ? [`${result.witnessedHeads} witnessed head${result.witnessedHeads === 1 ? "" : "s"}`] : [])];
  const heads = checked.length ? `, tail checked against ${checked.join(", ")}` : "";
  if (result.ok) console.log(`OK: ${result.entries} entries (${range}) in ${result.files.length} file${result.files.length === 1 ? "" : "s"}, chain intact${heads}`);
  else {
    console.log(`TAMPERED or DAMAGED: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${result.entries} entries (${range})${heads}`);
    for (const p of result.problems) {
      const where = [p.file, p.line !== undefined ? `line ${p.line}` : undefined, p.seq !== undefined ? `seq ${p.seq}` : undefined].filter(Boolean).join(" ");
      console.log(`  ${p.kind.padEnd(14)} ${where ? `[${where}] ` : ""}${p.message}`);
    }
  }
  for (const note of result.notes) console.log(`  note: ${note}`);
}

/** Runs `lantern audit …`; resolves to the exit code. */
export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    console.log(USAGE);
    return 0;
  }
  if (sub !== "verify") {
    console.error(`lantern audit: ${sub ? `unknown subcommand "${sub}"` : "missing subcommand"}\n\n${USAGE}`);
    return 2;
  }
  const parsed = parse(rest);
  if (typeof parsed === "string") {
    console.error(`lantern audit verify: ${parsed}\n\n${USAGE}`);
    return 2;
  }
  for (const file of [parsed.anchor, typeof parsed.head === "string" ? parsed.head : undefined, ...parsed.witnesses]) {
    if (file && !existsSync(file)) {
      console.error(`lantern audit verify: no such file: ${file}`);
      return 2;
    }
  }
  const names = parsed.secretEnvs.length ? parsed.secretEnvs : parsed.unsigned ? [] : [AUDIT_SECRET_ENV];
  const secrets: string[] = [];
  for (const name of names) {
    const secret = process.env[name];
    if (!secret) {
      console.error(`lantern audit verify: the environment variable ${name} is not set; export the secret the log was signed with (or name another variable with --secret-env)`);
      return 2;
    }
    secrets.push(secret);
  }
  const options: VerifyAuditLogOptions = { secrets, unsigned: parsed.unsigned, live: parsed.live, ...(parsed.anchor ? { anchor: parsed.anchor } : {}), ...(parsed.head !== undefined ? { head: parsed.head } : {}), ...(parsed.witnesses.length ? { witness: parsed.witnesses } : {}) };
  let result: AuditVerification;
  try {
    result = await verifyAuditLog(parsed.files, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? `no such file: ${(error as NodeJS.ErrnoException).path}` : (error as Error).message;
    console.error(`lantern audit verify: ${message}`);
    return 2;
  }
  if (parsed.json) console.log(JSON.stringify(result, null, 2));
  else print(result);
  return result.ok ? 0 : 1;
}
