import type { IncomingHttpHeaders } from "node:http";
import { CallContext, type CallChannel, type CallerIdentity, type SessionInfo } from "../core/call-context.js";
import type { Chain } from "../core/middleware.js";
import type { Registry } from "../core/registry.js";
import type { ScopeRefusal } from "./insufficient-scope.js";

// A refused call never reaches its tool, so nothing can talk back to the client through it.
const SILENT_CHANNEL: CallChannel = {
  notify: () => Promise.resolve(),
  request: () => Promise.reject(new Error("a refused call cannot send requests to the client")),
  clientCapabilities: () => undefined,
  logLevel: () => undefined,
  recordLog: () => {},
};

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
};

/**
 * Runs each call of a scope refusal through its own composed chain with the caller's identity, so
 * that metrics, logs, spans and the audit trail record it as `refused` exactly as they record a
 * refusal made inside the chain. The chain's last step checks the same scopes before anything
 * else and refuses, so the tool never runs. Resolves once every middleware has finished (the
 * audit entry is durable before the client gets its 403).
 *
 * @example
 * await recordRefusedCalls(registry, refusal, identity, req.headers);
 */
export async function recordRefusedCalls(
  registry: Pick<Registry, "tools" | "prompts" | "findResource">,
  refusal: ScopeRefusal,
  identity: CallerIdentity | undefined,
  headers: IncomingHttpHeaders,
): Promise<void> {
  const session: SessionInfo = {
    sessionId: header(headers, "mcp-session-id"),
    transport: "http",
    clientInfo: undefined,
    protocolVersion: header(headers, "mcp-protocol-version"),
  };
  for (const call of refusal.calls) {
    let chain: Chain | undefined;
    let args = call.args;
    if (call.kind === "tool") chain = registry.tools.get(call.name)?.chain;
    else if (call.kind === "prompt") chain = registry.prompts.get(call.name)?.chain;
    else {
      const found = registry.findResource(call.name);
      chain = found?.resource.chain;
      args = found?.variables ?? {};
    }
    if (!chain) continue;
    const ctx = new CallContext(call.kind, call.name, String(call.id), args, session, SILENT_CHANNEL, new AbortController().signal, call.meta, call.id);
    ctx.identity = identity;
    try {
      await CallContext.run(ctx, () => chain(ctx));
    } catch {
      // The refusal itself: already recorded by every middleware on its way out.
    }
  }
}
