#!/usr/bin/env node
// `npm run test:inspector`: MCP Inspector 2.12 (`--cli`, a real client shipped by the MCP project)
// against Lantern's examples, in every protocol era it offers (`--protocol-era modern`, `auto`,
// and its default), over HTTP with a bearer token (examples/production-api) and over stdio
// (examples/hr-api). Installs Node 22 and the Inspector into .cache/ (see node22-tools.mjs), builds
// Lantern unless `--no-build`, and ends with "N passed, M failed".
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installWithNode22, must, node22, root, run } from "./node22-tools.mjs";

const INSPECTOR_VERSION = "2.12.0";
const ERAS = [["modern", ["--protocol-era", "modern"]], ["auto", ["--protocol-era", "auto"]], ["default", []]];
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const node = node22("inspector");
const inspector = join(installWithNode22("inspector", node, "inspector", "@modelcontextprotocol/inspector", INSPECTOR_VERSION), "clients", "launcher", "build", "index.js");
if (!process.argv.includes("--no-build")) must(run(npm, ["run", "build"]), "npm run build");

const home = mkdtempSync(join(tmpdir(), "lantern-inspector-home-"));
let passed = 0;
let failed = 0;

/** Runs one Inspector CLI invocation; resolves to its exit status and parsed JSON output. */
function inspect(target, args) {
  const result = spawnSync(node, [inspector, "--cli", ...target, "--format", "json", "--quiet", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    // Its own catalog and credentials go to a throwaway home; no browser, no interactive login.
    env: { ...process.env, HOME: home, CI: "true", MCP_AUTO_OPEN_ENABLED: "false" },
  });
  const parse = (text) => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  return { status: result.status, out: parse(result.stdout), err: parse(result.stderr), raw: `${result.stdout}\n${result.stderr}` };
}

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`  ✓ ${name}`);
  } else {
    failed++;
    console.log(`  ✗ ${name}\n      ${detail.slice(0, 600).replace(/\n/g, "\n      ")}`);
  }
}

const textOf = (result) => (result?.result?.content ?? []).map((c) => c.text ?? "").join("");

/** The same checks for every era and transport. */
function suite(label, target, era, calls) {
  console.log(`${label} (${era[0]})`);
  const list = inspect(target, [...era[1], "--method", "tools/list"]);
  const names = (list.out?.result?.tools ?? []).map((t) => t.name);
  check("tools/list", list.status === 0 && names.includes(calls.valid.tool), list.raw);
  const valid = inspect(target, [...era[1], "--method", "tools/call", "--tool-name", calls.valid.tool, "--tool-args-json", JSON.stringify(calls.valid.args)]);
  check("a valid tools/call", valid.status === 0 && textOf(valid.out).includes(calls.valid.expect), valid.raw);
  const invalid = inspect(target, [...era[1], "--method", "tools/call", "--tool-name", calls.valid.tool, "--tool-args-json", JSON.stringify(calls.invalid.args)]);
  // The Inspector prints a JSON-RPC error as { error: { message } } and exits non-zero.
  check("an invalid tools/call is refused naming the field", invalid.status !== 0 && invalid.raw.includes("Invalid arguments") && invalid.raw.includes(calls.invalid.field), invalid.raw);
  const toolError = inspect(target, [...era[1], "--method", "tools/call", "--tool-name", calls.toolError.tool, "--tool-args-json", JSON.stringify(calls.toolError.args)]);
  check("a ToolError is an isError result with its message", toolError.out?.result?.isError === true && textOf(toolError.out) === calls.toolError.expect, toolError.raw);
  const read = inspect(target, [...era[1], "--method", "resources/read", "--uri", calls.resource.uri]);
  check("resources/read", read.status === 0 && JSON.stringify(read.out ?? {}).includes(calls.resource.expect), read.raw);
  const prompt = inspect(target, [...era[1], "--method", "prompts/get", "--prompt-name", calls.prompt.name, "--prompt-args", ...Object.entries(calls.prompt.args).map(([k, v]) => `${k}=${v}`)]);
  check("prompts/get", prompt.status === 0 && JSON.stringify(prompt.out ?? {}).includes(calls.prompt.expect), prompt.raw);
}

/** Starts the production example on a free port with its own data folder; resolves to its URL and token. */
async function startProductionExample() {
  const dataDir = mkdtempSync(join(tmpdir(), "lantern-inspector-data-"));
  const child = spawn(process.execPath, [join(root, "dist-examples", "examples", "production-api", "main.js")], {
    cwd: root,
    env: { ...process.env, PORT: "0", LANTERN_DATA_DIR: dataDir, LANTERN_DASHBOARD: "0", LANTERN_AUDIT_SECRET: "", LANTERN_JWT_SECRET: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`the production example did not start: ${seen}`)), 30_000);
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const match = /MCP on (\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`the production example exited with ${code}: ${seen}`)));
  });
  child.stderr.resume();
  return { child, url, token: readFileSync(join(dataDir, "dev-token.txt"), "utf8").trim(), dataDir };
}

const http = await startProductionExample();
try {
  const target = [http.url, "--transport", "http", "--header", `Authorization: Bearer ${http.token}`];
  for (const era of ERAS) {
    suite("HTTP, production example, bearer token", target, era, {
      valid: { tool: "find_items", args: { query: "lamp" }, expect: "LMP-001" },
      invalid: { args: { query: "" }, field: "query" },
      toolError: { tool: "adjust_stock", args: { sku: "XXX-999", delta: 1, reason: "inspector check" }, expect: "No item with SKU XXX-999" },
      resource: { uri: "inventory://items/LMP-001", expect: "Desk lamp" },
      prompt: { name: "restock", args: { sku: "LMP-002" }, expect: "Floor lamp" },
    });
  }
  console.log("HTTP, production example, no token");
  for (const era of ERAS) {
    const refused = inspect([http.url, "--transport", "http", "--stored-auth-only"], [...era[1], "--method", "tools/list"]);
    check(`401 without a token (${era[0]})`, refused.status !== 0 && /401|unauthori[sz]ed|auth_required/i.test(refused.raw), refused.raw);
  }
} finally {
  // The server flushes its audit trail as it stops: wait for it before removing its folder.
  const exited = http.child.exitCode === null && http.child.signalCode === null ? new Promise((resolve) => http.child.once("exit", resolve)) : undefined;
  http.child.kill("SIGTERM");
  await exited;
  rmSync(http.dataDir, { recursive: true, force: true });
}

const stdio = [process.execPath, join(root, "dist-examples", "examples", "hr-api", "main.js"), "--stdio"];
for (const era of ERAS) {
  suite("stdio, hr-api example", stdio, era, {
    valid: { tool: "search_employees", args: { query: "a" }, expect: "employees" },
    invalid: { args: { query: "" }, field: "query" },
    toolError: { tool: "get_employee", args: { id: 999 }, expect: "No employee with id 999" },
    resource: { uri: "hr://employees/1", expect: "email" },
    prompt: { name: "onboarding", args: { name: "Ada" }, expect: "Ada" },
  });
}

rmSync(home, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
