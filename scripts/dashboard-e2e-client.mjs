// Drives real MCP clients against the dashboard example for scripts/dashboard-e2e.sh.
//   node dashboard-e2e-client.mjs http <mcp-url>
//     two clients over Streamable HTTP make a known set of calls, then exit.
//   node dashboard-e2e-client.mjs stdio <server-js> <ready-file>
//     spawns the stdio server, makes the same calls, writes the endpoint URL to <ready-file>
//     and keeps the server alive until SIGTERM/SIGINT.
import { writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, readyFile] = process.argv.slice(2);

/** The known calls: 3 searches and 1 creation by one client, 1 search and 1 invalid creation by another. */
async function drive(first, second) {
  for (const query of ["ada", "grace", "alan"]) await first.callTool({ name: "search_employees", arguments: { query } });
  await first.callTool({ name: "create_employee", arguments: { name: "Edsger Dijkstra", department: "Research", email: "edsger@example.com" } });
  await second.callTool({ name: "search_employees", arguments: { query: "katherine", limit: 1 } });
  await second.callTool({ name: "create_employee", arguments: { name: "", department: "Nowhere", email: "nope" } }).catch(() => undefined);
}

if (mode === "http") {
  const connect = async (name) => {
    const client = new Client({ name, version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(target)));
    return client;
  };
  const first = await connect("claude-desktop");
  const second = await connect("cursor");
  await drive(first, second);
  // Leave the sessions open: the Agents tab shows them connected.
  process.exit(0);
} else if (mode === "stdio") {
  const transport = new StdioClientTransport({ command: process.execPath, args: [target, "--stdio"], env: process.env, stderr: "pipe" });
  let stderr = "";
  let announced;
  const endpointSeen = new Promise((resolve) => { announced = resolve; });
  transport.stderr.on("data", (chunk) => {
    stderr += chunk;
    const match = /dashboard telemetry on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
    if (match) announced(match[1]);
  });
  const client = new Client({ name: "stdio-agent", version: "1.0.0" });
  await client.connect(transport);
  const url = await Promise.race([endpointSeen, new Promise((_, reject) => setTimeout(() => reject(new Error(`no endpoint announced; server stderr:\n${stderr}`)), 15_000))]);
  await drive(client, client);
  writeFileSync(readyFile, `${url}\n`);
  const stop = async () => { await client.close(); process.exit(0); };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  setInterval(() => {}, 60_000);
} else {
  console.error("usage: dashboard-e2e-client.mjs http <mcp-url> | stdio <server-js> <ready-file>");
  process.exit(2);
}
