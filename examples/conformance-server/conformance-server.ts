import "reflect-metadata";
import { Type } from "class-transformer";
import { IsOptional, IsString, ValidateNested } from "class-validator";
import { JSONSchema } from "class-validator-jsonschema";
import {
  audio,
  Complete,
  Elicitor,
  embeddedResource,
  image,
  Inject,
  Param,
  ProgressReporter,
  Prompt,
  Resource,
  ResourceUpdates,
  Sampler,
  Server,
  ServerLogger,
  StreamControl,
  text,
  Tool,
  ToolError,
  type ElicitationForm,
} from "lantern-mcp";
import { MINIMAL_WAV_BASE64, RED_PIXEL_PNG_BASE64 } from "./fixtures.js";

class SamplingInput {
  @IsString() @JSONSchema({ description: "The prompt to send to the client's LLM" })
  prompt!: string;
}

class ElicitationInput {
  @IsString() @JSONSchema({ description: "The message to show the user" })
  message!: string;
}

// Its $defs key is its class name, and the JSON Schema 2020-12 scenario looks for "address".
class address {
  @IsOptional() @IsString() street?: string;
  @IsOptional() @IsString() city?: string;
}

class JsonSchema2020Input {
  @IsOptional() @IsString() name?: string;
  @IsOptional() @ValidateNested() @Type(() => address) address?: address;
}

class PromptArguments {
  @IsString() @JSONSchema({ description: "First test argument" }) arg1!: string;
  @IsString() @JSONSchema({ description: "Second test argument" }) arg2!: string;
}

class EmbeddedResourceArguments {
  @IsString() @JSONSchema({ description: "URI of the resource to embed" }) resourceUri!: string;
}

const CONTACT_FORM: ElicitationForm = {
  type: "object",
  properties: {
    username: { type: "string", description: "Your user name" },
    email: { type: "string", description: "Your e-mail address" },
  },
  required: ["username"],
};

const FORM_WITH_DEFAULTS: ElicitationForm = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
    verified: { type: "boolean", description: "Verification status", default: true },
  },
  required: [],
};

