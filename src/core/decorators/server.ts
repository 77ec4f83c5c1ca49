import { tsyringeLibrary } from "../libraries.js";
import { SERVER_INFO_OPTIONS, type ServerInfo } from "../definitions.js";
import { METADATA } from "../metadata-keys.js";
import { recordValue } from "../metadata-store.js";
import { checkOptions } from "../options.js";

/**
 * Marks a class as an MCP server. Its constructor parameters are injected by tsyringe.
 *
 * @example
 * @Server({ name: "hr-api", version: "1.0.0" })
 * class HrApi { constructor(private readonly employees: EmployeeRepository) {} }
 */
export function Server(options: ServerInfo): ClassDecorator {
  if (!options?.name || !options.version) {
    throw new TypeError("@Server needs { name, version }: both are sent to clients in the initialize response");
  }
  return (target) => {
    recordValue(METADATA.server, target, checkOptions(SERVER_INFO_OPTIONS, options, `@Server options of ${target.name}`));
    // tsyringe needs the constructor's parameter types recorded to inject them.
    tsyringeLibrary().injectable()(target as unknown as new (...args: unknown[]) => unknown);
  };
}
