import {
  specTypeSchemas,
  type CallToolResult,
  type GetPromptResult,
  type PromptMessage,
  type ReadResourceResult,
} from "@modelcontextprotocol/server";
import { isCallToolResult, isContentBlock, type ContentBlock } from "./content.js";
import { clientMessageOf, ToolError, UnsendableResultError } from "./errors.js";
import { NotJsonError, toJsonValue } from "./json-value.js";

/*
 * Lantern owns the boundary between what a handler returns and what the client gets: every result
 * is shaped here, with JSON's semantics (what the client receives is what these functions return),
 * and checked against the protocol's result shape where the handler built the shape itself. A value
 * that cannot be sent throws UnsendableResultError, which the call's innermost step turns into the
 * outcome every middleware sees.
 */

type Kind = "tool" | "resource" | "prompt";

/** The error, naming the member (`tool "search"`); built only when something is wrong. */
function unsendable(kind: Kind, name: string, reason: string): UnsendableResultError {
  return new UnsendableResultError(`The ${kind} "${name}" returned a result that cannot be sent: ${reason}`);
}

/** {@link toJsonValue}, with the failure told as the member's. */
function jsonOf(value: unknown, kind: Kind, name: string, at?: string): unknown {
  try {
    return toJsonValue(value);
  } catch (error) {
    if (!(error instanceof NotJsonError)) throw error;
    const where = at ? (error.at ? `${at}.${error.at}` : at) : error.at;
    throw unsendable(kind, name, `${error.what}${where ? ` at "${where}"` : ""} (${error.hint})`);
  }
}

type ResultSchema = (typeof specTypeSchemas)["CallToolResult" | "ReadResourceResult" | "GetPromptResult"];
const CallToolResultSchema = specTypeSchemas.CallToolResult;
const ReadResourceResultSchema = specTypeSchemas.ReadResourceResult;
const GetPromptResultSchema = specTypeSchemas.GetPromptResult;

/** Checks a result the handler shaped itself against the protocol's schema for it. */
function checkShape<T>(schema: ResultSchema, value: T, kind: Kind, name: string): T {
  const verdict = schema["~standard"].validate(value) as { issues?: readonly { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] }[] };
  if (!verdict.issues || verdict.issues.length === 0) return value;
  const step = (part: PropertyKey | { key: PropertyKey }) => String(typeof part === "object" ? part.key : part);
  const detail = verdict.issues.slice(0, 3).map((issue) => `${(issue.path ?? []).map(step).join(".") || "(result)"}: ${issue.message}`).join("; ");
  const method = kind === "tool" ? "tools/call" : kind === "resource" ? "resources/read" : "prompts/get";
  throw unsendable(kind, name, `it is not a valid ${method} result (${detail || "wrong shape"})`);
}

/**
 * What a tool's return value becomes on the wire (JSON semantics first: a `Date` is its ISO
 * string, anything with `toJSON` is what that returns):
 * - a string: one text block;
 * - a content block from a helper (`text`, `image`, ...) or an array of them: those blocks;
 * - a `CallToolResult`: passed through (its `structuredContent` as JSON);
 * - any other object: `structuredContent` plus the same JSON as a text block;
 * - an array: `structuredContent: { items: [...] }` (MCP requires an object) plus its JSON as text;
 * - undefined/null: no content; numbers and booleans: their text.
 *
 * A `Map`, a `Set`, a `BigInt`, a cycle or a malformed block throws {@link UnsendableResultError}
 * naming where it was.
 *
 * @example
 * toToolResult({ at: new Date(0) }, "now"); // structuredContent { at: "1970-01-01T00:00:00.000Z" } and its JSON as text
 */
