import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AuditDurability } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";

/** The file name of the fleet's audit manifest (format `lantern-audit-fleet/1`), beside the replicas' audit folders. */
export const AUDIT_MANIFEST = "fleet-manifest.json";

/** The replicas' stable ids: the servers of haproxy.cfg, the `replica` label in Prometheus. */
export const REPLICA_IDS = ["replica-1", "replica-2", "replica-3"] as const;
export type ReplicaId = (typeof REPLICA_IDS)[number];

/** HAProxy's health check runs every 500 ms (haproxy.cfg: `inter 500ms fall 1 rise 2`). */
export const HEALTH_CHECK_INTERVAL_MS = 500;

/** Options of {@link Fleet.start}. */
export interface FleetOptions {
  /** Where secrets, data, audit trails, logs and the HAProxy socket go (created; kept between runs). */
  dir: string;
  /** How many replicas run (1 to 3); the others stay in maintenance in HAProxy. Default 3. */
  replicas?: number;
  /** HAProxy's port; 0 picks a free one. Default 0. */
  port?: number;
  /** Start Prometheus scraping every replica. Default false. */
  prometheus?: boolean;
  /**
   * How long a replica keeps answering 503 after SIGTERM so HAProxy's check takes it out before its
   * port closes. Default 1,500 ms: three check intervals.
   */
  drainDelayMs?: number;
  /** Start a replica again when it exits (a rolling restart is then `kill -TERM <pid>`). Default false. */
  restartOnExit?: boolean;
  /** Told about every replica start and exit. */
  onEvent?: (line: string) => void;
  /** The replicas' audit durability (fsync, flush, none). Default: the production example's (fsync). */
  auditDurability?: AuditDurability;
}

/** One replica: its id, ports and files. */
export interface ReplicaInfo {
  id: ReplicaId;
  /** Its own port (MCP on /mcp, /metrics, /healthz). */
  port: number;
  /** Where `lantern dashboard --url` attaches. */
  dashboardUrl: string;
  dataDir: string;
  /** `<dir>/audit/<replica-id>/audit.jsonl` */
  auditPath: string;
  logPath: string;
}

/** One server's row of HAProxy's `show stat`. */
export interface BalancerServerStat {
  /** UP, DOWN, MAINT, or a transition such as "UP 1/2". */
  status: string;
  /** Requests (sessions) HAProxy sent to it in total. */
  sent: number;
  /** Requests it is serving now. */
  current: number;
  /** Retries and redispatches away from it. */
  retries: number;
  redispatches: number;
}

interface Secrets {
  audit: string;
  jwt: string;
  dashboard: string;
}

const here = fileURLToPath(new URL(".", import.meta.url));
/** The compiled production example each replica runs. */
const REPLICA_MAIN = resolve(here, "../production-api/main.js");
/** The configuration files a user copies (the sources, not the build). */
const CONFIG_DIR = resolve(here, "../../../examples/fleet");

/**
 * Children get a process group of their own: Ctrl+C in a terminal signals the launcher alone, which
 * then stops each one once (a second signal would make a replica exit without draining).
 */
const OWN_PROCESS_GROUP = { detached: true } as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * The status of a GET (0 when nothing answers within 2 s, so a readiness loop keeps its deadline);
 * the body is discarded, so the connection is free again.
 */
function statusOf(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    async (response) => {
      await response.body?.cancel().catch(() => {});
      return response.status;
    },
    () => 0,
  );
}

function which(command: string): string | undefined {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim() || undefined;
}

/** Finds a Debian package's binary, installing the package (as root, with apt-get) when it is missing. */
export function ensureDebianBinary(binary: string, pkg = binary, log: (line: string) => void = () => {}): string {
  const found = which(binary);
  if (found) return found;
  log(`${binary} not found: installing the Debian package ${pkg}`);
  if (!which("apt-get")) throw new Error(`${binary} is not installed and apt-get is unavailable; install ${pkg} and put ${binary} on PATH`);
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", pkg]]) {
    const command = [...asRoot, "apt-get", ...args];
    const result = spawnSync(command[0]!, command.slice(1), { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) throw new Error(`"${command.join(" ")}" failed (exit ${result.status}); run as root or install ${pkg} yourself`);
  }
  const installed = which(binary);
  if (!installed) throw new Error(`apt-get installed ${pkg} but ${binary} is not on PATH`);
  return installed;
}

/** Sends one command to HAProxy's admin socket and returns its answer. */
export function haproxyCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolveAnswer, reject) => {
    const socket = connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.once("error", reject);
    socket.once("close", () => resolveAnswer(answer));
    socket.write(`${command}\n`);
  });
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return "(no output)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

