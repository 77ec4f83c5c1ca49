import type { CallContext } from "./call-context.js";
import type { InputClass, PromptOptions, ResourceOptions, ToolOptions } from "./definitions.js";
import type { Middleware } from "./middleware.js";

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
