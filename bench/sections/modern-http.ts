import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { cpuSeconds, envInteger, median, type Measurement, type SectionResult } from "../harness.js";
import { peerScript } from "../peer-systems.js";
import { benchFetch } from "../http-systems.js";

async function startServer(kind: "lantern" | "sdk"): Promise<{ child: ChildProcess; url: string }> {
  const script = kind === "sdk" ? peerScript("sdk-http-server.js") : fileURLToPath(new URL("../processes/modern-http-server.js", import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk) => {
      seen += chunk;
      const match = /LISTENING (\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`the ${kind} benchmark server exited with ${code}`)));
  });
  return { child, url };
}

/**
 * A trivial tool over Streamable HTTP in the 2026-07-28 era (every call one stateless request):
 * Lantern with no middleware against the SDK v2's own handler with a plain McpServer factory, each
 * server in its own process, one SDK v2 client pinned to 2026-07-28. Server CPU per call is read
 * from /proc; rounds alternate the two servers.
 */
export async function modernHttpSection(): Promise<SectionResult> {
  const calls = envInteger("BENCH_MODERN_CALLS", 1500);
  const rounds = envInteger("BENCH_ROUNDS", 7);
  const systems: { kind: "sdk" | "lantern"; server: { child: ChildProcess; url: string }; client: Client; cpu: number[]; wall: number[] }[] = [];
  const call = (client: Client) => client.callTool({ name: "echo", arguments: { text: "hello" } });
  try {
    // One at a time, each kept as soon as it runs: a server that fails to start leaves none behind.
    for (const kind of ["sdk", "lantern"] as const) {
      const server = await startServer(kind);
      const client = new Client({ name: "bench", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
      systems.push({ kind, server, client, cpu: [], wall: [] });
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { fetch: benchFetch }));
    }
    for (const s of systems) for (let i = 0; i < 500; i++) await call(s.client);
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 === 0 ? systems : [...systems].reverse()) {
        const cpu0 = cpuSeconds(s.server.child.pid!);
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await call(s.client);
        s.wall.push(((performance.now() - t0) * 1000) / calls);
        s.cpu.push(((cpuSeconds(s.server.child.pid!) - cpu0) * 1e6) / calls);
      }
    }
  } finally {
    for (const s of systems) {
      await s.client.close().catch(() => {});
      s.server.child.kill("SIGKILL");
    }
  }
  const rows: Measurement[] = systems.map((s) => ({
    name: s.kind === "sdk" ? "sdk v2 createMcpHandler" : "lantern (no middleware)",
    p50Us: median(s.wall),
    p99Us: Math.max(...s.wall),
    callsPerSec: 1e6 / median(s.wall),
    extra: { "server cpu µs/call": median(s.cpu) },
  }));
  const [sdk, lantern] = rows as [Measurement, Measurement];
  const cpuRatio = (lantern.extra!["server cpu µs/call"] as number) / (sdk.extra!["server cpu µs/call"] as number);
  return {
    title: "2026-07-28 era over HTTP: trivial tool, 1 client, each server in its own process",
    baseline: "sdk v2 createMcpHandler",
    rows,
    notes: [
      `server CPU per call, lantern / sdk v2: ${cpuRatio.toFixed(3)}× (target ≤ 1.10×); p50/p99 columns are the median and worst per-call wall time of a round`,
    ],
  };
}
