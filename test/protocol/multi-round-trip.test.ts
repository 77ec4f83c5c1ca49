import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, ProtocolError, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { IsString } from "class-validator";
import winston from "winston";
import { acceptedContent, CallContext, Elicitor, Inject, inputRequired, McpServer, Roots, Sampler, Server, Tool, type ElicitationForm } from "lantern-mcp";
import { createTestClient, createToken } from "lantern-mcp/testing";
import { createProductionServer } from "../../examples/production-api/stack.js";
import { jsonLineSink } from "../support/json-lines.js";

const AUDIT_SECRET = "multi-round-audit-secret-0123456789";
const JWT_SECRET = "multi-round-jwt-secret-0123456789abcdefgh";
const MODERN = "2026-07-28";

const tokenFor = (clientId: string) =>
  createToken({ secret: JWT_SECRET, clientId, subject: `${clientId}-user`, issuer: "lantern-dev", audience: "inventory-api", scopes: ["inventory:read", "inventory:write"] });

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

/** A 2026-07-28 tools/call as raw HTTP, with the envelope and the standard headers. */
async function modernCall(url: string, token: string, name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${token}`,
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "raw-client", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
        },
        ...extra,
      },
    }),
  });
  return { status: response.status, body: (await response.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string } } };
}

describe("multi-round-trip calls over HTTP (production example: discontinue_item asks the user to confirm)", () => {
  let dir: string;
  let server: McpServer;
  let url: string;
  let logLines: Record<string, unknown>[];

  beforeEach(async () => {
    exporter.reset();
    dir = mkdtempSync(join(tmpdir(), "lantern-mrtr-"));
    logLines = [];
    const sink = jsonLineSink(logLines);
    ({ server } = createProductionServer({
      auditPath: join(dir, "audit.jsonl"),
      auditSecret: AUDIT_SECRET,
      jwtSecret: JWT_SECRET,
      durability: "flush",
      logTransports: [new winston.transports.Stream({ stream: sink })],
    }));
    url = (await server.listen({ transport: "http", port: 0, handleSignals: false })).url!;
  });

  afterEach(async () => {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  const audit = () => readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);

  it("2026 era: the tool asks, the client answers, the tool runs again; audit, logs and spans tie the rounds into one call", async () => {
    const client = new Client({ name: "modern-agent", version: "1" }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN } } });
    const questions: string[] = [];
    client.setRequestHandler("elicitation/create", async (request) => {
      questions.push((request.params as { message: string }).message);
      return { action: "accept", content: { confirm: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${await tokenFor("modern-agent")}` } } }));
    const result = (await client.callTool({ name: "discontinue_item", arguments: { sku: "LMP-002" } })) as CallToolResult;
    await client.close();

    expect(result.structuredContent).toEqual({ sku: "LMP-002", discontinued: true, writtenOff: 7 });
    expect(questions).toEqual(["Discontinue Floor lamp (LMP-002)? 7 in stock will be written off."]);

    const rounds = audit().filter((e) => e.tool === "discontinue_item");
    expect(rounds.map((e) => [e.round, e.status, e.input_required])).toEqual([[1, "ok", ["confirm"]], [2, "ok", undefined]]);
    expect(rounds[0]!.correlation_id).toEqual(expect.any(String));
    expect(rounds[1]!.correlation_id).toBe(rounds[0]!.correlation_id);

    // A call's log line reaches the logger on the turn after its answer: wait for both rounds' (boundedly).
    for (let i = 0; i < 100 && logLines.filter((l) => l.tool === "discontinue_item").length < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    const lines = logLines.filter((l) => l.tool === "discontinue_item");
    expect(lines.map((l) => [l.round, l.correlation_id])).toEqual([[1, rounds[0]!.correlation_id], [2, rounds[0]!.correlation_id]]);

    const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.name === "tools/call discontinue_item");
    expect(spans).toHaveLength(2);
    const [first, second] = spans as [(typeof spans)[0], (typeof spans)[0]];
    expect(second.spanContext().traceId).toBe(first.spanContext().traceId);
    expect(second.links.map((l) => l.context.spanId)).toContain(first.spanContext().spanId);
    expect(first.attributes["lantern.input_required"]).toEqual(["confirm"]);
    expect(second.attributes["lantern.call.round"]).toBe(2);
    expect(second.attributes["lantern.correlation.id"]).toBe(rounds[0]!.correlation_id);
  });

  it("2026 era: a declined question changes nothing", async () => {
    const client = new Client({ name: "careful-agent", version: "1" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: MODERN } } });
    client.setRequestHandler("elicitation/create", async () => ({ action: "decline" }));
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${await tokenFor("careful-agent")}` } } }));
    const result = (await client.callTool({ name: "discontinue_item", arguments: { sku: "LMP-001" } })) as CallToolResult;
    expect(result.structuredContent).toEqual({ sku: "LMP-001", discontinued: false });
    const item = await client.readResource({ uri: "inventory://items/LMP-001" });
    expect(JSON.parse((item.contents[0] as { text: string }).text)).toMatchObject({ quantity: 42 });
    await client.close();
  });

  it("2026 era: a requestState that was changed, or that belongs to another caller, is refused with -32602", async () => {
    const alice = await tokenFor("alice");
    const first = await modernCall(url, alice, "discontinue_item", { sku: "LMP-001" });
    expect(first.status).toBe(200);
    expect(first.body.result).toMatchObject({ resultType: "input_required", inputRequests: { confirm: { method: "elicitation/create" } } });
    const state = first.body.result!.requestState as string;
    const answer = { confirm: { action: "accept", content: { confirm: true } } };

    const [body, mac] = state.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), n: "adjust_stock" })).toString("base64url");
    const tampered = await modernCall(url, alice, "discontinue_item", { sku: "LMP-001" }, { inputResponses: answer, requestState: `${forged}.${mac}` });
    expect(tampered.body.error).toMatchObject({ code: -32602, message: expect.stringContaining("requestState") });

    const mallory = await modernCall(url, await tokenFor("mallory"), "discontinue_item", { sku: "LMP-001" }, { inputResponses: answer, requestState: state });
    expect(mallory.body.error).toMatchObject({ code: -32602, message: expect.stringContaining("another caller") });

    // The refusals are calls the observability parts saw: audited as refused, nothing discontinued.
    const refused = audit().filter((e) => e.tool === "discontinue_item" && e.status !== "ok");
    expect(refused.map((e) => [e.client_id, e.error.type])).toEqual([["alice", "-32602"], ["mallory", "-32602"]]);

    const honest = await modernCall(url, alice, "discontinue_item", { sku: "LMP-001" }, { inputResponses: answer, requestState: state });
    expect(honest.body.result).toMatchObject({ structuredContent: { sku: "LMP-001", discontinued: true, writtenOff: 42 } });
  });

  it("2025 era: the same tool asks over the session (elicitation/create) and finishes in one call", async () => {
    const client = new LegacyClient({ name: "legacy-agent", version: "1" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { confirm: true } }));
    await client.connect(new LegacyTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${await tokenFor("legacy-agent")}` } } }));
    const result = await client.callTool({ name: "discontinue_item", arguments: { sku: "BLB-100" } });
    await client.close();
    expect(result.structuredContent).toEqual({ sku: "BLB-100", discontinued: true, writtenOff: 1200 });
    const entries = audit().filter((e) => e.tool === "discontinue_item");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: "ok", protocol_version: "2025-11-25" });
    expect(entries[0]!.round).toBeUndefined();
  });
});

