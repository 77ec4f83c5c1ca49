import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(".");
const LIBRARIES = ["winston", "prom-client", "jose", "@opentelemetry/api", "class-validator", "class-validator-jsonschema"] as const;
type Library = (typeof LIBRARIES)[number];

// Records every module the ES loader resolves (jose is an ES module; require.cache never sees it).
const RECORD_IMPORTS = `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.LANTERN_IMPORT_LOG, resolved.url + "\\n");
  return resolved;
}`)}`;

/** Which of the libraries a fresh Node process has loaded after importing the built package and running `script`. */
function loadedAfter(script: string): Library[] {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  const dir = mkdtempSync(join(tmpdir(), "lantern-lazy-"));
  const log = join(dir, "imports.log");
  const probe = `
import { createRequire, register } from "node:module";
register(${JSON.stringify(RECORD_IMPORTS)});
await import("reflect-metadata");
const lantern = await import(${JSON.stringify(join(ROOT, "dist/index.js"))});
${script}
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  try {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8", env: { ...process.env, LANTERN_IMPORT_LOG: log } });
    const files = [...JSON.parse(out.trim().split("\n").pop()!), ...(existsSync(log) ? readFileSync(log, "utf8").split("\n") : [])] as string[];
    return LIBRARIES.filter((name) => files.some((file) => file.includes(`/node_modules/${name}/`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("importing lantern-mcp loads a library only when a part that needs it is used", () => {
  it("the import alone loads none of them", () => {
    expect(loadedAfter("")).toEqual([]);
  });

  it("a server with one tool and no middleware loads only class-validator and its schema generator", () => {
    const script = `
const { IsString } = await import("class-validator");
class Echo {}
IsString()(Echo.prototype, "text");
const server = new lantern.McpServer({ name: "plain", version: "1.0.0" });
server.addTool({ name: "echo", description: "Echo", input: Echo, handler: (input) => input.text });
await server.build();`;
    expect(loadedAfter(script)).toEqual(["class-validator", "class-validator-jsonschema"]);
  });

  it("a PrometheusMiddleware loads prom-client when it is made (prom-client loads the OpenTelemetry API itself, for exemplars)", () => {
    expect(loadedAfter(`new lantern.PrometheusMiddleware({ namespace: "lazy" });`)).toEqual(["prom-client", "@opentelemetry/api"]);
  });

  it("an OTelMiddleware loads the OpenTelemetry API when it is made", () => {
    expect(loadedAfter(`new lantern.OTelMiddleware({ serviceName: "lazy" });`)).toEqual(["@opentelemetry/api"]);
  });

  it("a StructuredLoggingMiddleware loads winston when its server is built", () => {
    const made = `const logging = new lantern.StructuredLoggingMiddleware();`;
    const built = `${made}
const server = new lantern.McpServer({ name: "logged", version: "1.0.0" });
server.use(logging);
await server.build();
await server.close();`;
    expect(loadedAfter(made)).toEqual([]);
    expect(loadedAfter(built)).toEqual(["winston"]);
  });

  it("a JWTAuth loads jose with the first token it verifies", () => {
    const made = `const auth = new lantern.JWTAuth({ secret: "a-secret-of-at-least-thirty-two-bytes-long" });`;
    expect(loadedAfter(made)).toEqual([]);
    expect(loadedAfter(`${made}\nawait auth.verify("not.a.jwt").catch(() => {});`)).toEqual(["jose"]);
  });
});
