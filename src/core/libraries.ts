import { createRequire } from "node:module";
import type * as ClassTransformer from "class-transformer";
import type * as ClassTransformerStorage from "class-transformer/cjs/storage.js";
import type * as ClassValidator from "class-validator";
import type * as ClassValidatorJsonSchema from "class-validator-jsonschema";
import type * as Jose from "jose";
import type * as OpenTelemetryApi from "@opentelemetry/api";
import type * as PromClient from "prom-client";
import type * as RateLimiterFlexible from "rate-limiter-flexible";
import type * as Tsyringe from "tsyringe";
import type Winston from "winston";

// Libraries are loaded by the part that uses them, when it is made: importing `lantern-mcp` loads
// none of them, and a server that uses no logging, Prometheus, JWT or tracing never does.
// Constructors are synchronous, so the CommonJS ones come through `require`.
const require = createRequire(import.meta.url);

const once = <T>(load: () => T): (() => T) => {
  let loaded: T | undefined;
  return () => (loaded ??= load());
};

/** tsyringe, loaded when the first server class is decorated or server made. */
export const tsyringeLibrary = once(() => require("tsyringe") as typeof Tsyringe);

/** class-transformer, loaded when the first input class is compiled (a server is built). */
export const classTransformerLibrary = once(() => require("class-transformer") as typeof ClassTransformer);

/** class-transformer's metadata storage (`@Type`, `@Transform`...), so nested classes show up in schemas. */
export const classTransformerStorage = once(() => (require("class-transformer/cjs/storage.js") as typeof ClassTransformerStorage).defaultMetadataStorage);

/** class-validator, loaded when the first input class is compiled (a server is built). */
export const classValidatorLibrary = once(() => require("class-validator") as typeof ClassValidator);

/** class-validator-jsonschema, loaded when the first schema is made (a server is built). */
export const classValidatorJsonSchemaLibrary = once(() => require("class-validator-jsonschema") as typeof ClassValidatorJsonSchema);

/** winston, loaded on first use. */
export const winstonLibrary = once(() => require("winston") as typeof Winston);

/** prom-client, loaded on first use. */
export const promClientLibrary = once(() => require("prom-client") as typeof PromClient);

/** rate-limiter-flexible, loaded when the first limit kept in Redis is made (memory limits are Lantern's own). */
export const rateLimiterFlexibleLibrary = once(() => require("rate-limiter-flexible") as typeof RateLimiterFlexible);

/** The OpenTelemetry API, loaded on first use (its global registry lives on `globalThis`, shared by every copy). */
export const openTelemetryApi = once(() => require("@opentelemetry/api") as typeof OpenTelemetryApi);

/** jose (an ES module only), loaded on first use. */
export const joseLibrary = once((): Promise<typeof Jose> => import("jose"));
