import { CallContext } from "./call-context.js";
import { PROMPT_OPTIONS, RESOURCE_OPTIONS, TOOL_OPTIONS, type InputClass, type MemberDefinition, type PromptOptions, type ResourceOptions, type ToolOptions } from "./definitions.js";
import { DefinitionError } from "./errors.js";
import type { Middleware, MiddlewareSpec } from "./middleware.js";
import { defineOptions, option } from "./options.js";
import { hasValidationRules } from "./validation.js";

/** `server.addTool({...})`: a tool without a class. */
export interface ToolSpec<Input extends object = object> extends ToolOptions {
  name: string;
  handler: (input: Input, ctx: CallContext) => unknown;
  /** Middleware for this tool alone (inside the server's). */
  middleware?: Middleware[];
}

/** `server.addResource(uri, handler, options)`: the handler gets template variables, if any. */
export type ResourceHandler = (variables: Record<string, string | string[]>, ctx: CallContext) => unknown;

/** `server.addPrompt({...})`: a prompt without a class. */
export interface PromptSpec<Args extends object = object> extends PromptOptions {
  name: string;
  args?: InputClass<Args>;
  handler: (args: Args, ctx: CallContext) => unknown;
  /** Middleware for this prompt alone (inside the server's). */
  middleware?: Middleware[];
}

const middlewareList = option.any("a list of middleware (functions or objects with handle(ctx, next))");
const handler = option.required(option.function("a handler function"), "it is what the call runs");

/** The rules of {@link ToolSpec} (`server.addTool`). */
export const TOOL_SPEC_OPTIONS = defineOptions<ToolSpec>("server.addTool(spec)", {
  ...TOOL_OPTIONS.rules,
  name: option.required(option.string({ nonEmpty: true }), "a tool added without a class has no method name to take it from"),
  handler,
  middleware: middlewareList,
}, TOOL_OPTIONS.hints);

/** The rules of the options of `server.addResource(uri, handler, options)`. */
export const RESOURCE_SPEC_OPTIONS = defineOptions<ResourceOptions & { middleware?: Middleware[] }>("server.addResource(uri, handler, options)", {
  ...RESOURCE_OPTIONS.rules,
  middleware: middlewareList,
}, RESOURCE_OPTIONS.hints);

/** The rules of {@link PromptSpec} (`server.addPrompt`). */
export const PROMPT_SPEC_OPTIONS = defineOptions<PromptSpec>("server.addPrompt(spec)", {
  ...PROMPT_OPTIONS.rules,
  name: option.required(option.string({ nonEmpty: true }), "a prompt added without a class has no method name to take it from"),
  handler,
  middleware: middlewareList,
}, PROMPT_OPTIONS.hints);

const instanceSpecs = (label: string, middleware: readonly Middleware[] | undefined): MiddlewareSpec[] => {
  if (middleware !== undefined && !Array.isArray(middleware)) throw new DefinitionError(`${label}: middleware must be a list of middleware`);
  return (middleware ?? []).map((mw, index) => {
    if (typeof mw !== "function" && typeof mw?.handle !== "function") {
      throw new DefinitionError(`${label}: middleware #${index + 1} is neither a function (ctx, next) => result nor an object with handle(ctx, next)`);
    }
    return { kind: "instance", middleware: mw };
  });
};

function checkHandler(label: string, handler: unknown): asserts handler is (...args: never[]) => unknown {
  if (typeof handler !== "function") throw new DefinitionError(`${label}: handler must be a function`);
}

function checkInputClass(kind: string, name: string, label: string, cls: InputClass | undefined): void {
  if (cls && !hasValidationRules(cls)) {
    throw new DefinitionError(`Cannot register ${kind} "${name}" on ${label}: its input class ${cls.name} has no class-validator decorators, so nothing would be validated`);
  }
}

/** The member definition of `server.addTool(spec)`: the same shape a decorated method gives. */
export function toolDefinition(spec: ToolSpec): MemberDefinition {
  const label = `server.addTool("${spec?.name}")`;
  if (typeof spec?.name !== "string" || !spec.name) throw new DefinitionError("server.addTool({ name, description, handler }) needs a name");
  checkHandler(label, spec.handler);
  checkInputClass("tool", spec.name, label, spec.input);
  const { handler, middleware, ...options } = spec;
  return {
    kind: "tool",
    name: spec.name,
    label,
    options,
    inputClass: spec.input,
    parameters: [{ kind: "input" }, { kind: "inject", token: CallContext }],
    middleware: instanceSpecs(label, middleware),
    authorization: { scopes: [...new Set(spec.scopes ?? [])], roles: [] },
    handler: { kind: "function", fn: handler as (...args: never[]) => unknown },
  };
}

/** The member definition of `server.addResource(uri, handler, options)`. */
export function resourceDefinition(uri: string, handler: ResourceHandler, options: ResourceOptions & { middleware?: Middleware[] } = {}): MemberDefinition {
  const label = `server.addResource("${uri}")`;
  if (typeof uri !== "string" || !/^[a-z][a-z0-9+.-]*:/i.test(uri)) throw new DefinitionError(`${label}: the URI needs a scheme, such as "status://{component}"`);
  checkHandler(label, handler);
  const { middleware, ...rest } = options;
  return {
    kind: "resource",
    name: uri,
    label,
    options: rest,
    inputClass: undefined,
    parameters: [{ kind: "variables" }, { kind: "inject", token: CallContext }],
    middleware: instanceSpecs(label, middleware),
    authorization: { scopes: [], roles: [] },
    handler: { kind: "function", fn: handler as (...args: never[]) => unknown },
  };
}

/** The member definition of `server.addPrompt(spec)`. */
export function promptDefinition(spec: PromptSpec): MemberDefinition {
  const label = `server.addPrompt("${spec?.name}")`;
  if (typeof spec?.name !== "string" || !spec.name) throw new DefinitionError("server.addPrompt({ name, handler }) needs a name");
  checkHandler(label, spec.handler);
  checkInputClass("prompt", spec.name, label, spec.args);
  const { handler, middleware, ...options } = spec;
  return {
    kind: "prompt",
    name: spec.name,
    label,
    options,
    inputClass: spec.args,
    parameters: [{ kind: "input" }, { kind: "inject", token: CallContext }],
    middleware: instanceSpecs(label, middleware),
    authorization: { scopes: [], roles: [] },
    handler: { kind: "function", fn: handler as (...args: never[]) => unknown },
  };
}
