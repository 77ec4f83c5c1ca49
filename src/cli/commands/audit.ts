/**
 * `lantern audit verify <file…> [--secret-env NAME]… [--anchor FILE] [--witness FILE]… [--head FILE | --no-head] [--live] [--unsigned] [--json]`
 * `lantern audit verify <dir> [--manifest FILE] [--timeline] [--secret-env NAME]… [--replica-secret-env ID=NAME]… [--no-head] [--live] [--unsigned] [--json]`
 * `lantern audit manifest <dir> [--replica ID=LOG]… [--out FILE]`
 *
 * Exit codes: 0 the trail is intact, 1 a problem was found (tampering, a torn line, a truncated
 * tail, a missing or stale head, a witnessed head the log no longer reaches...), 2 usage error (bad
 * arguments, a missing secret, an unreadable file).
 */
import { existsSync, statSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { AUDIT_SECRET_ENV } from "../../observability/audit/audit-entry.js";
import { AuditFleetTimeline } from "../../observability/audit/audit-fleet-timeline.js";
import { auditFleetManifest, verifyAuditFleet, type AuditFleetVerification, type VerifyAuditFleetOptions } from "../../observability/audit/verify-audit-fleet.js";
import { verifyAuditLog, type AuditVerification, type VerifyAuditLogOptions } from "../../observability/audit/verify-audit-log.js";

const USAGE = `Usage: lantern audit verify <file…> [options]
       lantern audit verify <dir> [--manifest FILE] [--timeline] [options]
       lantern audit manifest <dir> [--replica ID=LOG]… [--out FILE]

Checks an audit trail written by AuditMiddleware: every entry's HMAC (per key epoch), the chain,
seq order across rotated files, the tail against the signed head file (<file>.head.json), an
anchor, and the heads a witness kept.

Given a directory (a fleet's audit folder, laid out <dir>/<replica-id>/audit.jsonl), it finds
every chain in it (each *.jsonl file with its rotated files and head, at any depth), verifies each
the same way and reports per replica; exit 0 only if every chain is intact.

Fleet options (with a directory):
  --manifest FILE     the fleet manifest ({ "replicas": [{ "id", "log", "minSeq"? }] }): a listed
                      replica without a chain is "missing", one ending before minSeq "cut-short",
                      a chain not listed "unlisted"
  --timeline          also print every entry of every chain, merged in time order
  --replica-secret-env ID=NAME
                      replica ID's own secret is in the environment variable NAME; its chain must
                      verify with it (repeatable; other replicas use --secret-env)

  lantern audit manifest writes a manifest of the chains in <dir> as they are now (each one's
  replica id and the seq its head records) to stdout or --out FILE; --replica ID=LOG lists only
  the replicas given (LOG relative to <dir>).

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
  /** `--replica-secret-env ID=NAME`: replica id → environment variables. */
  replicaSecretEnvs: Map<string, string[]>;
  manifest?: string;
  timeline: boolean;
  /** `manifest --replica ID=LOG`. */
  replicas: { id: string; log: string }[];
  out?: string;
  anchor?: string;
  witnesses: string[];
  head?: string | false;
  unsigned: boolean;
  live: boolean;
  json: boolean;
}

/** `ID=VALUE` split at its first `=`, both sides non-empty. */
function pair(v: string): [string, string] | undefined {
  const at = v.indexOf("=");
  return at > 0 && at < v.length - 1 ? [v.slice(0, at), v.slice(at + 1)] : undefined;
}

/**
 * The options that take a value: what the message says it needs when it is missing (or not ID=VALUE
 * for a pair), and where it goes; false from `set` refuses the value.
 */
const VALUE_OPTIONS: Readonly<Record<string, { needs: string; set: (parsed: Parsed, value: string) => boolean | void }>> = {
  "--secret-env": { needs: "the name of an environment variable", set: (p, v) => { p.secretEnvs.push(v); } },
  "--replica-secret-env": {
    needs: "ID=NAME: the replica id and the environment variable holding its secret",
    set: (p, v) => {
      const kv = pair(v);
      if (kv) p.replicaSecretEnvs.set(kv[0], [...(p.replicaSecretEnvs.get(kv[0]) ?? []), kv[1]]);
      return kv !== undefined;
    },
  },
  "--replica": {
    needs: "ID=LOG: the replica id and its live log, relative to the directory (replica-1=replica-1/audit.jsonl)",
    set: (p, v) => {
      const kv = pair(v);
      if (kv) p.replicas.push({ id: kv[0], log: kv[1] });
      return kv !== undefined;
    },
  },
  "--manifest": { needs: "the fleet manifest file", set: (p, v) => { p.manifest = v; } },
  "--out": { needs: "a file", set: (p, v) => { p.out = v; } },
  "--anchor": { needs: "a file", set: (p, v) => { p.anchor = v; } },
  "--witness": { needs: "a file of witnessed heads", set: (p, v) => { p.witnesses.push(v); } },
  "--head": { needs: "a file", set: (p, v) => { p.head = v; } },
};

function parse(args: string[]): Parsed | string {
  const parsed: Parsed = { files: [], secretEnvs: [], replicaSecretEnvs: new Map(), timeline: false, replicas: [], witnesses: [], unsigned: false, live: false, json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const valued = Object.hasOwn(VALUE_OPTIONS, arg) ? VALUE_OPTIONS[arg] : undefined;
    if (valued) {
      const v = args[++i];
      if (v === undefined || v === "" || v.startsWith("--") || valued.set(parsed, v) === false) return `${arg} needs ${valued.needs}`;
      continue;
    }
    switch (arg) {
      case "--timeline":
        parsed.timeline = true;
        break;
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
  if (parsed.files.length === 0) return "name at least one audit log file, or a fleet's audit directory";
  return parsed;
}

/** Options that only one of the two forms takes, refused in the other with what to do instead. */
function misplaced(parsed: Parsed, fleet: boolean): string | undefined {
  if (parsed.replicas.length || parsed.out) return "--replica and --out are options of lantern audit manifest";
  if (fleet) {
    if (parsed.anchor) return "--anchor checks one log; with a directory, use a manifest (--manifest) to record how far each chain reached";
    if (typeof parsed.head === "string") return "--head names the head of one log; in a directory each chain's head is <log>.head.json beside it";
    if (parsed.witnesses.length) return "--witness checks one log; verify each replica's log with its witness file on its own";
    if (parsed.files.length > 1) return "give one fleet directory (or audit log files, not both)";
    return undefined;
  }
  const notDir = `${parsed.files[0]} is not a directory${existsSync(parsed.files[0]!) ? "" : " (it does not exist)"}`;
  if (parsed.manifest) return `--manifest checks a fleet's directory, and ${notDir}`;
  if (parsed.timeline) return `--timeline merges the chains of a fleet's directory, and ${notDir}`;
  if (parsed.replicaSecretEnvs.size) return `--replica-secret-env is for a fleet's directory, and ${notDir}; for log files use --secret-env`;
  return undefined;
}

