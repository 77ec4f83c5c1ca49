// Runs `npm ci` when dependencies are missing or older than package-lock.json, so that `npm start`
// and `npm test` work on a fresh clone by themselves. `node scripts/ensure-installed.mjs bench/peers`
// does the same for the benchmark's peer frameworks, a package of their own.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".";
const marker = join(dir, "node_modules/.package-lock.json");
const lock = join(dir, "package-lock.json");
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.error(`[lantern] installing dependencies of ${dir === "." ? "lantern-mcp" : dir} (npm ci)...`);
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit", cwd: dir });
}
