import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";

/** A recorded `@RequireScopes` / `@RequireRoles`: on a class (`method` undefined) or one method. */
export interface AuthorizationBinding {
  method: string | undefined;
  scopes: string[];
  roles: string[];
}

const record = (scopes: string[], roles: string[]) => (target: object, key?: string | symbol) => {
  const owner = key === undefined ? target : (target as { constructor: object }).constructor;
  recordListEntry<AuthorizationBinding>(METADATA.authorization, owner, {
    method: key === undefined ? undefined : String(key),
    scopes,
    roles,
  });
};

/**
 * The caller must hold every one of these scopes (class-wide or for one method; they add up).
 *
 * @example
 * @RequireScopes("hr:write") @Tool({ description: "Import a CSV file" }) importCsv(...) {}
 */
export function RequireScopes(...scopes: string[]): ClassDecorator & MethodDecorator {
  return record(scopes, []) as ClassDecorator & MethodDecorator;
}

/** The caller must hold every one of these roles (class-wide or for one method; they add up). */
export function RequireRoles(...roles: string[]): ClassDecorator & MethodDecorator {
  return record([], roles) as ClassDecorator & MethodDecorator;
}
