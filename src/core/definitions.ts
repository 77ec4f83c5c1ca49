import type { Tool as ToolDescriptor, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { CallContext } from "./call-context.js";
import type { MiddlewareSpec } from "./middleware.js";

/** `@Server({ ... })` and `new McpServer({ ... })`: what the initialize response says. */
export interface ServerInfo {
  name: string;
  version: string;
  title?: string;
  instructions?: string;
}

/** A class whose instances are validated inputs (decorated with class-validator). */
export type InputClass<T = object> = new () => T;

/** `@Tool({ ... })`. */
export interface ToolOptions {
  /** The tool's name; defaults to the snake_case of the method name. */
  name?: string;
  title?: string;
  description: string;
  annotations?: ToolAnnotations;
  /** The input class, when the first parameter's type is not emitted (esbuild, tsx) or not a class. */
  input?: InputClass;
  /** An output class: published as `outputSchema`; results are validated against it. */
  output?: InputClass;
  /** Scopes the caller must hold (all of them). */
  scopes?: string[];
  /** Aborts the call after this many milliseconds (overrides the server's default). */
  timeoutMs?: number;
  /** Free-form `_meta` published with the tool in tools/list. */
  meta?: Record<string, unknown>;
}

/** `@Resource(uri, { ... })`. */
export interface ResourceOptions {
  name?: string;
  title?: string;
  description?: string;
  mimeType?: string;
  /** Size in bytes, when known, published in resources/list. */
  size?: number;
  annotations?: { audience?: ("user" | "assistant")[]; priority?: number; lastModified?: string };
}

/** `@Prompt({ ... })`. */
export interface PromptOptions {
  name?: string;
  title?: string;
  description?: string;
  /** The arguments class, when the first parameter's type is not emitted. */
  args?: InputClass;
}

/** Scopes and roles a call must hold; merged class → method. */
export interface AuthorizationRequirement {
  scopes: readonly string[];
  roles: readonly string[];
}

/**
 * `@RateLimit({ points, per, cost })`: `points` per window for each caller, one call weighing `cost`.
 * `per` is `"1s"`, `"1m"`, `"1h"`, `"1d"` or milliseconds (whole seconds).
 */
export interface RateLimitOptions {
  points: number;
  per: string | number;
  /** How many points one call takes (default 1). */
  cost?: number;
}

/** A checked rate limit of one tool, resource or prompt (what the scanner made of `@RateLimit`). */
export interface RateLimitRule {
  points: number;
  windowMs: number;
  cost: number;
}

/** How one method parameter gets its value on each call. */
export type ParameterResolver = (ctx: CallContext) => unknown;

/** Where a tool, resource or prompt was declared, for error messages. */
export interface DeclarationSite {
  /** `HrApi.importCsv`, or `server.addTool("name")` for programmatic ones. */
  label: string;
}

/** What the decorators of one method say, as the scanner read it (before the server is built). */
export interface DeclaredMember<Options> {
  method: string;
  options: Options;
}

/** Middleware specs declared on a class and on its methods. */
export interface DeclaredMiddleware {
  classLevel: MiddlewareSpec[];
  byMethod: Map<string, MiddlewareSpec[]>;
}

export type { ToolDescriptor };
