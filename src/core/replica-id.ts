import { hostname } from "node:os";
import { option } from "./options.js";

/**
 * The environment variable a server's replica id is read from when `replicaId` is not given.
 *
 * @example
 * process.env[REPLICA_ID_ENV] = "replica-2"; // before new McpServer(...)
 */
export const REPLICA_ID_ENV = "LANTERN_REPLICA_ID";

/** The longest replica id accepted (it goes into every log line, span and audit entry). */
const MAX_REPLICA_ID_LENGTH = 128;

// Printable, no whitespace: no separators, controls, format characters or unassigned code points.
const REPLICA_ID = new RegExp(`^[^\\s\\p{C}\\p{Z}]{1,${MAX_REPLICA_ID_LENGTH}}$`, "u");

const EXPECTED = `a replica id: 1 to ${MAX_REPLICA_ID_LENGTH} printable characters without whitespace, such as "replica-1" or "api-7f9c-2"`;

/** The options checker's rule for `replicaId`. */
export const REPLICA_ID_RULE = option.string({ pattern: REPLICA_ID, describe: EXPECTED });

/**
 * The replica id of a server given none: `LANTERN_REPLICA_ID`, else `<host name>-<pid>` (the host
 * name's unusable characters replaced by `-`, and cut so the id fits). An environment variable
 * set to something that is not a replica id is refused, naming it.
 *
 * @example
 * defaultReplicaId(); // "web-3.internal-48213", or whatever LANTERN_REPLICA_ID says
 */
export function defaultReplicaId(): string {
  const fromEnv = process.env[REPLICA_ID_ENV];
  if (fromEnv !== undefined) {
    if (!REPLICA_ID.test(fromEnv)) {
      throw new RangeError(
        `The environment variable ${REPLICA_ID_ENV} must be ${EXPECTED}, got ${JSON.stringify(fromEnv.length > 40 ? `${fromEnv.slice(0, 40)}…` : fromEnv)}; fix it, or unset it to use <host name>-<pid>`,
      );
    }
    return fromEnv;
  }
  const pid = `-${process.pid}`;
  const host = [...hostname().replace(/[\s\p{C}\p{Z}]+/gu, "-")].slice(0, MAX_REPLICA_ID_LENGTH - pid.length).join("") || "host";
  return `${host}${pid}`;
}
