import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { checkOptions, defineOptions, option, type OptionRule } from "../../core/options.js";
import { REPLICA_ID_RULE } from "../../core/replica-id.js";
import { isHeadShaped } from "./audit-entry.js";
import {
  firstAuditEntry,
  verifyAuditLog,
  type AuditProblemKind,
  type AuditVerification,
  type VerifyAuditLogOptions,
} from "./verify-audit-log.js";

/** The `format` of a fleet manifest. */
export const AUDIT_FLEET_MANIFEST_FORMAT = "lantern-audit-fleet/1" as const;

/**
 * One replica of a fleet manifest: its id, where its live log is (relative to the fleet
 * directory), and optionally how far its chain was known to reach.
 *
 * @example
 * const member: AuditFleetMember = { id: "replica-1", log: "replica-1/audit.jsonl", minSeq: 1200 };
 */
export interface AuditFleetMember {
  id: string;
  /** The live log file, relative to the fleet directory (`replica-1/audit.jsonl`). */
  log: string;
  /** The chain must reach at least this seq (the head's seq when the manifest was written). */
  minSeq?: number;
  /** The chain must still hold at least this many entries (retention removes old ones: leave it out with retention). */
  minEntries?: number;
}

/**
 * The replicas a fleet's audit directory must hold: a chain listed here and absent is `missing`,
 * one that ends before `minSeq` is `cut-short`, and a chain found that is not listed is `unlisted`.
 *
 * @example
 * const manifest: AuditFleetManifest = {
 *   format: "lantern-audit-fleet/1",
 *   replicas: [{ id: "replica-1", log: "replica-1/audit.jsonl" }, { id: "replica-2", log: "replica-2/audit.jsonl" }],
 * };
 */
export interface AuditFleetManifest {
  format?: typeof AUDIT_FLEET_MANIFEST_FORMAT;
  replicas: AuditFleetMember[];
}

/** What a fleet verification found wrong: a chain's own problems, and the fleet's. */
export type AuditFleetProblemKind =
  | AuditProblemKind
  /** Listed in the manifest (or a head file is left) but the chain's log files are not there. */
  | "missing"
  /** The chain ends before the seq, or holds fewer entries than, the manifest says it reached. */
  | "cut-short"
  /** A chain in the directory the manifest does not list. */
  | "unlisted"
  /** The entries name another replica than the manifest lists for that log, or several replicas. */
  | "replica-mismatch"
  /** Two chains name the same replica. */
  | "duplicate-replica";

/** One problem of a fleet verification, and where it is. */
export interface AuditFleetProblem {
  kind: AuditFleetProblemKind;
  message: string;
  file?: string;
  line?: number;
  seq?: number;
}

/** What a fleet verification found for one replica's chain. */
export interface AuditFleetChain {
  /** The replica: the id the entries name, else the manifest's id for the log, else the chain's folder. */
  replica: string;
  /** The live log file, relative to the fleet directory, with `/` separators. */
  log: string;
  /** True when the manifest lists the chain (always false without a manifest). */
  listed: boolean;
  ok: boolean;
  /** The files read, in chain order (rotated ones first). */
  files: string[];
  entries: number;
  firstSeq?: number;
  lastSeq?: number;
  /** The earliest and latest entry time (ISO 8601). */
  firstTime?: string;
  lastTime?: string;
  problems: AuditFleetProblem[];
  notes: string[];
}

/** The result of {@link verifyAuditFleet}. */
export interface AuditFleetVerification {
  /** True when every chain is intact and the fleet matches its manifest. */
  ok: boolean;
  dir: string;
  /** Whether a manifest was checked. */
  manifest: boolean;
  /** One per chain found or listed, by replica. */
  chains: AuditFleetChain[];
  notes: string[];
}

/**
 * Options of {@link verifyAuditFleet}.
 *
 * @example
 * const options: VerifyAuditFleetOptions = { secrets: [process.env.LANTERN_AUDIT_SECRET!], manifest: "fleet-manifest.json" };
 */
