import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(".");

/**
 * Code outside the repository imports "lantern-mcp" and "lantern-mcp/testing" through the exports
 * map, types included — the way users do after `npm install lantern-mcp`.
 */
describe("the built package, used from outside the repository", () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
    dir = mkdtempSync(join(tmpdir(), "lantern-consumer-"));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(ROOT, join(dir, "node_modules", "lantern-mcp"), "dir");
    // What npm hoists next to lantern-mcp in a user's project.
    for (const dep of ["reflect-metadata", "class-validator", "class-transformer", "tsyringe", "@modelcontextprotocol"]) {
      symlinkSync(join(ROOT, "node_modules", dep), join(dir, "node_modules", dep), "dir");
    }
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
    writeFileSync(
      join(dir, "server.ts"),
      `import "reflect-metadata";
import { IsString } from "class-validator";
import { McpServer, Server, Tool, CallContext, Inject, type Middleware } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class Hello { @IsString() name!: string; }

@Server({ name: "consumer", version: "1.0.0" })
export class Consumer {
  @Tool({ description: "Greets" })
  hello(input: Hello, @Inject(CallContext) ctx: CallContext): string { return \`hello \${input.name} from \${ctx.name}\`; }
}

const log: Middleware = async (_ctx, next) => next();
const server: McpServer = new McpServer(Consumer).use(log);
const client: TestClient = await createTestClient(server);
const result = await client.callTool("hello", { name: "world" });
console.log(JSON.stringify(result.content));
await client.close();
await server.close();
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out",
          experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false, skipLibCheck: true,
          types: [], typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: ["server.ts"],
      }),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("type-checks against the published typings and runs", () => {
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir, stdio: "pipe" });
    const out = execFileSync(process.execPath, [join(dir, "out/server.js")], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out.trim())).toEqual([{ type: "text", text: "hello world from hello" }]);
  });

  it("exposes only the entry points of the exports map", () => {
    const probe = (specifier: string) =>
      execFileSync(process.execPath, ["--input-type=module", "-e", `import(${JSON.stringify(specifier)}).then(() => console.log("ok"), (e) => console.log(e.code))`], { cwd: dir, encoding: "utf8" }).trim();
    expect(probe("lantern-mcp")).toBe("ok");
    expect(probe("lantern-mcp/testing")).toBe("ok");
    expect(probe("lantern-mcp/dist/core/scanner.js")).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});
