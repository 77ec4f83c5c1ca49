import "reflect-metadata";
import type winston from "winston";
import {
  AuditMiddleware,
  AuthMiddleware,
  JWTAuth,
  McpServer,
  MetricsCollector,
  MetricsMiddleware,
  OTelMiddleware,
  PrometheusMiddleware,
  StructuredLoggingMiddleware,
  type AuditDurability,
  type AuditRecoverMode,
  type AuditWitness,
  type LogFileOptions,
} from "lantern-mcp";
import { Registry } from "prom-client";
import { InventoryApi } from "./production-api.js";

/** What the production stack needs from its environment. */
export interface StackOptions {
  /** The audit trail's file. */
  auditPath: string;
  auditSecret: string;
  /** HS256 secret JWTs are verified with (at least 32 bytes); unused when `oauthIssuer` is set. */
  jwtSecret: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  /**
   * An OAuth authorization server's issuer: tokens are its JWT access tokens for `resource`, their
   * keys found through its metadata, and OAuth clients discover it from the server's
   * protected-resource metadata.
   */
  oauthIssuer?: string;
  /** The server's public MCP URL (default: the URL it listens on). */
  resource?: string;
  durability?: AuditDurability;
  /** Start on a log whose head does not vouch for its end (recorded in the chain); for one start. */
  auditRecover?: AuditRecoverMode;
  /** Where the signed audit head is also sent, outside the data folder. */
  auditWitnesses?: AuditWitness[];
  auditWitnessIntervalMs?: number;
  /** Where the structured log goes (default: JSON lines on stderr). */
  logTransports?: winston.transport[];
  /** A file the structured log is appended to, in batches (instead of stderr, or beside `logTransports`). */
  logFile?: LogFileOptions;
  /** A Prometheus registry of its own (tests run several servers in one process). */
  registry?: Registry;
  /** Token protecting GET /metrics (none: open on loopback). */
  metricsToken?: string;
  /** Default time limit of every tool call. */
  defaultTimeoutMs?: number;
}

/**
 * The seed's "Combining Observability Features" stack, in its order: structured logging, signed
 * audit, OpenTelemetry, Prometheus, built-in metrics, JWT auth. The first added is outermost;
 * identity is settled at the transport, so every layer records the caller's `client_id`.
 */
export function createProductionServer(options: StackOptions): { server: McpServer; metrics: MetricsCollector } {
  const server = new McpServer(InventoryApi, { defaultTimeoutMs: options.defaultTimeoutMs ?? 30_000 });
  const metrics = new MetricsCollector();
  server.use(new StructuredLoggingMiddleware({ redact: ["reason"], transports: options.logTransports, file: options.logFile }));
  server.use(
    new AuditMiddleware({
      logPath: options.auditPath,
      hmacSecret: options.auditSecret,
      includeArgs: true,
      redact: ["reason"],
      durability: options.durability ?? "fsync",
      rotate: { maxBytes: 64 * 1024 * 1024 },
      recover: options.auditRecover,
      witnesses: options.auditWitnesses,
      witnessIntervalMs: options.auditWitnessIntervalMs,
    }),
  );
  server.use(new OTelMiddleware({ serviceName: "inventory-api" }));
  // No token means an open /metrics: say so by leaving the key out (an undefined bearerToken is refused).
  const metricsAuth = options.metricsToken === undefined ? {} : { bearerToken: options.metricsToken };
  server.use(new PrometheusMiddleware({ namespace: "inventory", registry: options.registry ?? new Registry(), ...metricsAuth }));
  server.use(new MetricsMiddleware(metrics));
  const tokens = options.oauthIssuer
    ? new JWTAuth({ issuer: options.oauthIssuer })
    : new JWTAuth({ secret: options.jwtSecret }, { issuer: options.jwtIssuer ?? "lantern-dev", audience: options.jwtAudience ?? "inventory-api" });
  server.use(new AuthMiddleware(tokens, { resourceName: "Inventory API", ...(options.resource ? { resource: options.resource } : {}) }));
  metrics.registerResource(server);
  return { server, metrics };
}