export interface VerifyAuditFleetOptions {
  /** The manifest: a JSON file, or the parsed object. Without one, every chain found is verified and nothing is known missing. */
  manifest?: string | AuditFleetManifest;
  /** Secrets shared by the fleet (several for key rotation), used for every replica without its own. */
  secrets?: readonly string[];
  /** Per-replica secrets, by replica id: such a replica's chain must verify with its own secrets only. */
  replicaSecrets?: Readonly<Record<string, string | readonly string[]>>;
  /** Accept entries written with `signed: false`. */
  unsigned?: boolean;
  /** The replicas are running: a head a few entries behind (not from a clean close) is a note. */
  live?: boolean;
  /** false: the logs are kept without head files. */
  head?: false;
  /** Entries remembered per chain to recognise duplicates and reordering. Default 10,000. (The merged timeline has its own: the `window` of `AuditFleetTimeline`.) */
  window?: number;
}

const VERIFY_FLEET_OPTIONS = defineOptions<VerifyAuditFleetOptions>("verifyAuditFleet options", {
  manifest: option.anyOf(option.string({ nonEmpty: true }), option.object(undefined, "a parsed manifest { replicas: [...] }")),
  secrets: option.stringList({ nonEmpty: true }),
  replicaSecrets: option.object(undefined, '{ "replica-1": secret, ... }'),
  unsigned: option.boolean(),
  live: option.boolean(),
  head: option.literal(false),
  window: option.integer({ min: 16 }),
}, { secret: 'use "secrets" (a list)', perReplicaSecrets: 'use "replicaSecrets"' });

/** One replica's secrets in `replicaSecrets`: a secret, or a non-empty list of them. */
const REPLICA_SECRET = option.stringOrList({ nonEmpty: true });

const MEMBER_OPTIONS = defineOptions<AuditFleetMember>("the fleet manifest", {
  id: option.required(REPLICA_ID_RULE, "it is the replica the chain belongs to"),
  log: option.required(option.string({ nonEmpty: true }), "it is where the replica's live log is, relative to the fleet directory"),
  minSeq: option.integer({ min: 0 }),
  minEntries: option.integer({ min: 0 }),
}, { path: 'use "log"', file: 'use "log"', replica: 'use "id"', seq: 'use "minSeq"', entries: 'use "minEntries"' });

/**
 * Options of {@link auditFleetManifest}.
 *
 * @example
 * const options: AuditFleetManifestOptions = { replicas: [{ id: "replica-1", log: "replica-1/audit.jsonl" }] };
 */
export interface AuditFleetManifestOptions {
  /** List only these replicas, at these logs (relative to the directory); default every chain found. */
  replicas?: readonly { id: string; log: string }[];
}

const MEMBER_LIST: OptionRule = { expected: "a list of { id, log } objects", isType: Array.isArray };

/** One of `replicas` given to {@link auditFleetManifest}: the rest of a member is read from the directory. */
const MANIFEST_WRITE_MEMBER = defineOptions<{ id: string; log: string }>("auditFleetManifest options", {
  id: MEMBER_OPTIONS.rules.id,
  log: MEMBER_OPTIONS.rules.log,
}, { ...MEMBER_OPTIONS.hints, minSeq: "it is read from the chain's head file", minEntries: "add it to the manifest written" });

const MANIFEST_WRITE_OPTIONS = defineOptions<AuditFleetManifestOptions>("auditFleetManifest options", {
  replicas: MEMBER_LIST,
}, { replica: 'use "replicas" (a list of { id, log })', members: 'use "replicas"' });

const MANIFEST_OPTIONS = defineOptions<AuditFleetManifest>("the fleet manifest", {
  format: option.literal(AUDIT_FLEET_MANIFEST_FORMAT),
  replicas: option.required(MEMBER_LIST, "it lists the replicas whose chains the directory must hold"),
});

