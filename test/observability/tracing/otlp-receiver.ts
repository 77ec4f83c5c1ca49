import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** An OTLP attribute value as the JSON encoding carries it. */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}

interface KeyValue {
  key: string;
  value: AnyValue;
}

/** A span as received, decoded into plain values. */
export interface ReceivedSpan {
  resource: Record<string, unknown>;
  scope: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client, ... */
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
}

/** A metric as received: name, unit and each data point's attributes. */
export interface ReceivedMetric {
  resource: Record<string, unknown>;
  name: string;
  unit: string | undefined;
  points: { attributes: Record<string, unknown>; count?: number | string; explicitBounds?: number[] }[];
}

export interface OtlpReceiver {
  /** The base URL to give an exporter (`/v1/traces` and `/v1/metrics` are appended). */
  url: string;
  spans: ReceivedSpan[];
  metrics: ReceivedMetric[];
  /** Requests that could not be decoded (a test asserts this stays empty). */
  rejected: string[];
  close(): Promise<void>;
}

const valueOf = (v: AnyValue): unknown => {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
};

const attributesOf = (list: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** Request bodies past this are refused: the receiver is a test tool, not a sink for anything. */
const MAX_BODY = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A minimal OTLP/HTTP receiver for tests: accepts the JSON encoding that
 * `@opentelemetry/exporter-*-otlp-http` sends (gzip or not) on 127.0.0.1, and decodes spans and
 * metrics into plain objects.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const rejected: string[] = [];
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method !== "POST") throw new Error(`${req.method} ${req.url}`);
      let body = await readBody(req);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (!String(req.headers["content-type"]).startsWith("application/json")) throw new Error(`content-type ${req.headers["content-type"]}`);
      const payload = JSON.parse(body.toString("utf8"));
      if (req.url === "/v1/traces") decodeTraces(payload, spans);
      else if (req.url === "/v1/metrics") decodeMetrics(payload, metrics);
      else throw new Error(`unknown path ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    } catch (error) {
      rejected.push(String(error));
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(error) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metrics,
    rejected,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function decodeTraces(payload: { resourceSpans?: unknown[] }, into: ReceivedSpan[]): void {
  for (const rs of (payload.resourceSpans ?? []) as { resource?: { attributes?: KeyValue[] }; scopeSpans?: unknown[] }[]) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of (rs.scopeSpans ?? []) as { scope?: { name?: string }; spans?: unknown[] }[]) {
      for (const s of (ss.spans ?? []) as Record<string, unknown>[]) {
        into.push({
          resource,
          scope: ss.scope?.name ?? "",
          name: s.name as string,
          kind: s.kind as number,
          traceId: s.traceId as string,
          spanId: s.spanId as string,
          parentSpanId: (s.parentSpanId as string | undefined) || undefined,
          attributes: attributesOf(s.attributes as KeyValue[]),
          status: (s.status as ReceivedSpan["status"]) ?? {},
          events: ((s.events as { name: string; attributes?: KeyValue[] }[]) ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
        });
      }
    }
  }
}

function decodeMetrics(payload: { resourceMetrics?: unknown[] }, into: ReceivedMetric[]): void {
  for (const rm of (payload.resourceMetrics ?? []) as { resource?: { attributes?: KeyValue[] }; scopeMetrics?: unknown[] }[]) {
    const resource = attributesOf(rm.resource?.attributes);
    for (const sm of (rm.scopeMetrics ?? []) as { metrics?: Record<string, unknown>[] }[]) {
      for (const m of sm.metrics ?? []) {
        const data = (m.histogram ?? m.sum ?? m.gauge) as { dataPoints?: Record<string, unknown>[] } | undefined;
        into.push({
          resource,
          name: m.name as string,
          unit: m.unit as string | undefined,
          points: (data?.dataPoints ?? []).map((p) => ({
            attributes: attributesOf(p.attributes as KeyValue[]),
            count: p.count as number | undefined,
            explicitBounds: p.explicitBounds as number[] | undefined,
          })),
        });
      }
    }
  }
}
