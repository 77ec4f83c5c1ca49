// Drives real MCP clients against one replica for scripts/fleet-dashboard-e2e.sh:
//   node fleet-dashboard-e2e-client.mjs <mcp-url> <modern-calls> <legacy-calls>
// makes <modern-calls> calls with the SDK v2 client pinned to 2026-07-28 (client "fleet-modern") and
// <legacy-calls> with the SDK v1 client over a 2025-era session (client "fleet-legacy"), then exits.
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [target, modernArg, legacyArg] = process.argv.slice(2);
const modernCalls = Number(modernArg);
const legacyCalls = Number(legacyArg);
if (!target || !Number.isInteger(modernCalls) || !Number.isInteger(legacyCalls)) {
  console.error("usage: fleet-dashboard-e2e-client.mjs <mcp-url> <modern-calls> <legacy-calls>");
  process.exit(2);
}

const call = async (client, i) => {
  const result = await client.callTool({ name: "search_employees", arguments: { query: `q${i}` } });
  if (result.isError) throw new Error(`call ${i} failed: ${JSON.stringify(result.content)}`);
};

if (modernCalls > 0) {
  const client = new ModernClient({ name: "fleet-modern", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new ModernTransport(new URL(target)));
  for (let i = 0; i < modernCalls; i++) await call(client, i);
  await client.close();
}
if (legacyCalls > 0) {
  const client = new LegacyClient({ name: "fleet-legacy", version: "1.0.0" });
  await client.connect(new LegacyTransport(new URL(target)));
  for (let i = 0; i < legacyCalls; i++) await call(client, i);
  await client.close();
}
process.exit(0);