/** The files of one chain found in a directory, by their role. */
interface FoundChain {
  /** The live log's path relative to the directory, `/`-separated (the chain's name). */
  log: string;
  live: boolean;
  rotated: number[];
  head: boolean;
  /** Torn lines set aside and temporary heads: passed along, so the verification notes them. */
  extras: string[];
}

/** `<name>.jsonl`, its rotated files `.N`, its head, torn lines set aside and temporary heads. */
const CHAIN_FILE = /^(.+\.jsonl)(?:\.([1-9][0-9]*)|(\.head\.json)|(\.torn-[0-9]+|\.head\.json\.tmp-[0-9]+|\.tmp-[0-9]+))?$/;
/** Folders deeper than this are not searched (a fleet directory is `<dir>/<replica>/audit.jsonl`). */
const MAX_DEPTH = 8;
/** The most files a directory walk looks at: bounds the work on a directory that is not a fleet's. */
const MAX_FILES = 100_000;

const posix = (path: string): string => path.split(sep).join("/");

/**
 * Every audit chain under `dir`: each `*.jsonl` file, with its rotated files (`.1`, `.2`, ...) and
 * head (`.head.json`), is one chain; a chain of which only rotated files or the head are left is
 * found too. Symbolic links are not followed.
 */
async function findChains(dir: string, notes: string[]): Promise<Map<string, FoundChain>> {
  const chains = new Map<string, FoundChain>();
  let seen = 0;
  const walk = async (folder: string, depth: number): Promise<void> => {
    const items = await readdir(folder, { withFileTypes: true });
    items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const item of items) {
      const path = join(folder, item.name);
      if (item.isDirectory()) {
        if (depth < MAX_DEPTH) await walk(path, depth + 1);
        else notes.push(`${posix(relative(dir, path))} is more than ${MAX_DEPTH} folders deep; not searched`);
        continue;
      }
      if (item.isSymbolicLink()) {
        if (CHAIN_FILE.test(item.name)) notes.push(`${posix(relative(dir, path))} is a symbolic link; not followed`);
        continue;
      }
      if (!item.isFile()) continue;
      if (++seen > MAX_FILES) throw new RangeError(`verifyAuditFleet: ${dir} holds more than ${MAX_FILES} files; point it at the fleet's audit directory`);
      const match = CHAIN_FILE.exec(item.name);
      if (!match) continue;
      const log = posix(relative(dir, join(folder, match[1]!)));
      let chain = chains.get(log);
      if (!chain) chains.set(log, (chain = { log, live: false, rotated: [], head: false, extras: [] }));
      if (match[2]) chain.rotated.push(Number(match[2]));
      else if (match[3]) chain.head = true;
      else if (match[4]) chain.extras.push(item.name);
      else chain.live = true;
    }
  };
  await walk(dir, 0);
  return chains;
}

/** The parsed, checked manifest, with each `log` normalised relative to the fleet directory. */
async function loadManifest(source: string | AuditFleetManifest): Promise<AuditFleetManifest> {
  let parsed: unknown = source;
  const where = typeof source === "string" ? `the fleet manifest ${source}` : "the fleet manifest";
  if (typeof source === "string") {
    let text: string;
    try {
      text = await readFile(source, "utf8");
    } catch (error) {
      throw new Error(`Cannot read ${where}: ${(error as Error).message}`);
    }
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new SyntaxError(`${where} is not JSON (${(error as Error).message}); it looks like { "format": "${AUDIT_FLEET_MANIFEST_FORMAT}", "replicas": [{ "id": "replica-1", "log": "replica-1/audit.jsonl" }] }`);
    }
  }
  const manifest = checkOptions(MANIFEST_OPTIONS, parsed as AuditFleetManifest, where);
  const ids = new Set<string>();
  const logs = new Set<string>();
  const replicas = manifest.replicas.map((member, i) => {
    const checked = checkOptions(MEMBER_OPTIONS, member, `${where}, replicas[${i}]`);
    const log = posix(normalize(checked.log));
    if (isAbsolute(checked.log) || log === ".." || log.startsWith("../")) {
      throw new RangeError(`${where}, replicas[${i}]: "log" must be a path inside the fleet directory, relative to it (such as "${checked.id}/audit.jsonl"), got ${JSON.stringify(checked.log)}`);
    }
    if (ids.has(checked.id)) throw new RangeError(`${where} lists the replica "${checked.id}" twice; each replica keeps one chain`);
    if (logs.has(log)) throw new RangeError(`${where} lists the log "${log}" twice; each replica writes its own log file`);
    ids.add(checked.id);
    logs.add(log);
    return { ...checked, log };
  });
  return { format: AUDIT_FLEET_MANIFEST_FORMAT, replicas };
}

