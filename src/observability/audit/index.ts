export { AUDIT_SECRET_ENV, type AuditEntry, type AuditHead } from "./audit-entry.js";
export { AuditWriteError, type AuditDurability, type AuditLog, type AuditRecord } from "./audit-log.js";
export { Audited, AuditMiddleware, type AuditCallOptions, type AuditOptions } from "./audit-middleware.js";
export {
  verifyAuditLog,
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerification,
  type VerifyAuditLogOptions,
} from "./verify-audit-log.js";
