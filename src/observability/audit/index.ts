export { canonicalJson } from "./canonical-json.js";
export {
  AUDIT_SECRET_ENV,
  auditKeyId,
  GENESIS_HASH,
  type AuditEntry,
  type AuditHead,
  type AuditKey,
} from "./audit-entry.js";
export { AuditLog, AuditWriteError, type AuditDurability, type AuditLogOptions, type AuditRecord } from "./audit-log.js";
export { Audited, AuditMiddleware, type AuditCallOptions, type AuditOptions } from "./audit-middleware.js";
export {
  verifyAuditLog,
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerification,
  type VerifyAuditLogOptions,
} from "./verify-audit-log.js";