/** The log files of a found chain (rotated ones oldest first, then the live one) and the files set aside beside them. */
function chainFiles(dir: string, chain: FoundChain): { logs: string[]; extras: string[] } {
  const live = join(dir, chain.log);
  return {
    logs: [...[...chain.rotated].sort((a, b) => a - b).map((n) => `${live}.${n}`), ...(chain.live ? [live] : [])],
    extras: chain.extras.map((name) => join(dirname(live), name)),
  };
}

/** The `replica` the first entry of a file names (unverified: it only picks which secret to try). */
async function claimedReplica(file: string): Promise<string | undefined> {
  const replica = (await firstAuditEntry(file))?.replica;
  return typeof replica === "string" ? replica : undefined;
}

/** The name of a chain nothing else names: its folder (`replica-1` of `replica-1/audit.jsonl`), else its file stem. */
const folderName = (log: string): string => (log.includes("/") ? basename(dirname(log)) : basename(log, ".jsonl"));

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * Verifies every replica's audit chain in a fleet directory, each exactly as {@link verifyAuditLog}
 * verifies one log (its rotated files and head included), and checks the fleet against a manifest:
 * a listed replica without a chain is `missing`, a chain ending before the seq the manifest records
 * is `cut-short`, a chain the manifest does not list is `unlisted`, entries naming another replica
 * than the manifest's are `replica-mismatch`, two chains naming one replica are `duplicate-replica`.
 *
 * The layout it expects: one folder per replica, `<dir>/<replica-id>/audit.jsonl` (any `*.jsonl`
 * file is a chain, found at any depth, with `<file>.N` rotated files and `<file>.head.json`).
 *
 * @example
 * const fleet = await verifyAuditFleet("fleet/audit", { secrets: [process.env.LANTERN_AUDIT_SECRET!], manifest: "fleet/audit-manifest.json" });
 * for (const chain of fleet.chains) console.log(chain.replica, chain.ok, chain.lastSeq);
 */
