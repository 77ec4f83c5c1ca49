import type { BaggageEntry, Context, SpanContext, TextMapGetter } from "@opentelemetry/api";
import type { CallContext } from "../../core/call-context.js";
import { openTelemetryApi } from "../../core/libraries.js";

/** Reads `params._meta` as a propagation carrier: only string values count. */
const metaGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === "string" ? value : undefined;
  },
};

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** W3C Baggage allows at most 180 entries; more is not baggage, it is an attack. */
const MAX_BAGGAGE_ENTRIES = 180;
const MAX_BAGGAGE_LENGTH = 8192;

/**
 * The context a call's span is parented on: what the client put in `params._meta` (`traceparent`,
 * `tracestate`, `baggage`), read through the configured global propagator; when none is
 * configured (a tracer provider handed straight to the middleware, no SDK `register()`), the W3C
 * formats are read here so a client's trace is still continued. No trace context: `active`.
 */
export function parentContextOf(ctx: CallContext, active: Context): Context {
  const carrier = carrierOf(ctx);
  if (!carrier) return active;
  const { propagation } = openTelemetryApi();
  if (propagation.fields().length > 0) return propagation.extract(active, carrier, metaGetter);
  return extractW3c(ctx, active);
}

/**
 * Where the call's trace context comes from: `params._meta`, or, on a later round of a
 * multi-round-trip call whose retry carries none, the first round's (from the sealed state).
 */
function carrierOf(ctx: CallContext): Readonly<Record<string, unknown>> | undefined {
  const meta = ctx.meta;
  if (meta && typeof meta.traceparent === "string") return meta;
  const continued = ctx.continuation;
  if (continued?.traceparent) return { traceparent: continued.traceparent, ...(continued.tracestate ? { tracestate: continued.tracestate } : {}) };
  return meta;
}

/**
 * The span context of a W3C `traceparent`, when it is a valid one (the first round's of a
 * multi-round-trip call, say).
 *
 * @example
 * const first = spanContextOf(ctx.continuation?.traceparent);
 */
export function spanContextOf(traceparent: string | undefined, tracestate?: string): SpanContext | undefined {
  return traceparent ? parseTraceparent(traceparent, tracestate) : undefined;
}

/** `00-<trace id>-<span id>-<flags>`: a span context as W3C `traceparent`. */
export function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

function extractW3c(ctx: CallContext, active: Context): Context {
  const carrier = ctx.traceCarrier;
  if (!carrier) return active;
  let result = active;
  const { propagation, trace } = openTelemetryApi();
  const parent = parseTraceparent(carrier.traceparent!, carrier.tracestate);
  if (parent) result = trace.setSpanContext(result, parent);
  if (carrier.baggage) {
    const entries = parseBaggage(carrier.baggage);
    if (entries) result = propagation.setBaggage(result, propagation.createBaggage(entries));
  }
  return result;
}

function parseTraceparent(traceparent: string, tracestate: string | undefined): SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  // Version ff is forbidden; version 00 has exactly four fields.
  if (version === "ff" || (version === "00" && rest)) return undefined;
  const { createTraceState, isSpanContextValid, TraceFlags } = openTelemetryApi();
  const spanContext: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

function parseBaggage(header: string): Record<string, BaggageEntry> | undefined {
  if (header.length > MAX_BAGGAGE_LENGTH) return undefined;
  const entries: Record<string, BaggageEntry> = {};
  let count = 0;
  for (const member of header.split(",")) {
    if (++count > MAX_BAGGAGE_ENTRIES) break;
    const [pair, ...properties] = member.split(";");
    const eq = pair!.indexOf("=");
    if (eq <= 0) continue;
    const key = pair!.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(pair!.slice(eq + 1).trim());
    } catch {
      continue;
    }
    entries[key] = properties.length
      ? { value, metadata: openTelemetryApi().baggageEntryMetadataFromString(properties.join(";")) }
      : { value };
  }
  return Object.keys(entries).length ? entries : undefined;
}