/** The secrets held in the environment variables named, or a usage error naming the one not set. */
function secretsFrom(names: readonly string[], what: string): string[] | string {
  const secrets: string[] = [];
  for (const name of names) {
    const secret = process.env[name];
    if (!secret) return `the environment variable ${name} is not set; export the secret ${what} was signed with (or name another variable)`;
    secrets.push(secret);
  }
  return secrets;
}

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

const seqRange = (r: { firstSeq?: number; lastSeq?: number }): string => (r.firstSeq !== undefined ? `seq ${r.firstSeq}…${r.lastSeq}` : "no entries");

/** `[file line N seq N] ` of a problem (the parts it has), or nothing. */
function located(p: { file?: string; line?: number; seq?: number }): string {
  const where = [p.file, p.line !== undefined ? `line ${p.line}` : undefined, p.seq !== undefined ? `seq ${p.seq}` : undefined].filter(Boolean).join(" ");
  return where ? `[${where}] ` : "";
}

function print(result: AuditVerification): void {
  const range = seqRange(result);
  const checked = [...result.heads, ...(result.witnessedHeads ? [`${result.witnessedHeads} witnessed head${result.witnessedHeads === 1 ? "" : "s"}`] : [])];
  const heads = checked.length ? `, tail checked against ${checked.join(", ")}` : "";
  if (result.ok) console.log(`OK: ${result.entries} entries (${range}) in ${result.files.length} file${result.files.length === 1 ? "" : "s"}, chain intact${heads}`);
  else {
    console.log(`TAMPERED or DAMAGED: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${result.entries} entries (${range})${heads}`);
    for (const p of result.problems) console.log(`  ${p.kind.padEnd(14)} ${located(p)}${p.message}`);
  }
  for (const note of result.notes) console.log(`  note: ${note}`);
}

