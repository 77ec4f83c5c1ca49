import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AuditChainError, DashboardEndpoint, HttpAuditWitness, type AuditDurability, type AuditRecoverMode } from "lantern-mcp";
import { createProductionServer } from "./stack.js";

/**
 * `npm start`: the inventory server with the full observability stack on embedded defaults.
 * Secrets come from the environment (LANTERN_AUDIT_SECRET, LANTERN_JWT_SECRET); without them a
 * development pair is generated once and kept in var/dev-secrets.json (mode 0600), so restarts keep
 * verifying the same audit chain. Traces go nowhere unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * LANTERN_AUDIT_WITNESS_URL sends the signed audit head to a witness (every
 * LANTERN_AUDIT_WITNESS_INTERVAL_MS, default 60 s, and at shutdown); LANTERN_AUDIT_RECOVER=accept-tail
 * starts once on a log whose head does not vouch for its end.
 *
 * Behind a load balancer (examples/fleet runs three of these): PORT, LANTERN_DATA_DIR and
 * LANTERN_AUDIT_PATH per replica (LANTERN_AUDIT_DURABILITY: fsync, the default, flush or none);
 * LANTERN_ALLOWED_HOSTS adds the Host names clients reach it by (the balancer's `host:port`,
 * comma-separated) to its own loopback names; LANTERN_DRAIN_DELAY_MS keeps the port answering 503
 * after SIGTERM until the balancer's health check has seen it; LANTERN_DASHBOARD_PORT serves its
 * telemetry to `lantern dashboard --url` (token: LANTERN_DASHBOARD_TOKEN).
 */
const dataDir = resolve(process.env.LANTERN_DATA_DIR ?? "var");
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

function developmentSecrets(): { audit: string; jwt: string } {
  const file = join(dataDir, "dev-secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as { audit: string; jwt: string };
  const secrets = { audit: randomBytes(32).toString("base64url"), jwt: randomBytes(32).toString("base64url") };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  process.stderr.write(`[inventory-api] generated development secrets in ${file}\n`);
  return secrets;
}

const fromEnv = process.env.LANTERN_AUDIT_SECRET && process.env.LANTERN_JWT_SECRET;
const secrets = fromEnv ? { audit: process.env.LANTERN_AUDIT_SECRET!, jwt: process.env.LANTERN_JWT_SECRET! } : developmentSecrets();
const auditPath = resolve(process.env.LANTERN_AUDIT_PATH || join(dataDir, "audit", "audit.jsonl"));
const witnessUrl = process.env.LANTERN_AUDIT_WITNESS_URL;
// LANTERN_OAUTH_ISSUER puts the server behind an OAuth authorization server (LANTERN_RESOURCE_URL:
// its public MCP URL, when clients do not reach it at the listening URL).
const oauthIssuer = process.env.LANTERN_OAUTH_ISSUER || undefined;
const { server } = createProductionServer({
  auditPath,
  auditSecret: secrets.audit,
  jwtSecret: secrets.jwt,
  auditRecover: (process.env.LANTERN_AUDIT_RECOVER || undefined) as AuditRecoverMode | undefined,
  durability: (process.env.LANTERN_AUDIT_DURABILITY || undefined) as AuditDurability | undefined,
  auditWitnesses: witnessUrl ? [new HttpAuditWitness({ url: witnessUrl })] : undefined,
  auditWitnessIntervalMs: process.env.LANTERN_AUDIT_WITNESS_INTERVAL_MS ? Number(process.env.LANTERN_AUDIT_WITNESS_INTERVAL_MS) : undefined,
  oauthIssuer,
  resource: process.env.LANTERN_RESOURCE_URL || undefined,
});

if (!fromEnv && !oauthIssuer) {
  // A development token for the operator, kept next to the secrets (mode 0600); only its place is printed.
  // Loaded only here: a server started with its secrets in the environment never needs to sign.
  const { createToken } = await import("lantern-mcp/testing");
  const token = await createToken({
    secret: secrets.jwt,
    clientId: "dev-agent",
    subject: "developer",
    scopes: ["inventory:read", "inventory:write"],
    issuer: "lantern-dev",
    audience: "inventory-api",
    expiresIn: "12h",
  });
  writeFileSync(join(dataDir, "dev-token.txt"), `${token}\n`, { mode: 0o600 });
  process.stderr.write(`[inventory-api] development token (12 h, scopes inventory:read inventory:write) written to ${join(dataDir, "dev-token.txt")}\n`);
}
const port = Number(process.env.PORT ?? 3000);
const dashboard = process.stdout.isTTY === true && process.env.LANTERN_DASHBOARD !== "0";
const publicHosts = (process.env.LANTERN_ALLOWED_HOSTS ?? "").split(",").map((h) => h.trim()).filter(Boolean);
if (publicHosts.length > 0 && !(port > 0)) {
  process.stderr.write("[inventory-api] LANTERN_ALLOWED_HOSTS needs a fixed PORT (its own loopback names are allowed with that port too)\n");
  process.exit(1);
}
const allowedHosts = publicHosts.length > 0 ? [`127.0.0.1:${port}`, `localhost:${port}`, ...publicHosts] : undefined;
const drainDelayMs = process.env.LANTERN_DRAIN_DELAY_MS ? Number(process.env.LANTERN_DRAIN_DELAY_MS) : undefined;
let running: Awaited<ReturnType<typeof server.listen>>;
try {
  running = await server.listen({ transport: "http", port, dashboard, allowedHosts, drainDelayMs });
} catch (error) {
  if (!(error instanceof AuditChainError)) throw error;
  // The audit trail's end is not vouched for: say what and how to go on, no stack trace.
  process.stderr.write(`[inventory-api] refusing to start: ${error.message}\n`);
  process.exit(1);
}

if (process.env.LANTERN_DASHBOARD_PORT) {
  // Attach mode: `lantern dashboard --url …` from another terminal (several URLs for a fleet).
  await new DashboardEndpoint(server, { port: Number(process.env.LANTERN_DASHBOARD_PORT) }).start();
}

process.stderr.write(
  `[inventory-api] MCP on ${running.url} · metrics http://127.0.0.1:${running.port}/metrics · health http://127.0.0.1:${running.port}/healthz · audit ${auditPath}\n`,
);