export async function verifyAuditFleet(dir: string, options: VerifyAuditFleetOptions = {}): Promise<AuditFleetVerification> {
  options = checkOptions(VERIFY_FLEET_OPTIONS, options);
  const replicaSecrets = new Map<string, string[]>();
  for (const [id, value] of Object.entries(options.replicaSecrets ?? {})) {
    if (!REPLICA_SECRET.isType(value) || !REPLICA_SECRET.inRange!(value)) {
      throw new TypeError(`verifyAuditFleet options: "replicaSecrets.${id}" must be a secret or a non-empty list of secrets`);
    }
    replicaSecrets.set(id, typeof value === "string" ? [value] : [...value]);
  }
  const shared = options.secrets ? [...options.secrets] : [];
  if (shared.length === 0 && replicaSecrets.size === 0 && !options.unsigned) {
    throw new TypeError("verifyAuditFleet needs the secrets the chains were signed with: { secrets } (shared by the fleet), { replicaSecrets } (per replica), or { unsigned: true }");
  }
  const notes: string[] = [];
  const manifest = options.manifest !== undefined ? await loadManifest(options.manifest) : undefined;
  const found = await findChains(dir, notes);
  const members = new Map((manifest?.replicas ?? []).map((m) => [m.log, m]));

  const chains: AuditFleetChain[] = [];
  for (const chain of found.values()) {
    const member = members.get(chain.log);
    const { logs: logFiles, extras } = chainFiles(dir, chain);
    const report: AuditFleetChain = { replica: member?.id ?? folderName(chain.log), log: chain.log, listed: member !== undefined, ok: false, files: logFiles, entries: 0, problems: [], notes: [] };
    chains.push(report);
    if (logFiles.length === 0) {
      report.problems.push({ kind: "missing", file: chain.log, message: `only ${chain.head ? `the head file ${chain.log}.head.json` : "set-aside files"} of this chain ${chain.head ? "is" : "are"} left: its log files were removed` });
      continue;
    }
    const claimed = await claimedReplica(logFiles[0]!);
    // A manifest binds the log to its replica's secrets; without one, the (signed) name its entries claim picks them.
    const own = [member?.id, claimed, folderName(chain.log)].map((id) => (id === undefined ? undefined : replicaSecrets.get(id))).find(Boolean);
    const secrets = own ?? shared;
    if (secrets.length === 0 && !options.unsigned) {
      throw new TypeError(`verifyAuditFleet: no secret for the chain ${chain.log} (replica "${member?.id ?? claimed ?? folderName(chain.log)}"): give its own secret in replicaSecrets (--replica-secret-env ID=NAME) or a shared one in secrets (--secret-env NAME)`);
    }
    const verifyOptions: VerifyAuditLogOptions = {
      ...(secrets.length ? { secrets } : {}),
      ...(options.unsigned ? { unsigned: true } : {}),
      ...(options.live ? { live: true } : {}),
      ...(options.window ? { window: options.window } : {}),
      ...(options.head === false ? { head: false as const } : chain.head ? { head: join(dir, `${chain.log}.head.json`) } : {}),
    };
    const result: AuditVerification = await verifyAuditLog([...logFiles, ...extras], verifyOptions);
    report.files = result.files;
    report.entries = result.entries;
    if (result.firstSeq !== undefined) report.firstSeq = result.firstSeq;
    if (result.lastSeq !== undefined) report.lastSeq = result.lastSeq;
    if (result.firstTime !== undefined) report.firstTime = result.firstTime;
    if (result.lastTime !== undefined) report.lastTime = result.lastTime;
    report.problems.push(...result.problems);
    report.notes.push(...result.notes);
    const named = result.replicas;
    if (named.length > 0) report.replica = named[0]!;
    if (named.length > 1) {
      report.problems.push({ kind: "replica-mismatch", file: chain.log, message: `the entries of this chain name ${named.length} replicas (${named.map((n) => `"${n}"`).join(", ")}): a chain belongs to one replica; entries of another were put into it, or two servers wrote one file` });
    }
    if (member && named.length > 0 && !named.includes(member.id)) {
      report.problems.push({ kind: "replica-mismatch", file: chain.log, message: `the manifest lists ${chain.log} as replica "${member.id}" but its entries name "${named[0]}": the chain was swapped with another replica's, or the manifest is wrong` });
    }
    if (member?.minSeq !== undefined && (result.lastSeq ?? 0) < member.minSeq) {
      const from = (result.lastSeq ?? 0) + 1;
      const removed = from === member.minSeq ? `entry ${from} was` : `entries ${from}…${member.minSeq} were`;
      report.problems.push({ kind: "cut-short", file: chain.log, seq: from, message: `the chain ends at seq ${from - 1} but the manifest records that it reached seq ${member.minSeq}: ${removed} removed from its end` });
    }
    if (member?.minEntries !== undefined && result.entries < member.minEntries) {
      report.problems.push({ kind: "cut-short", file: chain.log, message: `the chain holds ${plural(result.entries, "entry", "entries")} but the manifest records ${member.minEntries}: entries were removed` });
    }
    if (manifest && !member) {
      report.problems.push({ kind: "unlisted", file: chain.log, message: `the manifest does not list ${chain.log} (replica "${report.replica}"): a replica the fleet does not know wrote it, or the manifest is out of date (add it: lantern audit manifest)` });
    }
  }
  for (const member of manifest?.replicas ?? []) {
    if (found.has(member.log)) continue;
    chains.push({
      replica: member.id,
      log: member.log,
      listed: true,
      ok: false,
      files: [],
      entries: 0,
      problems: [{ kind: "missing", file: member.log, message: `the manifest lists replica "${member.id}" with its log at ${member.log}, and there is no such chain in ${dir}: its files were removed, or it never wrote one` }],
      notes: [],
    });
  }
  const byReplica = new Map<string, AuditFleetChain[]>();
  for (const chain of chains) {
    const same = byReplica.get(chain.replica);
    if (same) same.push(chain);
    else byReplica.set(chain.replica, [chain]);
  }
  for (const [replica, same] of byReplica) {
    if (same.length < 2) continue;
    for (const chain of same) {
      const others = same.filter((c) => c !== chain).map((c) => c.log);
      chain.problems.push({ kind: "duplicate-replica", file: chain.log, message: `${chain.log} and ${others.join(", ")} all belong to replica "${replica}": a replica keeps one chain; one of them was copied, moved or written by a misconfigured replica` });
    }
  }
  for (const chain of chains) chain.ok = chain.problems.length === 0;
  chains.sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : a.log < b.log ? -1 : 1));
  if (chains.length === 0) notes.push(`no audit chain (*.jsonl) in ${dir}`);
  return { ok: chains.every((c) => c.ok) && chains.length > 0, dir, manifest: manifest !== undefined, chains, notes };
}