/** A usage error of `lantern audit <sub>` (bad arguments, a missing secret, an unreadable file): printed, exit code 2. */
function refuse(sub: "verify" | "manifest", message: string): 2 {
  console.error(`lantern audit ${sub}: ${message}`);
  return 2;
}

/** Runs `lantern audit …`; resolves to the exit code. */
export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    console.log(USAGE);
    return 0;
  }
  if (sub !== "verify" && sub !== "manifest") {
    console.error(`lantern audit: ${sub ? `unknown subcommand "${sub}"` : "missing subcommand"}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const parsed = parse(rest);
  if (typeof parsed === "string") return refuse(sub, `${parsed}\n\n${USAGE}`);
  if (sub === "manifest") return writeManifest(parsed);
  const fleet = parsed.files.some(isDirectory);
  const wrong = misplaced(parsed, fleet);
  if (wrong) return refuse("verify", wrong);
  if (fleet) return verifyFleet(parsed);
  for (const file of [parsed.anchor, typeof parsed.head === "string" ? parsed.head : undefined, ...parsed.witnesses]) {
    if (file && !existsSync(file)) return refuse("verify", `no such file: ${file}`);
  }
  const names = parsed.secretEnvs.length ? parsed.secretEnvs : parsed.unsigned ? [] : [AUDIT_SECRET_ENV];
  const secrets = secretsFrom(names, "the log");
  if (typeof secrets === "string") return refuse("verify", secrets);
  const options: VerifyAuditLogOptions = { secrets, unsigned: parsed.unsigned, live: parsed.live, ...(parsed.anchor ? { anchor: parsed.anchor } : {}), ...(parsed.head !== undefined ? { head: parsed.head } : {}), ...(parsed.witnesses.length ? { witness: parsed.witnesses } : {}) };
  let result: AuditVerification;
  try {
    result = await verifyAuditLog(parsed.files, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? `no such file: ${(error as NodeJS.ErrnoException).path}` : (error as Error).message;
    return refuse("verify", message);
  }
  if (parsed.json) console.log(JSON.stringify(result, null, 2));
  else print(result);
  return result.ok ? 0 : 1;
}

/** `lantern audit verify <dir>`: every chain of a fleet's directory, per replica, optionally with the merged timeline. */
async function verifyFleet(parsed: Parsed): Promise<number> {
  const dir = parsed.files[0]!;
  if (parsed.manifest && !existsSync(parsed.manifest)) return refuse("verify", `no such file: ${parsed.manifest}`);
  // The default variable is a shared secret only when nothing else was said.
  const sharedNames = parsed.secretEnvs.length ? parsed.secretEnvs : parsed.unsigned || parsed.replicaSecretEnvs.size ? [] : [AUDIT_SECRET_ENV];
  const shared = secretsFrom(sharedNames, "the fleet's chains");
  if (typeof shared === "string") return refuse("verify", shared);
  const replicaSecrets: Record<string, string[]> = {};
  for (const [id, names] of parsed.replicaSecretEnvs) {
    const own = secretsFrom(names, `replica "${id}"'s chain`);
    if (typeof own === "string") return refuse("verify", own);
    replicaSecrets[id] = own;
  }
  const options: VerifyAuditFleetOptions = {
    ...(shared.length ? { secrets: shared } : {}),
    ...(Object.keys(replicaSecrets).length ? { replicaSecrets } : {}),
    ...(parsed.manifest ? { manifest: parsed.manifest } : {}),
    ...(parsed.unsigned ? { unsigned: true } : {}),
    ...(parsed.live ? { live: true } : {}),
    ...(parsed.head === false ? { head: false as const } : {}),
  };
  let result: AuditFleetVerification;
  try {
    result = await verifyAuditFleet(dir, options);
  } catch (error) {
    return refuse("verify", (error as Error).message);
  }
  if (parsed.timeline) {
    const timeline = new AuditFleetTimeline(result.chains);
    for await (const e of timeline) {
      console.log(parsed.json ? JSON.stringify({ type: "entry", ...e }) : `${e.time}  ${e.replica}  #${e.seq}  ${e.kind === "tool" ? e.tool : `${e.kind} ${e.tool}`.trim()}  ${e.status || "-"}  ${e.client_id || "-"}`);
    }
    if (timeline.late > 0) result.notes.push(`${timeline.late} timeline entr${timeline.late === 1 ? "y was" : "ies were"} more than ${timeline.window} entries out of time order in ${timeline.late === 1 ? "its" : "their"} chain and ${timeline.late === 1 ? "is" : "are"} printed late`);
  }
  if (parsed.json) console.log(parsed.timeline ? JSON.stringify({ type: "report", ...result }) : JSON.stringify(result, null, 2));
  else printFleet(result);
  return result.ok ? 0 : 1;
}

