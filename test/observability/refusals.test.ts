import "reflect-metadata";
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import winston from "winston";
import { AuthMiddleware, JWTAuth, McpServer, PrometheusMiddleware, StructuredLoggingMiddleware } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";

const SECRET = "refusals-test-secret-0123456789abcdefgh";
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** Requests refused before they became a call still leave a trace: counted (bounded labels) and logged (rate-limited). */
test("failed authentications and unknown names are counted in Prometheus and logged, a flood of them only up to a rate", async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = new McpServer({ name: "refusals", version: "1.0.0" });
  server.addTool({ name: "ping", description: "Answers pong", handler: () => "pong" });
  const prometheus = new PrometheusMiddleware({ registry: new Registry() });
  server.use(new StructuredLoggingMiddleware({ transports: [new winston.transports.Stream({ stream: sink })] }));
  server.use(prometheus);
  server.use(new AuthMiddleware(new JWTAuth({ secret: SECRET }, { audience: "refusals" })));
  const running = await server.listen({ transport: "http", port: 0, handleSignals: false });
  try {
    const post = (authorization: string, body: unknown, extra: Record<string, string> = {}) =>
      fetch(running.url!, { method: "POST", headers: { ...HEADERS, authorization, ...extra }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const FLOOD = 40;
    for (let i = 0; i < FLOOD; i++) expect((await post("Bearer not-a-token", { jsonrpc: "2.0", id: i, method: "tools/list" })).status).toBe(401);

    const token = await createToken({ secret: SECRET, clientId: "prober", audience: "refusals" });
    const call = (name: string) => ({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name,
        arguments: {},
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} },
      },
    });
    const unknown = await post(`Bearer ${token}`, call("no_such_tool"), { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "no_such_tool" });
    expect(unknown.text).toContain("Unknown tool: no_such_tool");

    const metrics = await prometheus.getMetricsText();
    expect(metrics).toContain(`mcp_refused_requests_total{reason="unauthorized"} ${FLOOD}`);
    expect(metrics).toContain('mcp_refused_requests_total{reason="unknown_tool"} 1');
    expect(metrics).toContain('mcp_refused_requests_total{reason="unknown_prompt"} 0');
    // The name asked for is never a label value.
    expect(metrics).not.toContain("no_such_tool");

    await new Promise((resolve) => setImmediate(resolve));
    const refusals = lines.filter((l) => l.event === "request_refused");
    const unauthorized = refusals.filter((l) => l.reason === "unauthorized");
    expect(unauthorized.length).toBeGreaterThanOrEqual(1);
    // At most 10 a second: the flood took a second or two, so it cannot have logged every one.
    expect(unauthorized.length).toBeLessThan(FLOOD);
    expect(refusals.find((l) => l.reason === "unknown_tool")).toMatchObject({ client_id: "prober", detail: "no_such_tool", transport: "http" });
  } finally {
    await server.close(500);
  }
});