function loadSecrets(dir: string): Secrets {
  const file = join(dir, "secrets.json");
  const stored: Partial<Secrets> = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<Secrets>) : {};
  // Generated ones are kept (mode 0600) so a restarted fleet keeps verifying the same audit chains;
  // those from the environment are never written down.
  const kept: Secrets = {
    audit: stored.audit ?? randomBytes(32).toString("base64url"),
    jwt: stored.jwt ?? randomBytes(32).toString("base64url"),
    dashboard: stored.dashboard ?? randomBytes(24).toString("base64url"),
  };
  if (!stored.audit || !stored.jwt || !stored.dashboard) writeFileSync(file, JSON.stringify(kept), { mode: 0o600 });
  return {
    audit: process.env.LANTERN_AUDIT_SECRET || kept.audit,
    jwt: process.env.LANTERN_JWT_SECRET || kept.jwt,
    dashboard: process.env.LANTERN_DASHBOARD_TOKEN || kept.dashboard,
  };
}

/**
 * Three replicas of examples/production-api on 127.0.0.1 behind a real HAProxy (health checks on
 * /healthz, round robin, 2025-era sessions sticky on Mcp-Session-Id), optionally scraped by
 * Prometheus. Every replica shares the audit and JWT secrets, keeps its own data and audit folder
 * and serves its telemetry for `lantern dashboard`.
 *
 * @example
 * const fleet = await Fleet.start({ dir: "var/fleet", prometheus: true });
 * console.log(fleet.url, await fleet.token("my-agent"));
 * await fleet.stopReplica("replica-2", "SIGTERM"); // drains, exits 0
 * await fleet.startReplica("replica-2");           // back in HAProxy once healthy
 * await fleet.close();
 */
export class Fleet {
  /** The MCP endpoint clients use: HAProxy's. */
  readonly url: string;
  readonly statsSocket: string;
  prometheusUrl: string | undefined;
  private readonly processes = new Map<string, ChildProcess>();
  private closing = false;

  private constructor(
    readonly dir: string,
    readonly replicas: readonly ReplicaInfo[],
    private readonly running: readonly ReplicaId[],
    private readonly secrets: Secrets,
    private readonly lbPort: number,
    private readonly options: FleetOptions,
  ) {
    this.url = `http://127.0.0.1:${lbPort}/mcp`;
    this.statsSocket = join(dir, "haproxy.sock");
  }

