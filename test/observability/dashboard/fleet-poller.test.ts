import "reflect-metadata";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { IsString } from "class-validator";
import { DashboardEndpoint, McpServer, Server, Tool, type DashboardSnapshot } from "lantern-mcp";
import { run as dashboardCommand } from "../../../src/cli/commands/dashboard.js";
import { FleetPoller } from "../../../src/observability/dashboard/fleet-poller.js";

class Echo { @IsString() text!: string; }

@Server({ name: "replicated", version: "2.0.0" })
class Replicated {
  @Tool({ description: "echo" }) echo(input: Echo) { return input.text; }
}

const TOKEN = "a-fleet-token-of-enough-length";
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One replica: a real HTTP server with its attach endpoint (on `dashboardPort` when given). */
async function replica(replicaId: string, dashboardPort = 0) {
  const server = new McpServer(Replicated, { replicaId });
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
  const endpoint = new DashboardEndpoint(server, { token: TOKEN, port: dashboardPort, announce: () => {}, captureOutput: false });
  const address = await endpoint.start();
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await endpoint.stop();
    await server.close();
  };
  cleanups.push(stop);
  return { url: address.url, port: address.port, mcp: running.url!, stop };
}

/** Makes `ok` good calls and `bad` invalid ones with a real SDK client over HTTP. */
async function call(mcp: string, ok: number, bad = 0) {
  const client = new Client({ name: "fleet-agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp)));
  for (let i = 0; i < ok; i++) await client.callTool({ name: "echo", arguments: { text: `#${i}` } });
  for (let i = 0; i < bad; i++) await client.callTool({ name: "echo", arguments: {} }).catch(() => undefined);
  await client.close();
}

test("the fleet's totals are the sum of every replica's calls; a replica stopped is down with its counts kept; restarted, it carries on", async () => {
  const [a, b, c] = [await replica("replica-a"), await replica("replica-b"), await replica("replica-c")];
  await call(a.mcp, 2);
  await call(b.mcp, 3, 1);
  await call(c.mcp, 4);
  const poller = new FleetPoller([a.url, b.url, c.url], TOKEN, { refreshMs: 1_000 });
  let fleet = await poller.read();
  expect(fleet.totals).toEqual({ calls: 10, errors: 1 });
  expect(fleet.tools.map((t) => [t.name, t.calls, t.errors])).toEqual([["echo", 10, 1]]);
  expect(fleet.agents.map((x) => [x.clientId, x.requests])).toEqual([["fleet-agent", 10]]);
  // Each row is named by the replica id its snapshot carries.
  expect(fleet.fleet!.map((r) => [r.name, r.state, r.calls, r.errors])).toEqual([
    ["replica-a", "up", 2, 0],
    ["replica-b", "up", 4, 1],
    ["replica-c", "up", 4, 0],
  ]);
  expect(fleet.server).toMatchObject({ name: "replicated", version: "2.0.0", endpoint: "3 of 3 replicas up" });

  await c.stop();
  await call(a.mcp, 1);
  // The endpoint serves a snapshot up to 100 ms old: read until the new call is in.
  fleet = await readUntil(poller, (s) => s.totals.calls === 11);
  expect(fleet.fleet![2]).toMatchObject({ state: "down", calls: 4, problem: "unreachable (ECONNREFUSED)" });
  expect(fleet.server.endpoint).toBe("2 of 3 replicas up");

  // Restarted on the same endpoint: its counters start again, the fleet's carry on.
  const again = await replica("replica-c", c.port);
  await call(again.mcp, 5);
  fleet = await readUntil(poller, (s) => s.totals.calls === 16);
  expect(fleet.fleet![2]).toMatchObject({ state: "up", calls: 9, restarts: 1 });
  expect(fleet.latency.histogram?.count).toBe(16);
});

test("a replica that accepts but never answers is cut off and down; the others are read", async () => {
  const a = await replica("replica-a");
  await call(a.mcp, 3);
  const silent: HttpServer = createServer(() => { /* never answers */ });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => { silent.closeAllConnections(); silent.close(() => resolve()); }));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const fleet = await new FleetPoller([a.url, silentUrl], TOKEN, { refreshMs: 250 }).read();
  expect(fleet.totals.calls).toBe(3);
  expect(fleet.fleet![1]).toMatchObject({ state: "down", calls: 0, problem: "no answer within 200 ms" });
});

