import { UriTemplate } from "@modelcontextprotocol/server";
import type { InjectionToken } from "tsyringe";
import type { AuthorizationBinding } from "./decorators/authorization.js";
import type { CompletionBinding, CompletionTarget } from "./decorators/complete.js";
import type { ConstructorInjection, ParameterBinding } from "./decorators/inject.js";
import type { MiddlewareBinding } from "./decorators/middleware.js";
import type { RateLimitBinding } from "../limits/rate-limit.js";
import { windowMs } from "../limits/window.js";
import type {
  DeclaredMember,
  InputClass,
  MemberDefinition,
  MemberKind,
  ParameterSource,
  PromptOptions,
  RateLimitRule,
  ResourceOptions,
  ServerInfo,
  ToolOptions,
} from "./definitions.js";
import { DefinitionError } from "./errors.js";
import type { MiddlewareSpec } from "./middleware.js";
import { METADATA } from "./metadata-keys.js";
import { readConstructorParamTypes, readListAlongChain, readOwnList, readParamTypes, readValue } from "./metadata-store.js";
import { snakeCase } from "./naming.js";
import { hasValidationRules } from "./validation.js";

/** Everything the decorators of one server class say. */
export interface ScannedClass {
  target: Function;
  info: ServerInfo | undefined;
  /** Its tools, resources and prompts, in that order. */
  members: MemberDefinition[];
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
    kind: MemberKind,
    member: DeclaredMember<O>,
    name: string,
    explicitInput: InputClass | undefined,
  ): MemberDefinition => {
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
    if (kind === "resource") checkTemplateBindings(name, parameters, fail);
    const specs = [
      ...middleware.filter((m) => m.method === undefined).map((m) => ({ spec: m.spec, at: className })),
      ...middleware.filter((m) => m.method === member.method).map((m) => ({ spec: m.spec, at: label })),
    ];
    for (const { spec, at } of specs) checkDecoratorOptions(spec, at, fail);
    const binding = rateLimits.findLast((r) => r.method === member.method) ?? rateLimits.findLast((r) => r.method === undefined);
    const rateLimit = binding ? checkRateLimit(binding, className, fail) : undefined;
    const scopes = authorization.filter((a) => a.method === undefined || a.method === member.method).flatMap((a) => a.scopes);
    const roles = authorization.filter((a) => a.method === undefined || a.method === member.method).flatMap((a) => a.roles);
    return {
      kind,
      name,
      label,
      options: member.options as MemberDefinition["options"],
      inputClass,
      parameters,
      middleware: specs.map((s) => s.spec),
      authorization: { scopes: [...new Set([...scopes, ...((member.options as ToolOptions).scopes ?? [])])], roles: [...new Set(roles)] },
      handler: { kind: "method", owner: target, method: member.method },
      ...(rateLimit ? { rateLimit } : {}),
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
  return { target, info, members: [...tools, ...resources, ...prompts], completions };
}

/**
 * Every `@Param` names a variable of the URI template, and every variable is bound by a `@Param`
 * (a misspelt name would otherwise be `undefined` at run time).
 */
function checkTemplateBindings(uri: string, parameters: readonly ParameterSource[], fail: (reason: string) => never): void {
  const variables = UriTemplate.isTemplate(uri) ? new UriTemplate(uri).variableNames : [];
  const bound = parameters.flatMap((p) => (p.kind === "param" ? [p.name] : []));
  const known = variables.length ? `its variables are ${variables.map((v) => `{${v}}`).join(", ")}` : "it has no template variables";
  for (const name of bound) {
    if (!variables.includes(name)) fail(`@Param("${name}") names no variable of the URI template "${uri}": ${known}`);
  }
  for (const variable of variables) {
    if (!bound.includes(variable)) fail(`the URI template variable {${variable}} is bound to no parameter: add @Param("${variable}") to one`);
  }
}

/** A decorator may set only the options its middleware declares in `decoratorOptions`. */
function checkDecoratorOptions(spec: MiddlewareSpec, at: string, fail: (reason: string) => never): void {
  if (spec.kind !== "configurable") return;
  const contract = spec.type.decoratorOptions ?? {};
  const allowed = Object.keys(contract);
  for (const [key, value] of Object.entries(spec.options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(contract, key)) {
      fail(
        `${spec.decorator}({ ${key} }) on ${at}: "${key}" cannot be set per class or method (${spec.decorator} takes ${allowed.length ? allowed.join(", ") : "no options"}); ` +
          `it configures the middleware itself: pass it to server.use(new ${spec.type.name}({ ${key}: ... }))`,
      );
    }
    if (contract[key] === "union" && !(Array.isArray(value) && value.every((v) => typeof v === "string"))) {
      fail(`${spec.decorator}({ ${key} }) on ${at}: "${key}" must be a list of strings`);
    }
  }
}

/**
 * The tokens a class's constructor asks the container for, at their parameter's index: `@Inject(token)`
 * where given, else the emitted parameter type. A parameter with neither is a hole (skipped by
 * `forEach`); empty when TypeScript emitted nothing.
 */
export function constructorTokens(target: Function): InjectionToken<unknown>[] {
  const types = readConstructorParamTypes(target) ?? [];
  const explicit = readOwnList<ConstructorInjection>(METADATA.constructorInjections, target);
  const count = Math.max(types.length, ...explicit.map((e) => e.index + 1));
  const tokens: InjectionToken<unknown>[] = [];
  for (let index = 0; index < count; index++) {
    const token = explicit.find((e) => e.index === index)?.token ?? (types[index] as InjectionToken<unknown> | undefined);
    if (token !== undefined) tokens[index] = token;
  }
  return tokens;
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
