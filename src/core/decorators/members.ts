import { PROMPT_OPTIONS, RESOURCE_OPTIONS, TOOL_OPTIONS, type PromptOptions, type ResourceOptions, type ToolOptions } from "../definitions.js";
import { METADATA } from "../metadata-keys.js";
import { recordListEntry } from "../metadata-store.js";
import { checkOptions } from "../options.js";

const methodName = (decorator: string, key: string | symbol): string => {
  if (typeof key !== "string") throw new TypeError(`@${decorator} cannot decorate a symbol-named method`);
  return key;
};

/** `@Tool options of HrApi.searchEmployees`: who a refused option belongs to. */
const ownerOf = (decorator: string, prototype: object, method: string): string =>
  `@${decorator} options of ${(prototype as { constructor?: { name?: string } }).constructor?.name ?? "?"}.${method}`;

/**
 * Makes a method an MCP tool. Its first parameter's class (class-validator decorated) is the input:
 * published as JSON Schema in tools/list and validated on every call.
 *
 * @example
 * @Tool({ description: "Search employees by name" })        // name: search_employees
 * async searchEmployees(input: SearchEmployees) { ... }
 */
export function Tool(options: ToolOptions): MethodDecorator {
  if (!options || typeof options.description !== "string") {
    throw new TypeError("@Tool needs { description }: clients show it to the model to decide when to call the tool");
  }
  return (prototype, key) => {
    const method = methodName("Tool", key);
    const checked = checkOptions(TOOL_OPTIONS, options, ownerOf("Tool", prototype, method));
    recordListEntry(METADATA.tools, prototype.constructor, { method, options: checked });
  };
}

/**
 * Makes a method an MCP resource. A URI with `{var}` parts is a template; bind its variables to
 * parameters with `@Param("var")`.
 *
 * @example
 * @Resource("hr://policies/{id}", { mimeType: "text/markdown" })
 * async policy(@Param("id") id: string) { return `# Policy ${id}`; }
 */
export function Resource(uri: string, options: ResourceOptions = {}): MethodDecorator {
  if (typeof uri !== "string" || !uri.includes(":")) {
    throw new TypeError(`@Resource needs a URI such as "hr://policies/{id}", got ${JSON.stringify(uri)}`);
  }
  return (prototype, key) => {
    const method = methodName("Resource", key);
    const checked = checkOptions(RESOURCE_OPTIONS, options, ownerOf("Resource", prototype, method));
    recordListEntry(METADATA.resources, prototype.constructor, { method, options: { ...checked, uri } });
  };
}

/**
 * Makes a method an MCP prompt. Its first parameter's class lists the prompt's arguments.
 *
 * @example
 * @Prompt({ description: "Summarise an employee's record" })
 * summarise(args: SummariseArgs) { return `Summarise ${args.name}`; }
 */
export function Prompt(options: PromptOptions = {}): MethodDecorator {
  return (prototype, key) => {
    const method = methodName("Prompt", key);
    const checked = checkOptions(PROMPT_OPTIONS, options, ownerOf("Prompt", prototype, method));
    recordListEntry(METADATA.prompts, prototype.constructor, { method, options: checked });
  };
}
