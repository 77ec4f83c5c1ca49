import { UriTemplate } from "@modelcontextprotocol/server";
import type { Prompt as PromptDescriptor, Resource as ResourceDescriptor, ResourceTemplate, Tool as ToolDescriptor } from "@modelcontextprotocol/server";
import type { CallerIdentity } from "./call-context.js";
import type { AuthorizationRequirement } from "./definitions.js";
import { missingGrants } from "./invoke.js";
import type { Chain } from "./middleware.js";
import { CompletionTable } from "./protocol/completions.js";

/** A tool ready to serve: its tools/list entry and its composed chain. */
export interface BuiltTool {
  name: string;
  label: string;
  descriptor: ToolDescriptor;
  authorization: AuthorizationRequirement;
  timeoutMs: number | undefined;
  chain: Chain;
}

/** A resource or resource template ready to serve. */
export interface BuiltResource {
  uri: string;
  label: string;
  template: UriTemplate | undefined;
  descriptor: ResourceDescriptor | ResourceTemplate;
  authorization: AuthorizationRequirement;
  chain: Chain;
}

/** A prompt ready to serve. */
export interface BuiltPrompt {
  name: string;
  label: string;
  descriptor: PromptDescriptor;
  authorization: AuthorizationRequirement;
  chain: Chain;
}

/** What one caller is shown by the list requests. */
export interface RegistryView {
  readonly tools: ToolDescriptor[];
  readonly resources: ResourceDescriptor[];
  readonly resourceTemplates: ResourceTemplate[];
  readonly prompts: PromptDescriptor[];
}

const holds = (identity: CallerIdentity | undefined, requirement: AuthorizationRequirement): boolean => {
  if (requirement.scopes.length === 0 && requirement.roles.length === 0) return true;
  const missing = missingGrants(requirement, identity);
  return missing.scopes.length === 0 && missing.roles.length === 0;
};

/**
 * The immutable lookup tables a built server serves from. Lists are computed once; a later
 * `addTool` (or resource, prompt) rebuilds only the list it changed.
 */
export class Registry {
  readonly tools = new Map<string, BuiltTool>();
  readonly staticResources = new Map<string, BuiltResource>();
  readonly templates: BuiltResource[] = [];
  readonly prompts = new Map<string, BuiltPrompt>();
  /** Completers of prompt arguments and resource-template variables (`completion/complete`). */
  readonly completions = new CompletionTable();
  private toolList: ToolDescriptor[] | undefined;
  private resourceList: ResourceDescriptor[] | undefined;
  private templateList: ResourceTemplate[] | undefined;
  private promptList: PromptDescriptor[] | undefined;

  /** `hideForbidden()`: whether lists show each caller only what it may call (the authenticator's `hideForbiddenTools`). */
  constructor(private readonly hideForbidden: () => boolean = () => false) {}

  /**
   * The tools, resources, resource templates and prompts `identity` is shown: everything, or, when
   * forbidden members are hidden, only those whose scopes and roles it holds (the same check
   * `authorize` makes at call time).
   */
  visibleTo(identity: CallerIdentity | undefined): RegistryView {
    // Lazy: a list request reads one of the four lists, filtered only when it is read.
    const registry = this;
    if (!this.hideForbidden()) {
      return {
        get tools() { return registry.listTools(); },
        get resources() { return registry.listResources(); },
        get resourceTemplates() { return registry.listTemplates(); },
        get prompts() { return registry.listPrompts(); },
      };
    }
    return {
      get tools() { return [...registry.tools.values()].filter((t) => holds(identity, t.authorization)).map((t) => t.descriptor); },
      get resources() { return [...registry.staticResources.values()].filter((r) => holds(identity, r.authorization)).map((r) => r.descriptor as ResourceDescriptor); },
      get resourceTemplates() { return registry.templates.filter((r) => holds(identity, r.authorization)).map((r) => r.descriptor as ResourceTemplate); },
      get prompts() { return [...registry.prompts.values()].filter((p) => holds(identity, p.authorization)).map((p) => p.descriptor); },
    };
  }

  addTool(tool: BuiltTool): void {
    this.tools.set(tool.name, tool);
    this.toolList = undefined;
  }

  addResource(resource: BuiltResource): void {
    if (resource.template) {
      this.templates.push(resource);
      this.templateList = undefined;
    } else {
      this.staticResources.set(resource.uri, resource);
      this.resourceList = undefined;
    }
  }

  addPrompt(prompt: BuiltPrompt): void {
    this.prompts.set(prompt.name, prompt);
    this.promptList = undefined;
  }

  listTools(): ToolDescriptor[] {
    return (this.toolList ??= [...this.tools.values()].map((t) => t.descriptor));
  }

  listResources(): ResourceDescriptor[] {
    return (this.resourceList ??= [...this.staticResources.values()].map((r) => r.descriptor as ResourceDescriptor));
  }

  listTemplates(): ResourceTemplate[] {
    return (this.templateList ??= this.templates.map((r) => r.descriptor as ResourceTemplate));
  }

  listPrompts(): PromptDescriptor[] {
    return (this.promptList ??= [...this.prompts.values()].map((p) => p.descriptor));
  }

  /** The resource serving `uri` and its template variables: exact URIs first, then templates in order. */
  findResource(uri: string): { resource: BuiltResource; variables: Record<string, string | string[]> } | undefined {
    const exact = this.staticResources.get(uri);
    if (exact) return { resource: exact, variables: {} };
    for (const resource of this.templates) {
      const variables = resource.template!.match(uri);
      if (variables) return { resource, variables };
    }
    return undefined;
  }
}
