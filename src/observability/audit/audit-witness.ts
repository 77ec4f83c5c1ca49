import type { AuditHead } from "./audit-entry.js";

/**
 * Somewhere outside the audit folder that keeps the signed heads of a log, so that whoever can
 * rewrite the folder still cannot make the log forget what it once held: `lantern audit verify
 * --witness FILE` checks the log against the heads a witness kept. `send` is called off the calls'
 * path, at `witnessIntervalMs` and at shutdown; a rejection is counted, reported and retried at the
 * next interval, it never fails a call.
 *
 * @example
 * const toSyslog: AuditWitness = {
 *   name: "syslog",
 *   send: async (head) => { logger.info("audit head", head); },
 * };
 * new AuditMiddleware({ logPath, witnesses: [toSyslog] });
 */
export interface AuditWitness {
  /** How reports name this witness (a URL or command; never a secret). */
  readonly name: string;
  /** Hands a signed head over; resolves once the witness holds it. */
  send(head: AuditHead): Promise<void>;
}
