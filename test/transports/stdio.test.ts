import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const MAIN = resolve("dist-examples/examples/hr-api/main.js");

/** Waits (up to 10 s, polling: the process is not ours to watch) until `pid` is gone. */
async function exited(pid: number): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe("stdio transport (spawned process)", () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  });

  it("serves the HR example over stdin/stdout and exits on close", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [MAIN, "--stdio"], stderr: "pipe" });
    const client = new Client({ name: "stdio-test", version: "1.0.0" });
    await client.connect(transport);
    expect(client.getServerVersion()).toMatchObject({ name: "hr-api", version: "1.0.0" });
    const result = await client.callTool({ name: "search_employees", arguments: { query: "ada" } });
    expect(result.structuredContent).toEqual({ employees: [expect.objectContaining({ name: "Ada Lovelace" })] });
    const invalid = await client.callTool({ name: "search_employees", arguments: { query: "ada", limit: 0 } }).catch((e: Error) => e);
    expect((invalid as { code?: number }).code).toBe(-32602);
    const pid = transport.pid!;
    await client.close();
    expect(await exited(pid)).toBe(true);
  });
});
