import type {
  AudioContent,
  CallToolResult,
  EmbeddedResource,
  ImageContent,
  ResourceLink,
  TextContent,
} from "@modelcontextprotocol/server";

/** A content block made by one of the helpers below; tools may return one or an array of them. */
export type ContentBlock = TextContent | ImageContent | AudioContent | EmbeddedResource | ResourceLink;

const CONTENT = Symbol.for("lantern:content");

const brand = <T extends ContentBlock>(block: T): T => {
  Object.defineProperty(block, CONTENT, { value: true, enumerable: false });
  return block;
};

const base64 = (data: Uint8Array | string): string =>
  typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");

/** @example return [text("Done."), image(png, "image/png")]; */
export const text = (value: string): TextContent => brand({ type: "text", text: value });

/** Image content; `data` as bytes or base64. @example return image(pngBytes, "image/png"); */
export const image = (data: Uint8Array | string, mimeType: string): ImageContent =>
  brand({ type: "image", data: base64(data), mimeType });

/** Audio content; `data` as bytes or base64. @example return audio(wavBytes, "audio/wav"); */
export const audio = (data: Uint8Array | string, mimeType: string): AudioContent =>
  brand({ type: "audio", data: base64(data), mimeType });

/**
 * A resource embedded in the result: text, or bytes sent as a blob.
 * @example return embeddedResource("hr://policies/1", "# Leave policy", "text/markdown");
 */
export const embeddedResource = (uri: string, content: string | Uint8Array, mimeType?: string): EmbeddedResource =>
  brand({
    type: "resource",
    resource:
      typeof content === "string"
        ? { uri, text: content, ...(mimeType ? { mimeType } : {}) }
        : { uri, blob: base64(content), ...(mimeType ? { mimeType } : {}) },
  });

/** A link to a resource the client may read. @example return resourceLink("hr://policies/1", "Leave policy"); */
export const resourceLink = (uri: string, name: string, extra: Omit<ResourceLink, "type" | "uri" | "name"> = {}): ResourceLink =>
  brand({ type: "resource_link", uri, name, ...extra });

const CALL_TOOL_RESULT = Symbol.for("lantern:call-tool-result");

/**
 * A complete `CallToolResult`, passed to the client as it is.
 * @example return toolResult({ content: [text("partial")], isError: true });
 */
export const toolResult = (result: CallToolResult): CallToolResult => {
  Object.defineProperty(result, CALL_TOOL_RESULT, { value: true, enumerable: false });
  return result;
};

const isBranded = (value: unknown, mark: symbol): boolean =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[mark] === true;

/** True for a block made by a content helper. */
export const isContentBlock = (value: unknown): value is ContentBlock => isBranded(value, CONTENT);

/**
 * True for an object that is already a `CallToolResult`: made by {@link toolResult}, or a plain
 * object whose only keys are result keys and whose `content` is an array of typed blocks.
 */
export function isCallToolResult(value: unknown): value is CallToolResult {
  if (isBranded(value, CALL_TOOL_RESULT)) return true;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (!Array.isArray(record.content)) return false;
  for (const key of Object.keys(record)) {
    if (key !== "content" && key !== "structuredContent" && key !== "isError" && key !== "_meta") return false;
  }
  return record.content.every((block) => typeof block === "object" && block !== null && typeof (block as { type?: unknown }).type === "string");
}
