/** The JSON Schema dialect of every input schema Lantern publishes (MCP 2025-11-25's default). */
export const JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/**
 * Marks an input class's schema as what Lantern enforces: JSON Schema 2020-12, and no properties
 * beyond the declared ones (the validator refuses unknown properties, at every level), so clients
 * and models learn it from tools/list instead of from a -32602.
 */
export function withInputDialect<S extends Record<string, unknown>>(schema: S): S {
  const defs = schema.$defs as Record<string, Record<string, unknown>> | undefined;
  if (defs) {
    for (const def of Object.values(defs)) {
      if (def.type === "object" && def.additionalProperties === undefined) def.additionalProperties = false;
    }
  }
  return {
    $schema: JSON_SCHEMA_2020_12,
    ...schema,
    ...(schema.additionalProperties === undefined ? { additionalProperties: false } : {}),
  };
}
