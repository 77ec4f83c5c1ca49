import type { InjectionToken } from "tsyringe";
import type { AuthorizationBinding } from "./decorators/authorization.js";
import type { CompletionBinding, CompletionTarget } from "./decorators/complete.js";
import type { ParameterBinding } from "./decorators/inject.js";
import type { MiddlewareBinding } from "./decorators/middleware.js";
import type { RateLimitBinding } from "../limits/rate-limit.js";
import { windowMs } from "../limits/window.js";
import type {
  AuthorizationRequirement,
  DeclaredMember,
  InputClass,
  PromptOptions,
  RateLimitRule,
  ResourceOptions,
  ServerInfo,
  ToolOptions,
} from "./definitions.js";
import { DefinitionError } from "./errors.js";
import type { MiddlewareSpec } from "./middleware.js";
import { METADATA } from "./metadata-keys.js";
import { readListAlongChain, readParamTypes, readValue } from "./metadata-store.js";
import { snakeCase } from "./naming.js";
import { hasValidationRules } from "./validation.js";

/** How one parameter of a decorated method gets its value. */
export type ParameterSource =
  | { kind: "input" }
  | { kind: "inject"; token: InjectionToken<unknown> }
  | { kind: "param"; name: string };

/** One decorated method, read from metadata and checked. */
export interface ScannedMember<Options> {
  /** The MCP name: a tool or prompt name, or the resource URI (template). */
  name: string;
  method: string;
  /** `HrApi.importCsv`, for messages. */
  label: string;
  options: Options;
  /** The input (tool), arguments (prompt) class, if the method takes one. */
  inputClass: InputClass | undefined;
  parameters: ParameterSource[];
  middleware: MiddlewareSpec[];
  authorization: AuthorizationRequirement;
  /** `@RateLimit`, the method's replacing the class's. */
  rateLimit: RateLimitRule | undefined;
}

/** Everything the decorators of one server class say. */
export interface ScannedClass {
  target: Function;
  info: ServerInfo | undefined;
  tools: ScannedMember<ToolOptions>[];
  resources: ScannedMember<ResourceOptions & { uri: string }>[];
  prompts: ScannedMember<PromptOptions>[];
  /** `@Complete` methods: what each completes. */
  completions: { method: string; label: string; target: CompletionTarget }[];
}

const PRIMITIVE_TYPES = new Set<Function>([Object, String, Number, Boolean, Array, Function, Promise, Symbol]);

/**
 * Reads the metadata of a server class, once, when it is registered, and checks it. Every mistake
 * is a {@link DefinitionError} naming class, method and reason.
 */
