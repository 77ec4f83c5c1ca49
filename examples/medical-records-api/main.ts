import "reflect-metadata";
import { AuditMiddleware, McpServer, type AuditDurability } from "lantern-mcp";
import { MedicalRecordsApi } from "./medical-records-api.js";

// The secret comes from LANTERN_AUDIT_SECRET: without it the server refuses to start, by design.
let audit: AuditMiddleware;
try {
  audit = new AuditMiddleware({
    logPath: process.env.AUDIT_LOG ?? "audit/medical-records.jsonl",
    durability: (process.env.AUDIT_DURABILITY as AuditDurability | undefined) ?? "fsync",
    rotate: process.env.AUDIT_ROTATE_BYTES ? { maxBytes: Number(process.env.AUDIT_ROTATE_BYTES) } : undefined,
  });
} catch (error) {
  process.stderr.write(`medical-records-api: ${(error as Error).message}\n`);
  process.exit(1);
}
const server = new McpServer(MedicalRecordsApi);
server.use(audit);
const stdio = process.argv.includes("--stdio");
const running = await server.listen(stdio ? { transport: "stdio" } : { transport: "http", port: Number(process.env.PORT ?? 3001) });
process.stderr.write(`medical-records-api ${running.url ? `listening on ${running.url}` : "serving on stdio"}; audit log ${audit.log.path} (from seq ${audit.log.lastSeq + 1})\n`);
