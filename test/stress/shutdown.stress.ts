import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

test("SIGTERM with a call that never ends: the process waits its grace period, then runs the shutdown hooks and exits 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lantern-shutdown-"));
  const hookFile = join(dir, "hook.txt");
  const child = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/hung-call-server.mjs", import.meta.url))], {
    env: { ...process.env, HOOK_FILE: hookFile, GRACE_MS: "300" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const { url } = JSON.parse(String((await lines.next()).value)) as { url: string };
    // A 2026-07-28 call (one request, no session) that never answers; its client gives up on it, so no
    // socket is left to keep the process alive: only the grace timer does.
    const client = new AbortController();
    const call = fetch(url, {
      signal: client.signal,
      method: "POST",
      headers: { ...HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "hang" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "hang", arguments: {}, _meta: { "io.modelcontextprotocol/clientInfo": { name: "t", version: "1" }, "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
      }),
    }).then((response) => response.text()).catch(() => "");
    expect((await lines.next()).value).toBe("started");
    client.abort();
    await call;
    expect(existsSync(hookFile)).toBe(false);
    child.kill("SIGTERM");
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(readFileSync(hookFile, "utf8")).toBe("shutdown hook ran\n");
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
