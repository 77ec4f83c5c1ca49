import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(".");
const LIBRARIES = ["winston", "prom-client", "jose", "@opentelemetry/api", "class-validator", "class-validator-jsonschema", "rate-limiter-flexible"];

// Records every module the ES loader resolves (jose is an ES module; require.cache never sees it).
const RECORD_IMPORTS = `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.LANTERN_IMPORT_LOG, resolved.url + "\\n");
  return resolved;
}`)}`;

/**
 * Runs `steps` in one fresh Node process against the built package (imported first) and returns,
 * per step, the libraries that step loaded (the ones loaded before it excluded).
 */
function loadedPerStep(steps: Record<string, string>): Record<string, string[]> {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  const dir = mkdtempSync(join(tmpdir(), "lantern-lazy-"));
  const log = join(dir, "imports.log");
  const probe = `
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
register(${JSON.stringify(RECORD_IMPORTS)});
await import("reflect-metadata");
const require = createRequire(import.meta.url);
const libraries = ${JSON.stringify(LIBRARIES)};
const loaded = () => {
  const files = [...Object.keys(require.cache), ...(existsSync(process.env.LANTERN_IMPORT_LOG) ? readFileSync(process.env.LANTERN_IMPORT_LOG, "utf8").split("\\n") : [])];
  return libraries.filter((name) => files.some((file) => file.includes("/node_modules/" + name + "/")));
};
const lantern = await import(${JSON.stringify(join(ROOT, "dist/index.js"))});
console.log(JSON.stringify(["import", loaded()]));
${Object.entries(steps)
  .map(([name, script]) => `{\n${script}\n}\nconsole.log(JSON.stringify([${JSON.stringify(name)}, loaded()]));`)
  .join("\n")}`;
  try {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8", env: { ...process.env, LANTERN_IMPORT_LOG: log } });
    const snapshots = out.trim().split("\n").filter((line) => line.startsWith("[")).map((line) => JSON.parse(line) as [string, string[]]);
    const perStep: Record<string, string[]> = {};
    let before: string[] = [];
    for (const [name, now] of snapshots) {
      perStep[name] = now.filter((library) => !before.includes(library));
      before = now;
    }
    return perStep;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("importing lantern-mcp loads each library only when a part that needs it is used", () => {
  const loaded = loadedPerStep({
    "JWTAuth made": `globalThis.auth = new lantern.JWTAuth({ secret: "a-secret-of-at-least-thirty-two-bytes-long" });`,
    "first token verified": `await globalThis.auth.verify("not.a.jwt").catch(() => {});`,
    "OTelMiddleware made": `new lantern.OTelMiddleware({ serviceName: "lazy" });`,
    "StructuredLoggingMiddleware made": `globalThis.logging = new lantern.StructuredLoggingMiddleware();`,
    "logged server built": `
const server = new lantern.McpServer({ name: "logged", version: "1.0.0" });
server.use(globalThis.logging);
await server.build();
await server.close();`,
    "PrometheusMiddleware made": `new lantern.PrometheusMiddleware({ namespace: "lazy" });`,
    "server with memory quotas built": `
const server = new lantern.McpServer({ name: "limited", version: "1.0.0" });
server.use(new lantern.QuotaMiddleware({ roles: { free: { points: 5, per: "1d" } } }));
await server.build();
await server.close();`,
    "server with a tool built": `
const { IsString } = await import("class-validator");
class Echo {}
IsString()(Echo.prototype, "text");
const server = new lantern.McpServer({ name: "plain", version: "1.0.0" });
server.addTool({ name: "echo", description: "Echo", input: Echo, handler: (input) => input.text });
await server.build();`,
  });
  expect(loaded).toEqual({
    import: [],
    "JWTAuth made": [],
    "first token verified": ["jose"],
    "OTelMiddleware made": ["@opentelemetry/api"],
    "StructuredLoggingMiddleware made": [],
    "logged server built": ["winston"],
    "PrometheusMiddleware made": ["prom-client"],
    // Memory limits are Lantern's own: rate-limiter-flexible is for limits kept in Redis.
    "server with memory quotas built": [],
    // The user's input classes load class-validator themselves; Lantern reads their rules when the server is built.
    "server with a tool built": ["class-validator", "class-validator-jsonschema"],
  });
});

test("prom-client loads the OpenTelemetry API itself (for exemplars): a PrometheusMiddleware alone loads both", () => {
  expect(loadedPerStep({ made: `new lantern.PrometheusMiddleware({ namespace: "lazy" });` })).toEqual({ import: [], made: ["prom-client", "@opentelemetry/api"] });
});
