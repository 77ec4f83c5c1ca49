import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MIN_API_KEY_LENGTH } from "../../auth/api-key-auth.js";
import { bearerTokenOf, SecretDigest } from "../../auth/secret-digest.js";
import { checkOptions, defineOptions, option } from "../../core/options.js";
import { oneLine } from "../../core/stderr-report.js";
import { DashboardTelemetry, type DashboardServer } from "./dashboard-telemetry.js";
import { captureServerOutput, type ServerOutputCapture } from "./output-capture.js";
import type { DashboardSnapshot } from "./telemetry-snapshot.js";

/** The path `lantern dashboard` polls. */
export const DASHBOARD_TELEMETRY_PATH = "/dashboard/telemetry";
/** The environment variable a token may come from (both sides read it). */
export const DASHBOARD_TOKEN_ENV = "LANTERN_DASHBOARD_TOKEN";

/** Options of {@link DashboardEndpoint}. */
export interface DashboardEndpointOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * The bearer token clients must send. Default: `LANTERN_DASHBOARD_TOKEN`, else a random one that
   * is printed once (on stderr) with the command that attaches.
   */
  token?: string;
  /**
   * Record the server's console and stderr output for the Raw Logs tab (it is still written as
   * before; stdout is left alone, it is a stdio server's protocol). Default true.
   */
  captureOutput?: boolean;
  /** Where the one-time announcement goes. Default: stderr (stdout is a stdio server's protocol). */
  announce?: (message: string) => void;
}

/** The rules of {@link DashboardEndpointOptions}. */
const DASHBOARD_ENDPOINT_OPTIONS = defineOptions<DashboardEndpointOptions>("DashboardEndpoint options", {
  port: option.integer({ min: 0, max: 65535 }),
  token: option.string(),
  captureOutput: option.boolean(),
  announce: option.function("a function (message) => void"),
}, {
  bearerToken: 'use "token"', secret: 'use "token"',
  host: "the endpoint binds 127.0.0.1 only (it serves the server's telemetry); reach it through an SSH tunnel",
});

/** Where the endpoint listens and the token it wants. */
export interface DashboardEndpointAddress {
  /** `http://127.0.0.1:PORT`, what `lantern dashboard --url` takes. */
  url: string;
  port: number;
  token: string;
}

const SNAPSHOT_CACHE_MS = 100;

/**
 * Serves a server's live telemetry on a loopback-only HTTP endpoint protected by a bearer token, so
 * `lantern dashboard --url … --token …` can draw the dashboard from another terminal: the way to
 * watch a stdio server, whose stdout is the protocol. Works for HTTP servers too, on its own port.
 *
 * @example
 * await server.listen({ transport: "stdio" });
 * const { url } = await new DashboardEndpoint(server).start();
 * // stderr: lantern dashboard --url http://127.0.0.1:PORT --token …
 */
export class DashboardEndpoint {
  private readonly telemetry: DashboardTelemetry;
  private readonly tokenDigest: SecretDigest;
  readonly token: string;
  private readonly generated: boolean;
  private http: HttpServer | undefined;
  private detach: (() => void) | undefined;
  private capture: ServerOutputCapture | undefined;
  private cached: { at: number; body: string } | undefined;
  private port = 0;
  /** The Host headers that name this endpoint (set by `start()`, once the port is known). */
  private allowedHosts: ReadonlySet<string> = new Set();

  constructor(
    server: DashboardServer,
    private readonly options: DashboardEndpointOptions = {},
  ) {
    this.options = checkOptions(DASHBOARD_ENDPOINT_OPTIONS, options);
    options = this.options;
    const given = options.token ?? process.env[DASHBOARD_TOKEN_ENV];
    if (given !== undefined && given.length < MIN_API_KEY_LENGTH) {
      throw new Error(`The dashboard token must be at least ${MIN_API_KEY_LENGTH} characters (it guards the server's telemetry); pass a longer token, or none to have one generated`);
    }
    this.generated = given === undefined;
    this.token = given ?? randomBytes(24).toString("base64url");
    this.tokenDigest = SecretDigest.of(this.token);
    this.telemetry = DashboardTelemetry.for(server);
    server.onShutdown(() => this.stop());
  }