export function toToolResult(value: unknown, name: string): CallToolResult {
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (value === undefined || value === null) return { content: [] };
  if (typeof value === "number" || typeof value === "boolean") return { content: [{ type: "text", text: String(value) }] };
  if (isContentBlock(value)) return checkShape(CallToolResultSchema, { content: [value] }, "tool", name);
  if (Array.isArray(value) && value.length > 0 && value.every(isContentBlock)) {
    return checkShape(CallToolResultSchema, { content: value as ContentBlock[] }, "tool", name);
  }
  if (isCallToolResult(value)) {
    if (value.structuredContent === undefined) return checkShape(CallToolResultSchema, value, "tool", name);
    const structured = jsonOf(value.structuredContent, "tool", name, "structuredContent");
    const result = structured === value.structuredContent ? value : { ...value, structuredContent: structured as Record<string, unknown> };
    return checkShape(CallToolResultSchema, result, "tool", name);
  }
  const json = jsonOf(value, "tool", name);
  if (typeof json === "string") return { content: [{ type: "text", text: json }] };
  if (json === undefined) throw unsendable("tool", name, `a ${typeof value}, which JSON cannot carry (return data: a string, a number, an object or an array)`);
  if (json === null) return { content: [] };
  if (typeof json !== "object") return { content: [{ type: "text", text: String(json) }] };
  const text = JSON.stringify(json);
  if (Array.isArray(json)) return { content: [{ type: "text", text }], structuredContent: { items: json } };
  return { content: [{ type: "text", text }], structuredContent: json as Record<string, unknown> };
}

/**
 * The `isError` result for an error a tool threw: only a {@link ToolError}'s message is shown. Its
 * `detail` travels as JSON; a detail JSON cannot carry is left out of the result and told to
 * `report` (the server log), while the message still reaches the client.
 */
export function toolErrorResult(error: unknown, report: (problem: UnsendableResultError) => void, name: string): CallToolResult {
  const result: CallToolResult = { content: [{ type: "text", text: clientMessageOf(error) }], isError: true };
  if (error instanceof ToolError && error.detail) {
    try {
      result.structuredContent = { error: jsonOf(error.detail, "tool", name, "structuredContent.error") };
    } catch (problem) {
      if (!(problem instanceof UnsendableResultError)) throw problem;
      report(problem);
    }
  }
  return result;
}

/**
 * What a resource method's return value becomes: a string is text, bytes are a base64 blob, an
 * object with `contents` passes through (checked against the protocol's shape), any other value is
 * its JSON as text (`application/json`). `undefined`, a `Map`, a `Set`, a `BigInt` or a cycle throw
 * {@link UnsendableResultError}.
 *
 * @example
 * toResourceResult({ ok: true }, "status://db", undefined); // { contents: [{ uri, text: '{"ok":true}', mimeType: "application/json" }] }
 */
export function toResourceResult(value: unknown, uri: string, mimeType: string | undefined): ReadResourceResult {
  if (typeof value === "string") return { contents: [{ uri, text: value, ...(mimeType ? { mimeType } : {}) }] };
  if (value instanceof Uint8Array) {
    return {
      contents: [{ uri, blob: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"), ...(mimeType ? { mimeType } : {}) }],
    };
  }
  if (typeof value === "object" && value !== null && Array.isArray((value as ReadResourceResult).contents)) {
    return checkShape(ReadResourceResultSchema, value as ReadResourceResult, "resource", uri);
  }
  const json = jsonOf(value, "resource", uri);
  if (json === undefined) {
    throw unsendable("resource", uri, `${value === undefined ? "undefined" : `a ${typeof value}`} (return a string, bytes, a JSON value or { contents })`);
  }
  return { contents: [{ uri, text: JSON.stringify(json), mimeType: mimeType ?? "application/json" }] };
}

/**
 * What a prompt method's return value becomes: a string is one user message, a message or array of
 * messages are used as they are, an object with `messages` passes through; each is checked against
 * the protocol's shape, and anything else throws {@link UnsendableResultError}.
 *
 * @example
 * toPromptResult("Summarise the leave policy", undefined, "leave_policy"); // { messages: [{ role: "user", content: { type: "text", text: ... } }] }
 */
export function toPromptResult(value: unknown, description: string | undefined, name: string): GetPromptResult {
  if (typeof value === "string") return promptResult([{ role: "user", content: { type: "text", text: value } }], description);
  let result: GetPromptResult | undefined;
  if (Array.isArray(value)) result = promptResult(value as PromptMessage[], description);
  else if (typeof value === "object" && value !== null) {
    if (Array.isArray((value as GetPromptResult).messages)) result = value as GetPromptResult;
    else if ("role" in value && "content" in value) result = promptResult([value as PromptMessage], description);
  }
  if (!result) throw unsendable("prompt", name, "a prompt returns a string, a message { role, content }, an array of messages or { messages }");
  return checkShape(GetPromptResultSchema, result, "prompt", name);
}

function promptResult(messages: PromptMessage[], description: string | undefined): GetPromptResult {
  return description ? { description, messages } : { messages };
}
