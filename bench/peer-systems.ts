import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { HttpSystem } from "./http-systems.js";
import type { BenchClient } from "./systems.js";

/**
 * The frameworks Lantern is compared with live in `bench/peers`, a package of their own (installed
 * and compiled by `npm run bench`, so `npm ci` and `npm test` never install them): their adapters
 * are loaded from its build.
 */
const PEERS_DIST = new URL("../../bench/peers/dist/", import.meta.url);

/** The path of a compiled peer module (`sdk-http-server.js`, say), or a clear error when the peers are not built. */
export function peerScript(name: string): string {
  const path = fileURLToPath(new URL(name, PEERS_DIST));
  if (!existsSync(path)) throw new Error(`${path} is missing: run the benchmarks with \`npm run bench\`, which installs and builds bench/peers`);
  return path;
}

/** What the peers' adapters offer the full-stack section. */
export interface PeerSystems {
  fastMcpInMemory(): Promise<BenchClient>;
  startFastMcpHttp(): Promise<HttpSystem>;
  startMcpNestHttp(): Promise<HttpSystem>;
}

/**
 * Loads the peers' adapters (fastmcp, @rekog/mcp-nest).
 *
 * @example
 * const peers = await loadPeerSystems();
 * const fastmcp = await peers.startFastMcpHttp();
 */
export async function loadPeerSystems(): Promise<PeerSystems> {
  const fastmcp = (await import(peerScript("fastmcp.js"))) as Pick<PeerSystems, "fastMcpInMemory" | "startFastMcpHttp">;
  const nest = (await import(peerScript("mcp-nest.js"))) as Pick<PeerSystems, "startMcpNestHttp">;
  return { fastMcpInMemory: fastmcp.fastMcpInMemory, startFastMcpHttp: fastmcp.startFastMcpHttp, startMcpNestHttp: nest.startMcpNestHttp };
}