  /** Starts listening on 127.0.0.1 and announces how to attach (once). */
  async start(): Promise<DashboardEndpointAddress> {
    if (this.http) return this.address();
    const http = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(this.options.port ?? 0, "127.0.0.1", () => {
        http.off("error", reject);
        resolve();
      });
    });
    this.http = http;
    this.port = (http.address() as AddressInfo).port;
    this.allowedHosts = new Set([`127.0.0.1:${this.port}`, `localhost:${this.port}`]);
    this.detach = this.telemetry.attach();
    const { url } = this.address();
    const tokenShown = this.generated ? this.token : `$${DASHBOARD_TOKEN_ENV}`;
    const announce = this.options.announce ?? ((message: string) => process.stderr.write(`${oneLine(message)}\n`));
    announce(`[lantern] dashboard telemetry on ${url}; attach with: lantern dashboard --url ${url} --token ${tokenShown}`);
    // Only after the announcement: the token must not end up in the Raw Logs it guards.
    if (this.options.captureOutput !== false) {
      this.capture = captureServerOutput((source, level, text) => this.telemetry.recordRawLog(source, level, text), { mode: "tee", streams: ["stderr"] });
    }
    return this.address();
  }

  /** Stops listening (the server keeps running). */
  async stop(): Promise<void> {
    const http = this.http;
    if (!http) return;
    this.http = undefined;
    this.detach?.();
    this.detach = undefined;
    this.capture?.restore();
    this.capture = undefined;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  }

  private address(): DashboardEndpointAddress {
    return { url: `http://127.0.0.1:${this.port}`, port: this.port, token: this.token };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
      res.end(body);
    };
    const error = (status: number, message: string, headers?: Record<string, string>) => reply(status, JSON.stringify({ error: message }), headers);
    // DNS-rebinding protection: a browser page must not reach this through a name it controls.
    const host = (req.headers.host ?? "").toLowerCase();
    if (!this.allowedHosts.has(host)) {
      error(403, `Forbidden: Host "${host}" is not this loopback endpoint`);
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    if (path !== DASHBOARD_TELEMETRY_PATH) {
      error(404, `Not found: the telemetry is at ${DASHBOARD_TELEMETRY_PATH}`);
      return;
    }
    if (req.method !== "GET") {
      error(405, "Method not allowed: use GET", { allow: "GET" });
      return;
    }
    const token = bearerTokenOf(req.headers.authorization);
    if (token === undefined || !this.tokenDigest.matches(token)) {
      error(401, token !== undefined ? "Unauthorized: wrong dashboard token" : "Unauthorized: send the dashboard token as \"Authorization: Bearer <token>\"", { "www-authenticate": "Bearer" });
      return;
    }
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= SNAPSHOT_CACHE_MS) {
      // With the histograms: `lantern dashboard` attached to a fleet merges them exactly.
      const snapshot: DashboardSnapshot = this.telemetry.snapshot({ histograms: true });
      this.cached = { at: now, body: JSON.stringify(snapshot) };
    }
    reply(200, this.cached.body);
  }
}

/** Why an attach request failed, in words that say what to do. */
export class DashboardAttachError extends Error {
  override readonly name = "DashboardAttachError";

  constructor(
    message: string,
    /** A few words for a table cell (the fleet view's breakdown): `unreachable (ECONNREFUSED)`. */
    readonly summary: string = message,
  ) {
    super(message);
  }
}

/** Where an endpoint given as `http://127.0.0.1:PORT` (or already with the path) serves its telemetry. */
export const telemetryUrl = (url: string): string => {
  const base = url.replace(/\/+$/, "");
  return base.endsWith(DASHBOARD_TELEMETRY_PATH) ? base : `${base}${DASHBOARD_TELEMETRY_PATH}`;
};

/**
 * Fetches one telemetry snapshot from a {@link DashboardEndpoint} (what `lantern dashboard` polls).
 *
 * @example
 * const snapshot = await fetchDashboardSnapshot("http://127.0.0.1:4500", token);
 */
export async function fetchDashboardSnapshot(url: string, token: string, signal?: AbortSignal): Promise<DashboardSnapshot> {
  const target = telemetryUrl(url);
  let response: Response;
  try {
    response = await fetch(target, { headers: { authorization: `Bearer ${token}` }, signal: signal ?? AbortSignal.timeout(2_000) });
  } catch (error) {
    const reason = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = reason?.code ?? reason?.message ?? (error instanceof Error ? error.message : String(error));
    throw new DashboardAttachError(`Cannot reach ${target} (${cause}): is the server running, and did it start a DashboardEndpoint on that port?`, `unreachable (${cause})`);
  }
  if (response.status === 401) {
    // An unread body holds its connection: a refused poll, repeated every refresh, must not pile them up.
    await response.body?.cancel().catch(() => undefined);
    throw new DashboardAttachError("The server refused the dashboard token: pass the token it printed (or its LANTERN_DASHBOARD_TOKEN) with --token", "token refused");
  }
  if (!response.ok) throw new DashboardAttachError(`${target} answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`, `HTTP ${response.status}`);
  const snapshot = (await response.json()) as DashboardSnapshot;
  if (snapshot?.version !== 1) throw new DashboardAttachError(`${target} sent telemetry of an unknown format (version ${String(snapshot?.version)}); use a lantern of the same version as the server`, "unknown telemetry format");
  return snapshot;
}
