import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { IsString } from "class-validator";
import winston from "winston";
import { Audited, AuditMiddleware, Logged, McpServer, Server, StructuredLoggingMiddleware, Tool } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

const AUDIT_SECRET = "test-audit-secret-0123456789abcdef";

class Patient {
  @IsString() name!: string;
  @IsString() SSN!: string;
  @IsString() dob!: string;
  @IsString() notes!: string;
}

@Server({ name: "clinic", version: "1.0.0" })
@Audited({ redact: ["notes"] })
@Logged({ redact: ["notes"] })
class Clinic {
  @Audited({ includeArgs: true, redact: ["DOB"] })
  @Logged({ includeArgs: true, redact: ["DOB"] })
  @Tool({ description: "Registers a patient" })
  register(input: Patient) {
    return `registered ${input.name}`;
  }
}

describe("redaction lists only grow, with one matching rule in logs and audit", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("server, class and method lists all apply, names compared without case, in the audit entry and the log line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lantern-redaction-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const logPath = join(dir, "audit.jsonl");
    let logged!: (line: Record<string, unknown>) => void;
    const callLine = new Promise<Record<string, unknown>>((resolve) => { logged = resolve; });
    const stream = new Writable({
      write(chunk, _enc, done) {
        const line = JSON.parse(String(chunk)) as Record<string, unknown>;
        if (line.event === "tool_call") logged(line);
        done();
      },
    });

    const server = new McpServer(Clinic)
      .use(new StructuredLoggingMiddleware({ redact: ["ssn"], transports: [new winston.transports.Stream({ stream })] }))
      .use(new AuditMiddleware({ logPath, hmacSecret: AUDIT_SECRET, redact: ["ssn"] }));
    const client = await createTestClient(server);
    cleanups.push(() => server.close(), () => client.close());
    await client.callTool("register", { name: "Ada", SSN: "123-45-6789", dob: "1815-12-10", notes: "private" });

    const expected = { name: "Ada", SSN: "[REDACTED]", dob: "[REDACTED]", notes: "[REDACTED]" };
    const entry = JSON.parse(readFileSync(logPath, "utf8").trim()) as { args: unknown };
    expect(entry.args).toEqual(expected);
    expect(readFileSync(logPath, "utf8")).not.toContain("123-45-6789");
    expect((await callLine).args).toEqual(expected);
  });
});
