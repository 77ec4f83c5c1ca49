import "reflect-metadata";
import { request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { IsString } from "class-validator";
import { DashboardAttachError, DashboardEndpoint, McpServer, Server, Tool } from "lantern-mcp";
import { DASHBOARD_TELEMETRY_PATH, fetchDashboardSnapshot } from "../../../src/observability/dashboard/dashboard-endpoint.js";

class Echo { @IsString() text!: string; }

@Server({ name: "attached", version: "0.9.0" })
class Attached {
  @Tool({ description: "echo" }) echo(input: Echo) { return input.text; }
}

const TOKEN = "a-test-token-of-enough-length";
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function httpServerWithEndpoint(options: ConstructorParameters<typeof DashboardEndpoint>[1] = {}) {
  const server = new McpServer(Attached);
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
  cleanups.push(() => server.close());
  const announced: string[] = [];
  const endpoint = new DashboardEndpoint(server, { announce: (m) => announced.push(m), ...options });
  const address = await endpoint.start();
  cleanups.push(() => endpoint.stop());
  return { server, running, endpoint, address, announced };
}

async function httpClient(url: string, name: string) {
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanups.push(() => client.close());
  return client;
}

/** GET with full control over the headers (fetch does not let a caller set Host). */
function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => { body += chunk; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("lantern dashboard's poll gets the telemetry of calls made over real HTTP", async () => {
  const { running, address, announced } = await httpServerWithEndpoint({ token: TOKEN });
  expect(address.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const client = await httpClient(running.url!, "http-agent");
  await client.callTool({ name: "echo", arguments: { text: "one" } });
  await client.callTool({ name: "echo", arguments: {} }).catch(() => undefined);
  const snapshot = await fetchDashboardSnapshot(address.url, TOKEN);
  expect(snapshot.server).toMatchObject({ name: "attached", version: "0.9.0", transport: "http" });
  expect(snapshot.totals).toEqual({ calls: 2, errors: 1 });
  expect(snapshot.agents.map((a) => [a.clientId, a.requests])).toEqual([["http-agent", 2]]);
  expect(snapshot.connectedSessions).toBe(1);
  // A token the user chose is never printed back.
  expect(announced).toEqual([`[lantern] dashboard telemetry on ${address.url}; attach with: lantern dashboard --url ${address.url} --token $LANTERN_DASHBOARD_TOKEN`]);
});

test("no token, a wrong token or a foreign Host header get nothing", async () => {
  const { address } = await httpServerWithEndpoint({ token: TOKEN });
  const host = `127.0.0.1:${address.port}`;
  const none = await rawGet(address.port, DASHBOARD_TELEMETRY_PATH, { host });
  expect(none.status).toBe(401);
  expect(JSON.parse(none.body).error).toContain("Authorization: Bearer <token>");
  const wrong = await rawGet(address.port, DASHBOARD_TELEMETRY_PATH, { host, authorization: `Bearer ${TOKEN}x` });
  expect(wrong.status).toBe(401);
  expect(JSON.parse(wrong.body)).toEqual({ error: "Unauthorized: wrong dashboard token" });
  const rebinding = await rawGet(address.port, DASHBOARD_TELEMETRY_PATH, { host: `evil.example:${address.port}`, authorization: `Bearer ${TOKEN}` });
  expect(rebinding.status).toBe(403);
  expect(JSON.parse(rebinding.body)).toEqual({ error: `Forbidden: Host "evil.example:${address.port}" is not this loopback endpoint` });
  const right = await rawGet(address.port, DASHBOARD_TELEMETRY_PATH, { host, authorization: `Bearer ${TOKEN}` });
  expect(right.status).toBe(200);
  expect(JSON.parse(right.body).version).toBe(1);
  await expect(fetchDashboardSnapshot(address.url, "not-the-token-at-all")).rejects.toThrow(/refused the dashboard token/);
});

test("the server's stderr is recorded for Raw Logs and still written; the announced token is not recorded", async () => {
  const written: string[] = [];
  const realWrite = process.stderr.write;
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const { address } = await httpServerWithEndpoint({ announce: (m) => process.stderr.write(`${m}\n`) });
    process.stderr.write("[worker] cache warmed\n");
    const lines = (await fetchDashboardSnapshot(address.url, address.token)).rawLogs.map((l) => [l.source, l.text]);
    expect(lines).toEqual([["stderr", "[worker] cache warmed"]]);
    expect(written.join("")).toContain("[worker] cache warmed");
    expect(written.join("")).toContain(address.token);
  } finally {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    process.stderr.write = realWrite;
  }
});

test("without a token one is generated, printed once, and required", async () => {
  const { address, announced } = await httpServerWithEndpoint();
  expect(address.token.length).toBeGreaterThanOrEqual(32);
  expect(announced).toHaveLength(1);
  expect(announced[0]).toContain(`--token ${address.token}`);
  const refused = await fetchDashboardSnapshot(address.url, TOKEN).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(DashboardAttachError);
  expect((refused as DashboardAttachError).summary).toBe("token refused");
  expect((await fetchDashboardSnapshot(address.url, address.token)).totals.calls).toBe(0);
});

test("a short token is refused when the endpoint is made, and a stopped endpoint says it cannot be reached", async () => {
  const server = new McpServer(Attached);
  expect(() => new DashboardEndpoint(server, { token: "short" })).toThrow(/at least 16 characters/);
  const endpoint = new DashboardEndpoint(server, { token: TOKEN, announce: () => {} });
  const { url } = await endpoint.start();
  await endpoint.stop();
  await expect(fetchDashboardSnapshot(url, TOKEN)).rejects.toThrow(/Cannot reach .* is the server running/);
});

test("server.close() stops the endpoint", async () => {
  const server = new McpServer(Attached);
  await server.build();
  const endpoint = new DashboardEndpoint(server, { token: TOKEN, announce: () => {} });
  const { url } = await endpoint.start();
  await server.close();
  await expect(fetchDashboardSnapshot(url, TOKEN)).rejects.toThrow(/Cannot reach/);
});

test("listen({ transport: \"stdio\", dashboard: true }) is refused, pointing at attach mode", async () => {
  const server = new McpServer(Attached);
  await expect(server.listen({ transport: "stdio", dashboard: true, handleSignals: false })).rejects.toThrow(/stdout carries the MCP protocol.*DashboardEndpoint.*lantern dashboard --url/);
  await server.close();
});