const NOTE_FORM: ElicitationForm = { type: "object", properties: { note: { type: "string" } }, required: ["note"] };

class Topic {
  @IsString() topic!: string;
}

@Server({ name: "desk", version: "1.0.0" })
class Desk {
  /** The explicit form: return inputRequired(...), read the answers and the verified state on re-entry. */
  @Tool({ description: "Asks for a note, explicitly" })
  annotate(input: Topic, @Inject(CallContext) ctx: CallContext) {
    if (ctx.requestState === `asked:${input.topic}`) {
      const note = acceptedContent<{ note: string }>(ctx.inputResponses, "note");
      return `${input.topic}: ${note?.note ?? "(no note)"} (round ${ctx.round})`;
    }
    return inputRequired({ inputRequests: { note: inputRequired.elicit({ message: `A note on ${input.topic}?`, requestedSchema: NOTE_FORM }) }, requestState: `asked:${input.topic}` });
  }

  /** The replayed helpers, several questions at once. */
  @Tool({ description: "Asks the model and lists the roots" })
  async survey(@Inject(Sampler) sampler: Sampler, @Inject(Roots) roots: Roots) {
    const [answer, list] = await Promise.all([sampler.ask("Summarise the desk", { maxTokens: 20 }), roots.list()]);
    return `${answer} | ${list.map((r) => r.uri).join(",")}`;
  }
}