  /** Starts the replicas, then HAProxy (and Prometheus); resolves once HAProxy sees every replica up. */
  static async start(options: FleetOptions): Promise<Fleet> {
    const count = options.replicas ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > REPLICA_IDS.length) {
      throw new RangeError(`Fleet.start: "replicas" must be 1, 2 or 3 (haproxy.cfg names three servers), got ${count}`);
    }
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Fleet.start: "port" (LANTERN_FLEET_PORT for \`npm run fleet\`) must be an integer from 0 to 65535, got ${port}`);
    }
    if (!existsSync(REPLICA_MAIN)) throw new Error(`${REPLICA_MAIN} is missing: run "npm run build" first`);
    const dir = resolve(options.dir);
    mkdirSync(join(dir, "logs"), { recursive: true, mode: 0o700 });
    const secrets = loadSecrets(dir);
    const lbPort = port || (await freePort());
    const replicas: ReplicaInfo[] = [];
    for (const id of REPLICA_IDS) {
      const dashboardPort = await freePort();
      replicas.push({
        id,
        port: await freePort(),
        dashboardUrl: `http://127.0.0.1:${dashboardPort}`,
        dataDir: join(dir, "replicas", id),
        auditPath: join(dir, "audit", id, "audit.jsonl"),
        logPath: join(dir, "logs", `${id}.log`),
      });
    }
    // The fleet's audit manifest: which chains `lantern audit verify <dir>/audit --manifest` must find.
    mkdirSync(join(dir, "audit"), { recursive: true, mode: 0o700 });
    const manifest = { format: "lantern-audit-fleet/1", replicas: replicas.map((r) => ({ id: r.id, log: `${r.id}/audit.jsonl` })) };
    writeFileSync(join(dir, "audit", AUDIT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const fleet = new Fleet(dir, replicas, REPLICA_IDS.slice(0, count), secrets, lbPort, options);
    try {
      await Promise.all(fleet.running.map((id) => fleet.startReplica(id, { waitForBalancer: false })));
      await fleet.startHaproxy();
      if (options.prometheus) await fleet.startPrometheus();
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  /** The replica with this id. */
  replica(id: ReplicaId): ReplicaInfo {
    return this.replicas.find((r) => r.id === id)!;
  }

  /** A bearer token for a client of the fleet (the same secret verifies it on every replica). */
  token(clientId: string, ttl = "12h"): Promise<string> {
    return createToken({
      secret: this.secrets.jwt,
      clientId,
      subject: clientId,
      scopes: ["inventory:read", "inventory:write"],
      issuer: "lantern-dev",
      audience: "inventory-api",
      expiresIn: ttl,
    });
  }

  /** The audit manifest listing every replica's chain, in `<dir>/audit`. */
  get auditManifest(): string {
    return join(this.dir, "audit", AUDIT_MANIFEST);
  }

  /** The environment `lantern audit verify` reads the audit secret from. */
  get auditEnv(): Record<string, string> {
    return { LANTERN_AUDIT_SECRET: this.secrets.audit };
  }

  /** The command that draws one dashboard over the running replicas (the token is read from a file). */
  dashboardCommand(): string {
    const tokenFile = join(this.dir, "dashboard-token.txt");
    writeFileSync(tokenFile, `${this.secrets.dashboard}\n`, { mode: 0o600 });
    const urls = this.running.map((id) => `--url ${this.replica(id).dashboardUrl}`).join(" ");
    return `LANTERN_DASHBOARD_TOKEN=$(cat ${tokenFile}) npx lantern dashboard ${urls}`;
  }

  /** Starts (or restarts) a replica; resolves once it answers /healthz 200 and, by default, HAProxy has it UP. */
  async startReplica(id: ReplicaId, { waitForBalancer = true } = {}): Promise<void> {
    if (this.processes.has(id)) throw new Error(`${id} is already running`);
    const replica = this.replica(id);
    mkdirSync(replica.dataDir, { recursive: true, mode: 0o700 });
    const out = openSync(replica.logPath, "a");
    const child = spawn(process.execPath, [REPLICA_MAIN], {
      ...OWN_PROCESS_GROUP,
      stdio: ["ignore", out, out],
      env: {
        ...process.env,
        PORT: String(replica.port),
        LANTERN_REPLICA_ID: id,
        LANTERN_DATA_DIR: replica.dataDir,
        LANTERN_AUDIT_PATH: replica.auditPath,
        LANTERN_AUDIT_SECRET: this.secrets.audit,
        LANTERN_JWT_SECRET: this.secrets.jwt,
        LANTERN_DASHBOARD_TOKEN: this.secrets.dashboard,
        LANTERN_DASHBOARD_PORT: new URL(replica.dashboardUrl).port,
        LANTERN_DASHBOARD: "0",
        LANTERN_ALLOWED_HOSTS: `127.0.0.1:${this.lbPort},localhost:${this.lbPort}`,
        LANTERN_DRAIN_DELAY_MS: String(this.options.drainDelayMs ?? 3 * HEALTH_CHECK_INTERVAL_MS),
        ...(this.options.auditDurability ? { LANTERN_AUDIT_DURABILITY: this.options.auditDurability } : {}),
      },
    });
    closeSync(out);
    this.processes.set(id, child);
    child.once("exit", (code, signal) => {
      if (this.processes.get(id) === child) this.processes.delete(id);
      this.options.onEvent?.(`${id} (pid ${child.pid}) exited with ${code ?? signal}`);
      if (this.options.restartOnExit && !this.closing) {
        this.startReplica(id).then(
          () => this.options.onEvent?.(`${id} restarted (pid ${this.processes.get(id)?.pid}) and is UP in HAProxy`),
          (error: unknown) => this.options.onEvent?.(`${id} did not restart: ${error instanceof Error ? error.message : String(error)}`),
        );
      }
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${id} exited while starting (${child.exitCode ?? child.signalCode}); its log ends:\n${tail(replica.logPath)}`);
      }
      if ((await statusOf(`http://127.0.0.1:${replica.port}/healthz`)) === 200) break;
      if (Date.now() > deadline) throw new Error(`${id} did not become ready in 30 s; its log ends:\n${tail(replica.logPath)}`);
      await sleep(50);
    }
    if (waitForBalancer) await this.waitForStatus(id, "UP");
  }

  /** Sends a replica a signal and resolves with how it exited. */
  async stopReplica(id: ReplicaId, signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.processes.get(id);
    if (!child) throw new Error(`${id} is not running`);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child.once("exit", (code, sig) => resolveExit({ code, signal: sig })),
    );
    child.kill(signal);
    return exited;
  }

  /** The process id of a running replica, of HAProxy or of Prometheus. */
  pid(id: ReplicaId | "haproxy" | "prometheus"): number | undefined {
    return this.processes.get(id)?.pid;
  }

  /** Whether a replica's process is running. */
  isRunning(id: ReplicaId): boolean {
    return this.processes.has(id);
  }

  /** HAProxy's view of every replica (`show stat` on its admin socket). */
  async balancerStats(): Promise<Map<ReplicaId, BalancerServerStat>> {
    const csv = await haproxyCommand(this.statsSocket, "show stat");
    const [header, ...rows] = csv.trim().split("\n");
    const columns = header!.replace(/^# /, "").split(",");
    const at = (name: string) => columns.indexOf(name);
    const stats = new Map<ReplicaId, BalancerServerStat>();
    for (const row of rows) {
      const cells = row.split(",");
      const name = cells[at("svname")] as ReplicaId;
      if (cells[at("pxname")] !== "replicas" || !REPLICA_IDS.includes(name)) continue;
      stats.set(name, {
        status: cells[at("status")]!,
        sent: Number(cells[at("stot")]),
        current: Number(cells[at("scur")]),
        retries: Number(cells[at("wretr")]),
        redispatches: Number(cells[at("wredis")]),
      });
    }
    return stats;
  }

  /**
   * Takes a running replica out of HAProxy's rotation (maintenance) or puts it back; resolves once
   * HAProxy reports it MAINT or UP.
   */
  async setServing(id: ReplicaId, serving: boolean): Promise<void> {
    await haproxyCommand(this.statsSocket, `${serving ? "enable" : "disable"} server replicas/${id}`);
    if (serving) await this.waitForStatus(id, "UP");
    else await this.waitForStatus(id, "MAINT");
  }

  /** Waits (bounded) until HAProxy reports the replica in this state. */
  async waitForStatus(id: ReplicaId, status: "UP" | "DOWN" | "MAINT", timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = (await this.balancerStats()).get(id)?.status;
      if (seen === status) return;
      if (Date.now() > deadline) throw new Error(`HAProxy still reports ${id} as ${seen} after ${timeoutMs} ms (waiting for ${status}); haproxy log:\n${tail(join(this.dir, "logs", "haproxy.log"))}`);
      await sleep(25);
    }
  }

  /** Stops Prometheus, HAProxy and every replica (SIGTERM: they drain and exit). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stops = [...this.processes.values()].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(forced);
    });
    await Promise.all(stops);
  }

  private async startHaproxy(): Promise<void> {
    const binary = ensureDebianBinary("haproxy");
    const out = openSync(join(this.dir, "logs", "haproxy.log"), "a");
    const child = spawn(binary, ["-db", "-f", join(CONFIG_DIR, "haproxy.cfg")], {
      ...OWN_PROCESS_GROUP,
      stdio: ["ignore", out, out],
      env: {
        ...process.env,
        FLEET_LB_PORT: String(this.lbPort),
        FLEET_STATS_SOCKET: this.statsSocket,
        ...Object.fromEntries(this.replicas.map((r, i) => [`FLEET_REPLICA_${i + 1}_PORT`, String(r.port)])),
      },
    });
    closeSync(out);
    this.processes.set("haproxy", child);
    child.once("exit", () => this.processes.delete("haproxy"));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}); its log ends:\n${tail(join(this.dir, "logs", "haproxy.log"))}`);
      const answered = existsSync(this.statsSocket) && (await haproxyCommand(this.statsSocket, "show info").then((a) => a.includes("Name: HAProxy"), () => false));
      if (answered) break;
      if (Date.now() > deadline) throw new Error("haproxy's admin socket did not answer in 15 s");
      await sleep(25);
    }
    // Servers of replicas not started are taken out, so no request or check is spent on them.
    for (const { id } of this.replicas) {
      if (!this.running.includes(id)) await haproxyCommand(this.statsSocket, `disable server replicas/${id}`);
    }
    for (const id of this.running) await this.waitForStatus(id, "UP");
  }

  private async startPrometheus(): Promise<void> {
    const binary = ensureDebianBinary("prometheus");
    const promDir = join(this.dir, "prometheus");
    mkdirSync(promDir, { recursive: true });
    copyFileSync(join(CONFIG_DIR, "prometheus.yml"), join(promDir, "prometheus.yml"));
    const targets = this.running.map((id) => ({ targets: [`127.0.0.1:${this.replica(id).port}`], labels: { replica: id } }));
    writeFileSync(join(promDir, "replicas.json"), `${JSON.stringify(targets, null, 2)}\n`);
    const port = await freePort();
    const out = openSync(join(this.dir, "logs", "prometheus.log"), "a");
    const child = spawn(binary, [
      `--config.file=${join(promDir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(promDir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { ...OWN_PROCESS_GROUP, stdio: ["ignore", out, out] });
    closeSync(out);
    this.processes.set("prometheus", child);
    child.once("exit", () => this.processes.delete("prometheus"));
    this.prometheusUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}); its log ends:\n${tail(join(this.dir, "logs", "prometheus.log"))}`);
      if ((await statusOf(`${this.prometheusUrl}/-/ready`)) === 200) break;
      if (Date.now() > deadline) throw new Error("Prometheus did not become ready in 30 s");
      await sleep(100);
    }
  }
}