/**
 * A manifest of the chains in a fleet directory as they are now, to check later ones against: each
 * replica's id (what its entries name, else its folder), its log, and the seq its head file
 * records (`minSeq`). With `replicas`, only those, at the logs given (a replica that has not
 * written yet is listed without `minSeq`). Read unverified: write it right after a verification
 * passed, or let the fleet's launcher write it.
 *
 * @example
 * const manifest = await auditFleetManifest("fleet/audit");
 * await writeFile("fleet/audit-manifest.json", JSON.stringify(manifest, null, 2));
 */
export async function auditFleetManifest(dir: string, options: AuditFleetManifestOptions = {}): Promise<AuditFleetManifest> {
  options = checkOptions(MANIFEST_WRITE_OPTIONS, options);
  const members: { id: string; log: string }[] = [];
  if (options.replicas) members.push(...options.replicas.map((m, i) => checkOptions(MANIFEST_WRITE_MEMBER, m, `auditFleetManifest options, replicas[${i}]`)));
  else {
    for (const chain of (await findChains(dir, [])).values()) {
      const { logs } = chainFiles(dir, chain);
      if (logs.length === 0) continue;
      members.push({ id: (await claimedReplica(logs[0]!)) ?? folderName(chain.log), log: chain.log });
    }
  }
  const replicas: AuditFleetMember[] = [];
  for (const member of members) {
    const entry: AuditFleetMember = { id: member.id, log: member.log };
    try {
      const head: unknown = JSON.parse(await readFile(join(dir, `${member.log}.head.json`), "utf8"));
      if (isHeadShaped(head) && head.seq > 0) entry.minSeq = head.seq;
    } catch {
      // No head (yet): the chain is listed, without a seq it must reach.
    }
    replicas.push(entry);
  }
  return loadManifest({ format: AUDIT_FLEET_MANIFEST_FORMAT, replicas });
}