function printFleet(result: AuditFleetVerification): void {
  const bad = result.chains.filter((c) => !c.ok);
  const entries = result.chains.reduce((sum, c) => sum + c.entries, 0);
  const replicas = `${result.chains.length} replica${result.chains.length === 1 ? "" : "s"}`;
  if (result.ok) console.log(`OK: ${replicas}, ${entries} entries, every chain intact${result.manifest ? " and the fleet matches its manifest" : ""}`);
  else console.log(`PROBLEMS: ${bad.length} of ${replicas} ${bad.length === 1 ? "has" : "have"} problems (${entries} entries in all)`);
  const width = Math.max(8, ...result.chains.map((c) => c.replica.length));
  for (const c of result.chains) {
    const range = seqRange(c);
    const times = c.firstTime ? `  ${c.firstTime} … ${c.lastTime}` : "";
    const status = c.ok ? "ok" : c.problems.some((p) => p.kind === "missing") ? "MISSING" : "PROBLEMS";
    console.log(`  ${c.replica.padEnd(width)}  ${status.padEnd(8)}  ${String(c.entries).padStart(6)} entries  ${range}${times}  ${c.log}${c.files.length > 1 ? ` (+${c.files.length - 1} rotated)` : ""}`);
    // The chain's log heads its own lines: a problem's place is its line and seq.
    for (const p of c.problems) console.log(`      ${p.kind.padEnd(17)} ${located({ line: p.line, seq: p.seq })}${p.message}`);
    for (const note of c.notes) console.log(`      note: ${note}`);
  }
  for (const note of result.notes) console.log(`  note: ${note}`);
}

/** `lantern audit manifest <dir>`: the fleet manifest of the chains there now, to stdout or `--out`. */
async function writeManifest(parsed: Parsed): Promise<number> {
  const dir = parsed.files[0]!;
  const extra = parsed.secretEnvs.length || parsed.replicaSecretEnvs.size || parsed.manifest || parsed.timeline || parsed.anchor || parsed.head !== undefined || parsed.witnesses.length || parsed.live || parsed.unsigned || parsed.json;
  if (parsed.files.length > 1 || !isDirectory(dir)) return refuse("manifest", `give one fleet audit directory\n\n${USAGE}`);
  if (extra) return refuse("manifest", `it takes only --replica ID=LOG and --out FILE\n\n${USAGE}`);
  let text: string;
  try {
    const manifest = await auditFleetManifest(dir, parsed.replicas.length ? { replicas: parsed.replicas } : {});
    if (manifest.replicas.length === 0) return refuse("manifest", `no audit chain (*.jsonl) in ${dir}; list the replicas with --replica ID=LOG`);
    text = `${JSON.stringify(manifest, null, 2)}\n`;
  } catch (error) {
    return refuse("manifest", (error as Error).message);
  }
  if (!parsed.out) {
    console.log(text.trimEnd());
    return 0;
  }
  // Written whole or not at all: a verifier never reads half a manifest.
  const temporary = `${parsed.out}.tmp-${process.pid}`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, parsed.out);
  } catch (error) {
    // Best effort: where the write could not even start (a file where a folder should be), this fails too.
    await rm(temporary, { force: true }).catch(() => undefined);
    return refuse("manifest", `cannot write ${parsed.out}: ${(error as Error).message}`);
  }
  console.error(`lantern audit manifest: wrote ${parsed.out}`);
  return 0;
}
