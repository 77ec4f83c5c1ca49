export {
  AUDIT_SECRET_ENV,
  type AuditEntry,
  type AuditHead,
  type AuditRecovery,
  type AuditRetention,
} from "./audit-entry.js";
export {
  AuditChainError,
  AuditWriteError,
  type AuditDurability,
  type AuditKeyEvolution,
  type AuditLog,
  type AuditLogOptions,
  type AuditRecord,
  type AuditRecoverMode,
} from "./audit-log.js";
export type { AuditWitness } from "./audit-witness.js";
export { HttpAuditWitness, type HttpAuditWitnessOptions } from "./http-audit-witness.js";
export { CommandAuditWitness, type CommandAuditWitnessOptions } from "./command-audit-witness.js";
export { Audited, AuditMiddleware, type AuditCallOptions, type AuditOptions } from "./audit-middleware.js";
export {
  verifyAuditLog,
  type AuditProblem,
  type AuditProblemKind,
  type AuditVerification,
  type VerifyAuditLogOptions,
} from "./verify-audit-log.js";
export {
  AUDIT_FLEET_MANIFEST_FORMAT,
  auditFleetManifest,
  verifyAuditFleet,
  type AuditFleetChain,
  type AuditFleetManifest,
  type AuditFleetManifestOptions,
  type AuditFleetMember,
  type AuditFleetProblem,
  type AuditFleetProblemKind,
  type AuditFleetVerification,
  type VerifyAuditFleetOptions,
} from "./verify-audit-fleet.js";
export { AuditFleetTimeline, type AuditFleetTimelineOptions, type AuditTimelineChain, type AuditTimelineEntry } from "./audit-fleet-timeline.js";
