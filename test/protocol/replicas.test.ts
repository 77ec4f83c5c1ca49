import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { startOtlpReceiver, type OtlpReceiver } from "../observability/tracing/otlp-receiver.js";
import { AUDIT_SECRET, auditPathIn, JWT_SECRET, readAudit, startServerProcess, stopServerProcess, tokenFor, type ServerProcess } from "../stress/stress-support.js";

/**
 * Three processes of the built production example behind no load balancer at all: one SDK v2
 * client in the 2026-07-28 era sends each request to the next replica (round robin, no
 * stickiness). Every call succeeds, a multi-round-trip call's rounds land on different replicas,
 * and its spans and audit entries share one trace id and one correlation id.
 */
const STATE_SECRET = "replicas-test-shared-state-secret-0123456789";

let receiver: OtlpReceiver;
const replicas: ServerProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), `lantern-replica-${i}-`));
    dirs.push(dir);
    replicas.push(
      await startServerProcess(dir, {
        LANTERN_AUDIT_SECRET: AUDIT_SECRET,
        LANTERN_JWT_SECRET: JWT_SECRET,
        LANTERN_STATE_SECRET: STATE_SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => stopServerProcess(r)));
  await receiver.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("any replica answers any request; the rounds of one call on different replicas are one trace and one correlation id", async () => {
  const token = await tokenFor("fleet-agent");
  let next = 0;
  const landed: number[] = [];
  const client = new Client({ name: "fleet-agent", version: "1" }, { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { confirm: true } }));
  await client.connect(
    new StreamableHTTPClientTransport(new URL(replicas[0]!.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      // Round robin: each request goes to the next replica, whatever the URL the client was given.
      fetch: (_url, init) => {
        const replica = next++ % replicas.length;
        landed.push(replica);
        return fetch(replicas[replica]!.url, init);
      },
    }),
  );
  for (let i = 0; i < 6; i++) {
    const found = (await client.callTool({ name: "find_items", arguments: { query: "lamp" } })) as CallToolResult;
    expect(found.isError).toBeFalsy();
    expect(JSON.stringify(found.structuredContent)).toContain("LMP-001");
  }
  const before = landed.length;
  const discontinued = (await client.callTool({ name: "discontinue_item", arguments: { sku: "LMP-002" } })) as CallToolResult;
  expect(discontinued.structuredContent).toEqual({ sku: "LMP-002", discontinued: true, writtenOff: 7 });
  const rounds = landed.slice(before);
  expect(rounds).toHaveLength(2);
  expect(rounds[0]).not.toBe(rounds[1]);
  await client.close();
  expect(new Set(landed).size).toBe(3);

  // Stopping the replicas flushes their audit logs and exports their spans.
  await Promise.all(replicas.map((r) => stopServerProcess(r)));
  const entries = dirs.flatMap((dir, replica) => readAudit(auditPathIn(dir)).map((entry) => ({ ...entry, replica }) as Record<string, any>));
  const calls = entries.filter((e) => e.tool === "find_items");
  expect(calls).toHaveLength(6);
  expect(new Set(calls.map((e) => e.replica)).size).toBe(3);
  const discontinueRounds = entries.filter((e) => e.tool === "discontinue_item").sort((a, b) => a.round - b.round);
  expect(discontinueRounds.map((e) => [e.replica, e.round, e.status])).toEqual([[rounds[0], 1, "ok"], [rounds[1], 2, "ok"]]);
  expect(discontinueRounds[0]!.input_required).toEqual(["confirm"]);
  expect(discontinueRounds[1]!.correlation_id).toBe(discontinueRounds[0]!.correlation_id);

  const spans = receiver.spans.filter((s) => s.name === "tools/call discontinue_item");
  expect(spans).toHaveLength(2);
  expect(spans[1]!.traceId).toBe(spans[0]!.traceId);
  const correlation = spans.map((s) => s.attributes["lantern.correlation.id"]);
  expect(correlation).toEqual([discontinueRounds[0]!.correlation_id, discontinueRounds[0]!.correlation_id]);
}, 60_000);