const FORM_WITH_ENUMS: ElicitationForm = {
  type: "object",
  properties: {
    untitledSingle: { type: "string", description: "Select one option", enum: ["option1", "option2", "option3"] },
    titledSingle: {
      type: "string",
      description: "Select one option with titles",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Select one option (legacy)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Select multiple options",
      minItems: 1,
      maxItems: 3,
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Select multiple options with titles",
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
  required: [],
};

const WATCHED_URI = "test://watched-resource";

/**
 * Every tool, resource, template and prompt the MCP conformance suite's server scenarios call,
 * written with Lantern's decorators and injected helpers only.
 */
@Server({ name: "lantern-conformance-server", version: "1.0.0" })
export class ConformanceServer {
  private watchedContent = "Watched resource content";

  @Tool({ description: "Tests simple text content response" })
  testSimpleText() {
    return "This is a simple text response for testing.";
  }

  @Tool({ description: "Tests image content response" })
  testImageContent() {
    return image(RED_PIXEL_PNG_BASE64, "image/png");
  }

  @Tool({ description: "Tests audio content response" })
  testAudioContent() {
    return audio(MINIMAL_WAV_BASE64, "audio/wav");
  }

  @Tool({ description: "Tests embedded resource content response" })
  testEmbeddedResource() {
    return embeddedResource("test://embedded-resource", "This is an embedded resource content.", "text/plain");
  }

  @Tool({ description: "Tests response with multiple content types (text, image, resource)" })
  testMultipleContentTypes() {
    return [
      text("Multiple content types test:"),
      image(RED_PIXEL_PNG_BASE64, "image/png"),
      embeddedResource("test://mixed-content-resource", JSON.stringify({ test: "data", value: 123 }), "application/json"),
    ];
  }

  @Tool({ description: "Tests tool that emits log messages during execution" })
  async testToolWithLogging(@Inject(ServerLogger) logger: ServerLogger) {
    await logger.info("Tool execution started");
    await logger.info("Tool processing data");
    await logger.info("Tool execution completed");
    return "Tool with logging executed successfully";
  }

  @Tool({ description: "Tests tool that reports progress notifications" })
  async testToolWithProgress(@Inject(ProgressReporter) progress: ProgressReporter) {
    for (const step of [0, 50, 100]) await progress.report(step, 100, `Completed step ${step} of 100`);
    return "Progress reported";
  }

  @Tool({ description: "Tests error response handling" })
  testErrorHandling(): never {
    throw new ToolError("This tool intentionally returns an error for testing");
  }

  @Tool({ description: "Closes the SSE stream mid-call; the result arrives after the client reconnects (SEP-1699)" })
  testReconnection(@Inject(StreamControl) stream: StreamControl) {
    const closed = stream.closeStream();
    return `Reconnection test completed (stream ${closed ? "closed and resumed" : "kept open: not resumable"})`;
  }

  @Tool({ description: "Tests server-initiated sampling (LLM completion request)" })
  async testSampling(input: SamplingInput, @Inject(Sampler) sampler: Sampler) {
    const answer = await sampler.ask(input.prompt, { maxTokens: 100 });
    return `LLM response: ${answer}`;
  }

  @Tool({ description: "Tests server-initiated elicitation (user input request)" })
  async testElicitation(input: ElicitationInput, @Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form(input.message, CONTACT_FORM);
    return `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  }

  @Tool({ name: "test_elicitation_sep1034_defaults", description: "Tests elicitation with default values per SEP-1034" })
  async elicitWithDefaults(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form("Please review and update the form fields with defaults", FORM_WITH_DEFAULTS);
    return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  }

  @Tool({ name: "test_elicitation_sep1330_enums", description: "Tests elicitation with enum schema improvements per SEP-1330" })
  async elicitWithEnums(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form("Please select options from the enum fields", FORM_WITH_ENUMS);
    return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
  }

  @Tool({ name: "json_schema_2020_12_tool", description: "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)" })
  jsonSchema2020Tool(input: JsonSchema2020Input) {
    return `JSON Schema 2020-12 tool called with: ${JSON.stringify(input)}`;
  }

  @Tool({ description: "Changes test://watched-resource and tells its subscribers" })
  async updateWatchedResource(@Inject(ResourceUpdates) updates: ResourceUpdates) {
    this.watchedContent = `Watched resource content, updated at ${new Date().toISOString()}`;
    const told = await updates.notify(WATCHED_URI);
    return `Updated; ${told} subscriber(s) notified`;
  }

  @Resource("test://static-text", { name: "static-text", title: "Static Text Resource", description: "A static text resource for testing", mimeType: "text/plain" })
  staticText() {
    return "This is the content of the static text resource.";
  }

  @Resource("test://static-binary", { name: "static-binary", title: "Static Binary Resource", description: "A static binary resource (image) for testing", mimeType: "image/png" })
  staticBinary() {
    return Buffer.from(RED_PIXEL_PNG_BASE64, "base64");
  }

  @Resource("test://template/{id}/data", { name: "template", title: "Resource Template", description: "A resource template with parameter substitution", mimeType: "application/json" })
  templateData(@Param("id") id: string) {
    return { id, templateTest: true, data: `Data for ID: ${id}` };
  }

  @Resource(WATCHED_URI, { name: "watched-resource", title: "Watched Resource", description: "A resource clients can subscribe to", mimeType: "text/plain" })
  watched() {
    return this.watchedContent;
  }

  @Complete({ resourceTemplate: "test://template/{id}/data", argument: "id" })
  templateIds(value: string) {
    return ["1", "2", "3", "123"].filter((id) => id.startsWith(value));
  }

  @Prompt({ title: "Simple Test Prompt", description: "A simple prompt without arguments" })
  testSimplePrompt() {
    return "This is a simple prompt for testing.";
  }

  @Prompt({ title: "Prompt With Arguments", description: "A prompt with required arguments" })
  testPromptWithArguments(args: PromptArguments) {
    return `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`;
  }

  @Complete({ prompt: "test_prompt_with_arguments", argument: "arg1" })
  arg1Values(value: string) {
    return ["test", "testValue1", "other"].filter((v) => v.startsWith(value));
  }

  @Prompt({ title: "Prompt With Embedded Resource", description: "A prompt that includes an embedded resource" })
  testPromptWithEmbeddedResource(args: EmbeddedResourceArguments) {
    return [
      { role: "user", content: embeddedResource(args.resourceUri, "Embedded resource content for testing.", "text/plain") },
      { role: "user", content: text("Please process the embedded resource above.") },
    ];
  }

  @Prompt({ title: "Prompt With Image", description: "A prompt that includes image content" })
  testPromptWithImage() {
    return [
      { role: "user", content: image(RED_PIXEL_PNG_BASE64, "image/png") },
      { role: "user", content: text("Please analyze the image above.") },
    ];
  }
}