export function scanServerClass(target: Function, perCallTokens: ReadonlySet<unknown>): ScannedClass {
  if (typeof target !== "function") throw new DefinitionError(`Cannot register ${String(target)}: expected a class decorated with @Server`);
  const className = target.name || "(anonymous class)";
  const bindings = readListAlongChain<ParameterBinding>(METADATA.injections, target);
  const middleware = readListAlongChain<MiddlewareBinding>(METADATA.middleware, target);
  const authorization = readListAlongChain<AuthorizationBinding>(METADATA.authorization, target);
  const rateLimits = readListAlongChain<RateLimitBinding>(METADATA.rateLimits, target);
  const prototype = target.prototype as Record<string, unknown>;

  const scan = <O extends object>(
    kind: "tool" | "resource" | "prompt",
    member: DeclaredMember<O>,
    name: string,
    explicitInput: InputClass | undefined,
  ): ScannedMember<O> => {
    const label = `${className}.${member.method}`;
    const fail = (reason: string): never => {
      throw new DefinitionError(`Cannot register ${kind} "${name}" on ${label}: ${reason}`);
    };
    const fn = prototype[member.method];
    if (typeof fn !== "function") fail("it is not a method");
    const arity = Math.max((fn as Function).length, ...bindings.filter((b) => b.method === member.method).map((b) => b.index + 1));
    const paramTypes = readParamTypes(prototype, member.method);
    const parameters: ParameterSource[] = [];
    let inputClass: InputClass | undefined = explicitInput;
    for (let index = 0; index < arity; index++) {
      const binding = bindings.find((b) => b.method === member.method && b.index === index);
      if (binding) {
        if (binding.source.kind === "param" && kind !== "resource") fail(`parameter #${index + 1} uses @Param, which binds resource template variables only`);
        parameters.push(binding.source.kind === "inject" ? { kind: "inject", token: binding.source.token } : { kind: "param", name: binding.source.name });
        continue;
      }
      const type = paramTypes?.[index];
      if (type && perCallTokens.has(type)) {
        parameters.push({ kind: "inject", token: type as InjectionToken<unknown> });
        continue;
      }
      if (index === 0 && kind !== "resource") {
        if (!inputClass) {
          if (!paramTypes) {
            fail(
              `parameter #1 has no type information (is emitDecoratorMetadata on? esbuild and tsx strip it): ` +
                `name the class with @${kind === "tool" ? "Tool({ input: Dto })" : "Prompt({ args: Dto })"}`,
            );
          }
          if (!type || PRIMITIVE_TYPES.has(type)) {
            fail(`parameter #1 must be typed as a class decorated with class-validator, not ${type?.name ?? "unknown"} (interfaces and plain types carry no rules)`);
          }
          inputClass = type as InputClass;
        }
        parameters.push({ kind: "input" });
        continue;
      }
      fail(`parameter #${index + 1} has no source: decorate it with @Inject(Token)${kind === "resource" ? ' or @Param("var")' : ""}`);
    }
    if (inputClass && !hasValidationRules(inputClass)) {
      fail(`its ${kind === "prompt" ? "arguments" : "input"} class ${inputClass.name} has no class-validator decorators, so nothing would be validated; decorate every property (e.g. @IsString())`);
    }
    const binding = rateLimits.findLast((r) => r.method === member.method) ?? rateLimits.findLast((r) => r.method === undefined);
    const rateLimit = binding ? checkRateLimit(binding, className, fail) : undefined;
    const scopes = authorization.filter((a) => a.method === undefined || a.method === member.method).flatMap((a) => a.scopes);
    const roles = authorization.filter((a) => a.method === undefined || a.method === member.method).flatMap((a) => a.roles);
    return {
      name,
      method: member.method,
      label,
      options: member.options,
      inputClass,
      parameters,
      middleware: [
        ...middleware.filter((m) => m.method === undefined).map((m) => m.spec),
        ...middleware.filter((m) => m.method === member.method).map((m) => m.spec),
      ],
      authorization: { scopes: [...new Set([...scopes, ...((member.options as ToolOptions).scopes ?? [])])], roles: [...new Set(roles)] },
      rateLimit,
    };
  };

  const tools = readListAlongChain<DeclaredMember<ToolOptions>>(METADATA.tools, target).map((m) =>
    scan("tool", m, m.options.name ?? snakeCase(m.method), m.options.input),
  );
  const resources = readListAlongChain<DeclaredMember<ResourceOptions & { uri: string }>>(METADATA.resources, target).map((m) =>
    scan("resource", m, m.options.uri, undefined),
  );
  const prompts = readListAlongChain<DeclaredMember<PromptOptions>>(METADATA.prompts, target).map((m) =>
    scan("prompt", m, m.options.name ?? snakeCase(m.method), m.options.args),
  );
  const completions = readListAlongChain<CompletionBinding>(METADATA.completions, target).map((binding) => {
    const label = `${className}.${binding.method}`;
    if (typeof prototype[binding.method] !== "function") throw new DefinitionError(`Cannot register the completer ${label}: it is not a method`);
    return { method: binding.method, label, target: binding.target };
  });
  const info = readValue<ServerInfo>(METADATA.server, target);
  if (!info && tools.length + resources.length + prompts.length === 0) {
    throw new DefinitionError(`Cannot register ${className}: it has no @Server, @Tool, @Resource or @Prompt decorators`);
  }
  return { target, info, tools, resources, prompts, completions };
}

/** `@RateLimit`'s options checked: positive whole points and cost, a window `per` names. */
function checkRateLimit(binding: RateLimitBinding, className: string, fail: (reason: string) => never): RateLimitRule {
  const where = binding.method === undefined ? `@RateLimit on ${className}` : "@RateLimit";
  const { points, per, cost = 1, ...unknown } = binding.options ?? ({} as RateLimitBinding["options"]);
  const extra = Object.keys(unknown);
  if (extra.length) fail(`${where} has unknown option ${extra.map((k) => `"${k}"`).join(", ")}; it takes points, per and cost`);
  if (!Number.isSafeInteger(points) || points < 1) fail(`${where}: points must be a positive whole number, got ${JSON.stringify(points)}`);
  if (!Number.isSafeInteger(cost) || cost < 1 || cost > points) fail(`${where}: cost must be a whole number from 1 to points (${points}), got ${JSON.stringify(cost)}`);
  const ms = windowMs(per);
  if (typeof ms === "string") fail(`${where}: ${ms}`);
  return { points, windowMs: ms as number, cost };
}
