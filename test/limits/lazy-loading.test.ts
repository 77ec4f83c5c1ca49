import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(".");

/** Which of the limit libraries a fresh Node process has loaded after running `script` against the built package. */
function loadedAfter(script: string): { rateLimiterFlexible: boolean; ioredis: boolean } {
  if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
  const probe = `
import "reflect-metadata";
import { createRequire } from "node:module";
const lantern = await import(${JSON.stringify(join(ROOT, "dist/index.js"))});
${script}
const cache = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  rateLimiterFlexible: cache.some((k) => k.includes("/node_modules/rate-limiter-flexible/")),
  ioredis: cache.some((k) => k.includes("/node_modules/ioredis/")),
}));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", probe], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!);
}

test("a server without limits loads neither rate-limiter-flexible nor ioredis", () => {
  expect(loadedAfter(`await new lantern.McpServer({ name: "plain", version: "1.0.0" }).build();`)).toEqual({ rateLimiterFlexible: false, ioredis: false });
});

test("limits in memory load neither (memory counts are Lantern's own)", () => {
  const script = `
const server = new lantern.McpServer({ name: "memory", version: "1.0.0" });
server.use(new lantern.QuotaMiddleware({ limit: { points: 5, per: "1m" } }));
await server.build();`;
  expect(loadedAfter(script)).toEqual({ rateLimiterFlexible: false, ioredis: false });
});