describe("multi-round-trip forms in process (createTestClient)", () => {
  const capabilities = { elicitation: {}, sampling: {}, roots: {} };
  const answer = (client: Client) => {
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { note: "tidy" } }));
    client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "a tidy desk" }, model: "test" }));
    client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///desk", name: "desk" }] }));
  };

  it.each(["modern", "legacy"] as const)("the explicit inputRequired form round-trips its own state (%s era)", async (era) => {
    const test = await createTestClient(Desk, { era, capabilities });
    answer(test.client);
    const result = await test.callTool("annotate", { topic: "lamps" });
    expect(result.content).toEqual([{ type: "text", text: "lamps: tidy (round 2)" }]);
    await test.close();
  });

  it.each(["modern", "legacy"] as const)("replayed helpers ask several questions in one round (%s era)", async (era) => {
    const test = await createTestClient(Desk, { era, capabilities });
    answer(test.client);
    const result = await test.callTool("survey");
    expect(result.content).toEqual([{ type: "text", text: "a tidy desk | file:///desk" }]);
    await test.close();
  });

  it("2026 era: asking a client that did not declare the capability is -32021", async () => {
    const test = await createTestClient(Desk, { era: "modern", capabilities: { roots: {} } });
    const error = await test.callTool("survey").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32021);
    expect((error as ProtocolError).data).toEqual({ requiredCapabilities: { sampling: {} } });
    await test.close();
  });

  it("2025 era: asking a client that did not declare the capability is an isError result naming it", async () => {
    const test = await createTestClient(Desk, { capabilities: { roots: {} } });
    const result = await test.callTool("survey");
    expect(result).toMatchObject({ isError: true, content: [{ type: "text", text: expect.stringContaining('"sampling" capability') }] });
    await test.close();
  });

  it("a state sealed by another server (another key) is refused", async () => {
    const one = new McpServer(Desk, { stateSecret: "one-secret-of-at-least-thirty-two-bytes!" });
    const two = new McpServer(Desk, { stateSecret: "two-secret-of-at-least-thirty-two-bytes!" });
    const first = await createTestClient(one, { era: "modern", capabilities });
    const raw = await first.client.callTool({ name: "annotate", arguments: { topic: "x" } }, { allowInputRequired: true } as never).catch((e: unknown) => e);
    await first.close();
    await one.close();
    const state = (raw as { requestState?: string }).requestState;
    expect(typeof state).toBe("string");
    const second = await createTestClient(two, { era: "modern", capabilities });
    const refused = await second.client
      .callTool({ name: "annotate", arguments: { topic: "x" }, inputResponses: { note: { action: "accept", content: { note: "n" } } }, requestState: state } as never)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProtocolError);
    expect((refused as ProtocolError).code).toBe(-32602);
    expect((refused as ProtocolError).message).toContain("signature");
    await second.close();
    await two.close();
  });
});
