import type { CallerIdentity, CallKind } from "../core/call-context.js";
import type { AuthorizationRequirement } from "../core/definitions.js";
import { LanternErrorCode } from "../core/errors.js";
import type { RefusedCall } from "../core/protocol-host.js";
import type { Registry } from "../core/registry.js";
import type { Authenticator } from "../core/server-setup.js";
import { MISSING_CREDENTIAL_REASON } from "./auth-middleware.js";

/**
 * One tools/call, resources/read or prompts/get request, as its JSON-RPC message names it (a
 * resource's `args` stay empty: its template variables are found when the call is recorded).
 */
export type CallTarget = RefusedCall;

/**
 * What the server requires of a call to `name` (tool, prompt, resource URI), or undefined when
 * nothing of that name exists (the request then goes on and is answered "not found").
 */
export type RequirementLookup = (kind: CallKind, name: string) => AuthorizationRequirement | undefined;

/**
 * The HTTP answer to a request whose call needs scopes the caller's token lacks: 403
 * `insufficient_scope` naming every scope the call requires (401 when no token was sent), and the
 * JSON-RPC error body of the same refusal.
 */
export interface ScopeRefusal {
  status: 401 | 403;
  wwwAuthenticate: string;
  body: { jsonrpc: "2.0"; id: string | number | null; error: { code: number; message: string; data: { scopes: string[] } } };
  /** The calls refused (one, except in a JSON-RPC batch). */
  calls: CallTarget[];
}

const METHOD_KIND: ReadonlyMap<string, CallKind> = new Map([["tools/call", "tool"], ["resources/read", "resource"], ["prompts/get", "prompt"]]);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Whether `identity` holds every one of `scopes` (a plain loop: no closure per message). */
function holdsAll(identity: CallerIdentity | undefined, scopes: readonly string[]): boolean {
  for (let i = 0; i < scopes.length; i++) if (!identity?.scopes.includes(scopes[i]!)) return false;
  return true;
}

/** The call a JSON-RPC request makes, or undefined for anything else (a notification, tools/list, a malformed call the SDK will answer). */
function callTargetOf(message: unknown): CallTarget | undefined {
  if (!isRecord(message) || typeof message.method !== "string") return undefined;
  const kind = METHOD_KIND.get(message.method);
  const id = message.id;
  if (!kind || (typeof id !== "string" && typeof id !== "number") || !isRecord(message.params)) return undefined;
  const name = kind === "resource" ? message.params.uri : message.params.name;
  if (typeof name !== "string") return undefined;
  const args = kind === "resource" ? {} : isRecord(message.params.arguments) ? message.params.arguments : {};
  return { kind, name, id, args, meta: isRecord(message.params._meta) ? message.params._meta : undefined };
}

/**
 * The lookup of {@link insufficientScopeRefusal} over a built server's registry: made once (the
 * transport keeps it for the server's life), asked on every request.
 *
 * @example
 * const requirementOf = requirementsOf(host.registry);
 * const refusal = insufficientScopeRefusal(body, identity, requirementOf, authenticator);
 */
export function requirementsOf(registry: Pick<Registry, "tools" | "prompts" | "findResource">): RequirementLookup {
  return (kind, name) => {
    if (kind === "tool") return registry.tools.get(name)?.authorization;
    if (kind === "prompt") return registry.prompts.get(name)?.authorization;
    return registry.findResource(name)?.resource.authorization;
  };
}

/**
 * Decides, from the parsed JSON-RPC body alone, whether an HTTP request must be refused because a
 * call in it needs scopes the caller's token does not hold (the MCP authorization spec's step-up:
 * HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`). Pure: it
 * reads nothing else and changes nothing. Roles have no OAuth challenge: a call missing only a
 * role is left to the chain's JSON-RPC -32003.
 *
 * @example
 * const requirementOf = requirementsOf(registry); // once, for the server's life
 * const refusal = insufficientScopeRefusal(
 *   { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "adjust_stock", arguments: {} } },
 *   identity, requirementOf, authMiddleware,
 * );
 * if (refusal) { res.writeHead(refusal.status, { "www-authenticate": refusal.wwwAuthenticate }); res.end(JSON.stringify(refusal.body)); }
 */
export function insufficientScopeRefusal(
  body: unknown,
  identity: CallerIdentity | undefined,
  requirementOf: RequirementLookup,
  authenticator: Pick<Authenticator, "challenge" | "scopeChallenge">,
): ScopeRefusal | undefined {
  if (!authenticator.scopeChallenge) return undefined;
  // Every request passes here: nothing is allocated until a call is found lacking a scope.
  let calls: CallTarget[] | undefined;
  let required: Set<string> | undefined;
  let missing: string[] | undefined;
  const messages = Array.isArray(body) ? body : undefined;
  for (let i = 0, n = messages ? messages.length : 1; i < n; i++) {
    const message = messages ? messages[i] : body;
    if (!isRecord(message) || typeof message.method !== "string") continue;
    const kind = METHOD_KIND.get(message.method);
    if (!kind || !isRecord(message.params)) continue;
    const name = kind === "resource" ? message.params.uri : message.params.name;
    if (typeof name !== "string") continue;
    const requirement = requirementOf(kind, name);
    if (!requirement || holdsAll(identity, requirement.scopes)) continue;
    const call = callTargetOf(message);
    if (!call) continue;
    (calls ??= []).push(call);
    for (const scope of requirement.scopes) {
      (required ??= new Set()).add(scope);
      if (!identity?.scopes.includes(scope) && !(missing ??= []).includes(scope)) missing.push(scope);
    }
  }
  if (!calls || !required || !missing) return undefined;
  const first = calls[0]!;
  const scopes = [...required];
  const what = `${first.kind} "${first.name}"`;
  const named = `scope${missing.length > 1 ? "s" : ""} ${missing.map((s) => `"${s}"`).join(", ")}`;
  const message = identity
    ? `Forbidden: ${what} requires ${named}; the caller lacks ${missing.length > 1 ? "them" : "it"} (obtain a token with scope "${scopes.join(" ")}")`
    : `Unauthorized: ${what} requires ${named}; send a token that holds ${missing.length > 1 ? "them" : "it"}`;
  return {
    status: identity ? 403 : 401,
    // No token at all: the ordinary 401 challenge (RFC 6750 §3.1 gives no error code then).
    wwwAuthenticate: identity ? authenticator.scopeChallenge(scopes, message) : authenticator.challenge(MISSING_CREDENTIAL_REASON),
    body: {
      jsonrpc: "2.0",
      id: Array.isArray(body) ? null : first.id,
      error: { code: identity ? LanternErrorCode.Forbidden : LanternErrorCode.Unauthorized, message, data: { scopes: missing } },
    },
    calls,
  };
}