/** Reads the fleet until `check` holds (at most 50 reads, each waiting on real HTTP polls). */
async function readUntil(poller: FleetPoller, check: (snapshot: DashboardSnapshot) => boolean): Promise<DashboardSnapshot> {
  let last: DashboardSnapshot | undefined;
  for (let i = 0; i < 50; i++) {
    last = await poller.read();
    if (check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`The fleet never matched; last totals ${JSON.stringify(last?.totals)}, replicas ${JSON.stringify(last?.fleet)}`);
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test("with no replica answering, the read fails saying why for each; a wrong token says so", async () => {
  const a = await replica("replica-a");
  const nobody = `http://127.0.0.1:${await closedPort()}`;
  await expect(new FleetPoller([a.url, nobody], "not-the-token-of-this-fleet", { refreshMs: 250 }).read())
    .rejects.toThrow(`No replica answered yet: ${a.url} token refused; ${nobody} unreachable (ECONNREFUSED)`);
});

describe("lantern dashboard's arguments", () => {
  let output: string[];
  const saved = { error: console.error, log: console.log };
  let dir: string;
  beforeEach(() => {
    output = [];
    console.error = (...args: unknown[]) => { output.push(args.join(" ")); };
    console.log = (...args: unknown[]) => { output.push(args.join(" ")); };
    dir = mkdtempSync(join(tmpdir(), "lantern-fleet-"));
  });
  afterEach(() => {
    Object.assign(console, saved);
    rmSync(dir, { recursive: true, force: true });
  });

  test("each URL given is checked, from --url or from --urls-file, and none twice", async () => {
    expect(await dashboardCommand(["--url", "http://127.0.0.1:4501", "--url", "https://example.com", "--token", TOKEN])).toBe(2);
    expect(output.pop()).toMatch(/--url must be a loopback http:\/\/ address .*got https:\/\/example\.com/);
    const file = join(dir, "fleet.txt");
    writeFileSync(file, "# the fleet\nhttp://127.0.0.1:4501\n\n  http://127.0.0.1:4502   # replica b\nnot a url\n");
    expect(await dashboardCommand(["--urls-file", file, "--token", TOKEN])).toBe(2);
    expect(output.pop()).toBe(`lantern dashboard: --urls-file ${file} line 5: "not a url" is not a URL; use the one the server printed, like http://127.0.0.1:4500`);
    writeFileSync(file, "http://127.0.0.1:4501\nhttp://127.0.0.1:4501/\n");
    expect(await dashboardCommand(["--urls-file", file, "--token", TOKEN])).toBe(2);
    expect(output.pop()).toMatch(/http:\/\/127\.0\.0\.1:4501\/ is given twice; list each replica's endpoint once/);
    writeFileSync(file, "http://127.0.0.1:4501\nhttp://localhost:4501/dashboard/telemetry\n");
    expect(await dashboardCommand(["--urls-file", file, "--token", TOKEN])).toBe(2);
    expect(output.pop()).toBe("lantern dashboard: http://localhost:4501/dashboard/telemetry is given twice; list each replica's endpoint once");
    writeFileSync(file, "# nobody\n\n");
    expect(await dashboardCommand(["--urls-file", file, "--token", TOKEN])).toBe(2);
    expect(output.pop()).toMatch(/lists no URL/);
    expect(await dashboardCommand(["--urls-file", join(dir, "missing.txt"), "--token", TOKEN])).toBe(2);
    expect(output.pop()).toMatch(/cannot read --urls-file .*missing\.txt \(ENOENT\)/);
    expect(await dashboardCommand(["--token", TOKEN])).toBe(2);
    expect(output.pop()).toMatch(/--url \(or --urls-file\) is required/);
  });
});
