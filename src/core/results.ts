import type {
  CallToolResult,
  GetPromptResult,
  PromptMessage,
  ReadResourceResult,
} from "@modelcontextprotocol/server";
import { isCallToolResult, isContentBlock, type ContentBlock } from "./content.js";
import { clientMessageOf, ToolError } from "./errors.js";

/**
 * What a tool's return value becomes on the wire:
 * - a string: one text block;
 * - a content block from a helper (`text`, `image`, ...) or an array of them: those blocks;
 * - a `CallToolResult`: passed through;
 * - any other object: `structuredContent` plus the same JSON as a text block;
 * - an array: `structuredContent: { items: [...] }` (MCP requires an object) plus its JSON as text;
 * - undefined/null: no content; numbers and booleans: their text.
 */
export function toToolResult(value: unknown): CallToolResult {
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (value === undefined || value === null) return { content: [] };
  if (isContentBlock(value)) return { content: [value] };
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isContentBlock)) return { content: value as ContentBlock[] };
    return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: { items: value } };
  }
  if (typeof value === "object") {
    if (isCallToolResult(value)) return value;
    const json = JSON.stringify(value);
    // Class instances travel as the plain data they serialise to (the protocol wants a plain record).
    const proto = Object.getPrototypeOf(value);
    const structured = proto === Object.prototype || proto === null ? value : JSON.parse(json);
    return { content: [{ type: "text", text: json }], structuredContent: structured as Record<string, unknown> };
  }
  return { content: [{ type: "text", text: String(value) }] };
}

/** The `isError` result for an error a tool threw: only a {@link ToolError}'s message is shown. */
export function toolErrorResult(error: unknown): CallToolResult {
  const result: CallToolResult = { content: [{ type: "text", text: clientMessageOf(error) }], isError: true };
  if (error instanceof ToolError && error.detail) result.structuredContent = { error: error.detail };
  return result;
}

/**
 * What a resource method's return value becomes: a string is text, bytes are a base64 blob, an
 * object with `contents` passes through, any other object is JSON text.
 */
export function toResourceResult(value: unknown, uri: string, mimeType: string | undefined): ReadResourceResult {
  if (typeof value === "string") return { contents: [{ uri, text: value, ...(mimeType ? { mimeType } : {}) }] };
  if (value instanceof Uint8Array) {
    return {
      contents: [{ uri, blob: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64"), ...(mimeType ? { mimeType } : {}) }],
    };
  }
  if (typeof value === "object" && value !== null && Array.isArray((value as ReadResourceResult).contents)) {
    return value as ReadResourceResult;
  }
  return { contents: [{ uri, text: JSON.stringify(value), mimeType: mimeType ?? "application/json" }] };
}

/**
 * What a prompt method's return value becomes: a string is one user message, a message or array of
 * messages are used as they are, an object with `messages` passes through.
 */
export function toPromptResult(value: unknown, description: string | undefined): GetPromptResult {
  const withDescription = (messages: PromptMessage[]): GetPromptResult => (description ? { description, messages } : { messages });
  if (typeof value === "string") return withDescription([{ role: "user", content: { type: "text", text: value } }]);
  if (Array.isArray(value)) return withDescription(value as PromptMessage[]);
  if (typeof value === "object" && value !== null) {
    if (Array.isArray((value as GetPromptResult).messages)) return value as GetPromptResult;
    if ("role" in value && "content" in value) return withDescription([value as PromptMessage]);
  }
  throw new TypeError("A prompt must return a string, a message { role, content }, an array of messages or { messages }");
}
