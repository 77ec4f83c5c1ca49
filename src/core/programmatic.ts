import type { CallContext } from "./call-context.js";
import { PROMPT_OPTIONS, RESOURCE_OPTIONS, TOOL_OPTIONS, type InputClass, type PromptOptions, type ResourceOptions, type ToolOptions } from "./definitions.js";
import type { Middleware } from "./middleware.js";
import { defineOptions, option } from "./options.js";

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
}

export type { ResourceOptions };

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
}, PROMPT_OPTIONS.hints);
