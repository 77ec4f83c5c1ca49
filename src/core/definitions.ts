import type { Tool as ToolDescriptor, ToolAnnotations } from "@modelcontextprotocol/server";
import type { InjectionToken } from "tsyringe";
import type { CallContext } from "./call-context.js";
import type { MiddlewareSpec } from "./middleware.js";
import { defineOptions, option } from "./options.js";

/** `@Server({ ... })` and `new McpServer({ ... })`: what the initialize response says. */
export interface ServerInfo {
  name: string;
  version: string;
  title?: string;
  instructions?: string;
}

/** The rules of {@link ServerInfo} (`@Server`, `new McpServer({ ... })`). */
export const SERVER_INFO_OPTIONS = defineOptions<ServerInfo>("@Server / new McpServer({ name, version })", {
  name: option.required(option.string({ nonEmpty: true }), "it is sent to clients in the initialize response"),
  version: option.required(option.string({ nonEmpty: true }), "it is sent to clients in the initialize response"),
  title: option.string(),
  instructions: option.string(),
}, {
  description: 'a server has no "description"; use "instructions" (sent to clients in the initialize response) or "title"',
});

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

const toolRules = {
  name: option.string({ nonEmpty: true }),
  title: option.string(),
  description: option.required(option.string(), "clients show it to the model to decide when to call the tool"),
  annotations: option.object(undefined, "an object of tool annotations ({ readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title })"),
  input: option.function("an input class (decorated with class-validator)"),
  output: option.function("an output class (decorated with class-validator)"),
  scopes: option.secured(option.stringList(), "let every caller run the tool"),
  // 0: no time limit for this tool (how the call runner treats it).
  timeoutMs: option.milliseconds(0),
  meta: option.object(),
};
const toolHints = {
  timeout: 'use "timeoutMs" (milliseconds)',
  inputSchema: 'Lantern builds the input schema from the input class: name it with { input: Dto }',
  outputSchema: 'Lantern builds the output schema from the output class: name it with { output: Dto }',
  _meta: 'use "meta"',
  roles: "roles are required with @RequireRoles(...) on the method or class",
};

/** The rules of {@link ToolOptions} (`@Tool`). */
export const TOOL_OPTIONS = defineOptions<ToolOptions>("@Tool options", toolRules, toolHints);

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

/** The rules of {@link ResourceOptions} (`@Resource`, `server.addResource`). */
export const RESOURCE_OPTIONS = defineOptions<ResourceOptions>("@Resource options", {
  name: option.string({ nonEmpty: true }),
  title: option.string(),
  description: option.string(),
  mimeType: option.string({ nonEmpty: true }),
  size: option.integer({ min: 0, unit: "bytes" }),
  annotations: option.object(defineOptions<NonNullable<ResourceOptions["annotations"]>>("@Resource options", {
    audience: option.stringList(),
    priority: option.number({ min: 0, max: 1 }),
    lastModified: option.string(),
  })),
}, {
  uri: "the URI is the first argument: @Resource(uri, options) / server.addResource(uri, handler, options)",
  mimetype: 'use "mimeType"',
  scopes: "a resource's scopes are required with @RequireScopes(...) on the method or class",
});

/** `@Prompt({ ... })`. */
export interface PromptOptions {
  name?: string;
  title?: string;
  description?: string;
  /** The arguments class, when the first parameter's type is not emitted. */
  args?: InputClass;
}

/** The rules of {@link PromptOptions} (`@Prompt`). */
export const PROMPT_OPTIONS = defineOptions<PromptOptions>("@Prompt options", {
  name: option.string({ nonEmpty: true }),
  title: option.string(),
  description: option.string(),
  args: option.function("an arguments class (decorated with class-validator)"),
}, {
  arguments: 'use "args" (the arguments class)',
  input: 'use "args" (the arguments class)',
});

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

/** What a member of a server is. */
export type MemberKind = "tool" | "resource" | "prompt";

/** How one parameter of a handler gets its value on each call. */
export type ParameterSource =
  /** The validated input (tools) or arguments (prompts). */
  | { kind: "input" }
  /** Every template variable of the URI read (the handler of `addResource`). */
  | { kind: "variables" }
  /** A per-call value, a provider's value, or a container token. */
  | { kind: "inject"; token: InjectionToken<unknown> }
  /** One template variable (`@Param("id")`). */
  | { kind: "param"; name: string };

/** What runs a member: a method of a server class (built by the container), or a function. */
export type MemberHandler =
  | { kind: "method"; owner: Function; method: string }
  | { kind: "function"; fn: (...args: never[]) => unknown };

/**
 * One tool, resource or prompt as declared, whichever way: the scanner makes these from decorated
 * classes, and `addTool` / `addResource` / `addPrompt` from their specs. The compiler turns every
 * one of them into a served member the same way.
 */
export interface MemberDefinition {
  kind: MemberKind;
  /** A tool or prompt name, or the resource URI (template). */
  name: string;
  /** Where it was declared, for messages: `HrApi.importCsv`, `server.addTool("ping")`. */
  label: string;
  options: ToolOptions | (ResourceOptions & { uri?: string }) | PromptOptions;
  /** The input (tool) or arguments (prompt) class, if any. */
  inputClass: InputClass | undefined;
  parameters: readonly ParameterSource[];
  /** Class-level middleware first, then the method's (decorators), or the spec's `middleware`. */
  middleware: readonly MiddlewareSpec[];
  authorization: AuthorizationRequirement;
  /** `@RateLimit` (the method's replacing the class's): runs innermost, after every middleware. */
  rateLimit?: RateLimitRule;
  handler: MemberHandler;
}

/** What the decorators of one method say, as the scanner read it (before the server is built). */
export interface DeclaredMember<Options> {
  method: string;
  options: Options;
}

export type { ToolDescriptor };
