import "reflect-metadata";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { IsString } from "class-validator";
import { CallContext, Inject, McpServer, RequireRoles, Server, Tool, type Middleware } from "lantern-mcp";

export const SECRET = "a-test-secret-that-is-long-enough-for-hs256!";

export class NoteInput {
  @IsString() text!: string;
}

/** The server every auth test serves: an open tool, a scoped tool and a role-guarded tool. */
@Server({ name: "auth-fixture", version: "1.0.0" })
export class Notes {
  @Tool({ description: "Who is calling, as the server sees it" })
  whoAmI(@Inject(CallContext) ctx: CallContext) {
    const id = ctx.identity;
    return { clientId: ctx.clientId, subject: id?.subject ?? null, issuer: id?.issuer ?? null, scopes: [...(id?.scopes ?? [])], roles: [...(id?.roles ?? [])], method: id?.method ?? null };
  }

  @Tool({ description: "Write a note", scopes: ["notes:write"] })
  writeNote(input: NoteInput) {
    return `saved: ${input.text}`;
  }

  @RequireRoles("admin")
  @Tool({ description: "Delete every note" })
  purge() {
    return "purged";
  }
}

/** A server with the given middleware, listening on 127.0.0.1 on a free port. */
export async function listening(middleware: Middleware[]): Promise<{ server: McpServer; url: string; sessions: () => number }> {
  const server = new McpServer(Notes);
  for (const mw of middleware) server.use(mw);
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
  return { server, url: running.url!, sessions: () => running.http!.sessionCount };
}

/** A real SDK client over Streamable HTTP, sending `token` as a bearer token on every request. */
export async function httpClient(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "auth-test-client", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** A raw initialize POST, as an unauthenticated client would send it; resolves to status, headers and the JSON body. */
export async function rawInitialize(url: string, authorization?: string): Promise<{ status: number; challenge: string | null; body: { error?: { code: number; message: string } }; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(authorization !== undefined ? { authorization } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } },
    }),
  });
  const text = await response.text();
  let body: { error?: { code: number; message: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // An SSE answer (a successful initialize) is not JSON; callers look at `status`.
  }
  return { status: response.status, challenge: response.headers.get("www-authenticate"), body, text };
}

/**
 * Opens a session with `token` (raw initialize), then POSTs `message` in it; resolves to the status,
 * the `WWW-Authenticate` header and the JSON body (or the raw text of an SSE answer).
 */
export async function rawCallInSession(url: string, token: string, message: object): Promise<{ status: number; challenge: string | null; body: { id?: unknown; error?: { code: number; message: string; data?: unknown } }; text: string }> {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}` };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } } }),
  });
  await init.text();
  const sessionId = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !sessionId) throw new Error(`initialize answered HTTP ${init.status}`);
  const inSession = { ...headers, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" };
  await (await fetch(url, { method: "POST", headers: inSession, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();
  const response = await fetch(url, { method: "POST", headers: inSession, body: JSON.stringify(message) });
  const text = await response.text();
  let body = {};
  try {
    body = JSON.parse(text) as object;
  } catch {
    // An SSE answer: callers look at `status` and `text`.
  }
  return { status: response.status, challenge: response.headers.get("www-authenticate"), body, text };
}

/** A JWKS endpoint on 127.0.0.1 whose key set a test may change; counts the fetches. */
export async function jwksServer(initial: object[]): Promise<{ url: string; keys: object[]; fetches: () => number; close: () => Promise<void> }> {
  const state = { keys: [...initial], fetches: 0 };
  const http: HttpServer = createServer((req, res) => {
    state.fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    keys: state.keys,
    fetches: () => state.fetches,
    close: () => new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); }),
  };
}

/** Every fragment of a token that must never show up in an answer: its three segments and its decoded claims' values. */
export function tokenFragments(token: string, claimValues: string[] = []): string[] {
  return [...token.split(".").filter((s) => s.length > 8), token, ...claimValues];
}
