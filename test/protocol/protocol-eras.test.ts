import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, ProtocolError, SdkHttpError, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError as LegacyError, type CallToolResult as LegacyCallToolResult } from "@modelcontextprotocol/sdk/types.js";
import winston from "winston";
import type { McpServer } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { jsonLineSink } from "../support/json-lines.js";

const AUDIT_SECRET = "protocol-eras-audit-secret-0123456789";
const JWT_SECRET = "protocol-eras-jwt-secret-0123456789abcdef";

const tokenFor = (clientId: string) =>
  createToken({ secret: JWT_SECRET, clientId, subject: `${clientId}-user`, issuer: "lantern-dev", audience: "inventory-api", scopes: ["inventory:read", "inventory:write"] });

/** What every client, whatever its era, must be able to do against the production example. */
interface EraClient {
  listTools(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>): Promise<{ isError?: boolean; structuredContent?: unknown; content: unknown[] }>;
  read(uri: string): Promise<string>;
  prompt(name: string, args: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

async function modernClient(url: string, token: string | undefined, mode: "pin" | "auto"): Promise<{ client: EraClient; era: string | undefined }> {
  const client = new Client(
    { name: `modern-${mode}`, version: "2.4.0" },
    { versionNegotiation: { mode: mode === "pin" ? { pin: "2026-07-28" } : "auto" } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {}));
  return {
    era: client.getProtocolEra(),
    client: {
      listTools: async () => (await client.listTools()).tools.map((t) => t.name),
      call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
      read: async (uri) => ((await client.readResource({ uri })).contents[0] as { text: string }).text,
      prompt: async (name, args) => JSON.stringify((await client.getPrompt({ name, arguments: args })).messages),
      close: () => client.close(),
    },
  };
}

async function legacyClient(url: string, token: string): Promise<EraClient> {
  const client = new LegacyClient({ name: "legacy-1.32", version: "1.32.2" });
  await client.connect(new LegacyTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return {
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as LegacyCallToolResult,
    read: async (uri) => ((await client.readResource({ uri })).contents[0] as { text: string }).text,
    prompt: async (name, args) => JSON.stringify((await client.getPrompt({ name, arguments: args })).messages),
    close: () => client.close(),
  };
}

describe("both protocol eras on one endpoint (production example over HTTP, bearer tokens)", () => {
  let dir: string;
  let server: McpServer;
  let url: string;
  let logLines: Record<string, unknown>[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lantern-eras-"));
    logLines = [];
    const sink = jsonLineSink(logLines);
    ({ server } = createProductionServer({
      auditPath: join(dir, "audit.jsonl"),
      auditSecret: AUDIT_SECRET,
      jwtSecret: JWT_SECRET,
      durability: "flush",
      logTransports: [new winston.transports.Stream({ stream: sink })],
    }));
    url = (await server.listen({ transport: "http", port: 0, handleSignals: false })).url!;
  });

  afterAll(async () => {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, () => Promise<EraClient>, string][] = [
    ["the SDK v2 client pinned to 2026-07-28", async () => (await modernClient(url, await tokenFor("modern-agent"), "pin")).client, "2026-07-28"],
    ["the SDK v2 client negotiating (auto)", async () => (await modernClient(url, await tokenFor("auto-agent"), "auto")).client, "2026-07-28"],
    ["the SDK v1 client (2025-11-25 session)", async () => legacyClient(url, await tokenFor("legacy-agent")), "2025-11-25"],
  ];

  it.each(cases)("%s lists, calls, reads and gets, and every signal records its protocol version", async (_what, open, version) => {
    const client = await open();
    try {
      expect(await client.listTools()).toEqual(expect.arrayContaining(["find_items", "adjust_stock", "discontinue_item"]));
      const found = await client.call("find_items", { query: "bulb" });
      expect(found.structuredContent).toEqual({ items: [{ sku: "BLB-100", name: "LED bulb", quantity: 1200, warehouse: "lisbon" }] });
      const invalid = await client.call("find_items", { query: "" }).catch((e: unknown) => e);
      expect((invalid as { code: number }).code).toBe(-32602);
      expect((invalid as Error).message).toContain("query");
      expect(invalid instanceof ProtocolError || invalid instanceof LegacyError).toBe(true);
      const toolError = await client.call("adjust_stock", { sku: "XXX-999", delta: 1, reason: "nothing here" });
      expect(toolError).toMatchObject({ isError: true, content: [{ type: "text", text: "No item with SKU XXX-999" }] });
      expect(JSON.parse(await client.read("inventory://items/LMP-001"))).toMatchObject({ sku: "LMP-001", name: "Desk lamp" });
      expect(await client.prompt("restock", { sku: "LMP-002" })).toContain("Floor lamp");
    } finally {
      await client.close();
    }
    const clientId = _what.includes("pinned") ? "modern-agent" : _what.includes("auto") ? "auto-agent" : "legacy-agent";
    const audit = readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = audit.filter((e) => e.client_id === clientId);
    expect(mine.map((e) => e.tool)).toEqual(["find_items", "find_items", "adjust_stock", "inventory://items/LMP-001", "restock"]);
    for (const entry of mine) {
      expect(entry.protocol_version).toBe(version);
      // A 2026-07-28 request belongs to no session; a 2025-era call names its session.
      if (version === "2026-07-28") expect(entry.session_id).toBeUndefined();
      else expect(entry.session_id).toEqual(expect.any(String));
    }
    const lines = logLines.filter((l) => l.client_id === clientId && l.event === "tool_call");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatchObject({ protocol_version: version, client_name: expect.stringMatching(/^(modern|legacy)/) });
  });

  it("refuses a 2026-07-28 client without a token with 401 before anything runs", async () => {
    const error = await modernClient(url, undefined, "pin").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdkHttpError);
    expect((error as SdkHttpError).message).toContain("401");
  });

  it("answers the SDK's era probe (server/discover) with both eras' capabilities", async () => {
    const { client, era } = await modernClient(url, await tokenFor("probe-agent"), "auto");
    expect(era).toBe("modern");
    await client.close();
  });
});
