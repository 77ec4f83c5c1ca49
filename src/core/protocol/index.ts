export { ClientCapabilityError } from "./client-capability-error.js";
export { CompletionTable, type Completer, type CompletionContext, type CompletionValues } from "./completions.js";
export { Complete, type CompletionTarget } from "../decorators/complete.js";
export { Elicitor, type ElicitationAnswer, type ElicitationForm } from "./elicitor.js";
export { JSON_SCHEMA_2020_12 } from "./json-schema-dialect.js";
export { Sampler, type SamplingOptions } from "./sampler.js";
export { Roots } from "./roots.js";
export { InputRequiredSignal } from "./input-exchange.js";
export { MAX_SUBSCRIPTIONS_PER_SESSION, ResourceUpdates } from "./subscriptions.js";
export { StreamControl } from "./stream-control.js";
export { InMemoryEventStore, type InMemoryEventStoreOptions } from "../../transports/in-memory-event-store.js";
/**
 * The explicit form of multi-round-trip calls (MCP 2026-07-28), from the official SDK: return
 * `inputRequired({ inputRequests, requestState })` from a tool, resource or prompt, and read the
 * answers on re-entry from `ctx.inputResponses` with `acceptedContent` / `inputResponse`.
 */
export { acceptedContent, inputRequired, inputResponse } from "@modelcontextprotocol/server";
