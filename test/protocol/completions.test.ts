import "reflect-metadata";
import { ProtocolErrorCode as ErrorCode, ProtocolError as McpError } from "@modelcontextprotocol/client";
import { IsOptional, IsString } from "class-validator";
import { Complete, DefinitionError, McpServer, Param, Prompt, Resource, Server, type CompletionContext } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class ReviewArgs {
  @IsString() language!: string;
  @IsOptional() @IsString() framework?: string;
}

const LANGUAGES = ["python", "perl", "php", "typescript"];

@Server({ name: "completions", version: "1.0.0" })
class CompletingServer {
  @Prompt({ description: "Review code" })
  reviewCode(args: ReviewArgs) {
    return `Review this ${args.language} code`;
  }

  @Complete({ prompt: "review_code", argument: "language" })
  languages(value: string, context: CompletionContext) {
    // The other arguments narrow the suggestions: a Django review is a Python one.
    if (context.arguments.framework === "django") return ["python"].filter((l) => l.startsWith(value));
    return LANGUAGES.filter((l) => l.startsWith(value));
  }

  @Resource("files://{name}", { mimeType: "text/plain" })
  file(@Param("name") name: string) {
    return name;
  }

  @Complete({ resourceTemplate: "files://{name}", argument: "name" })
  fileNames(value: string) {
    const all = Array.from({ length: 150 }, (_, i) => `${value}${i}`);
    return { values: all, total: 1000 };
  }
}

describe("completion/complete", () => {
  let client: TestClient;
  afterEach(() => client.close());

  it("declares the completions capability and answers prompt arguments through the @Complete method", async () => {
    const server = new McpServer(CompletingServer);
    client = await createTestClient(server);
    expect(client.client.getServerCapabilities()?.completions).toEqual({});
    const result = await client.client.complete({
      ref: { type: "ref/prompt", name: "review_code" },
      argument: { name: "language", value: "p" },
    });
    expect(result.completion).toEqual({ values: ["python", "perl", "php"], total: 3, hasMore: false });
    const narrowed = await client.client.complete({
      ref: { type: "ref/prompt", name: "review_code" },
      argument: { name: "language", value: "p" },
      context: { arguments: { framework: "django" } },
    });
    expect(narrowed.completion.values).toEqual(["python"]);
    await server.close();
  });

  it("completes resource-template variables and caps the answer at 100 values", async () => {
    client = await createTestClient(CompletingServer);
    const result = await client.client.complete({ ref: { type: "ref/resource", uri: "files://{name}" }, argument: { name: "name", value: "f" } });
    expect(result.completion.values).toHaveLength(100);
    expect(result.completion.values[0]).toBe("f0");
    expect(result.completion).toMatchObject({ total: 1000, hasMore: true });
  });

  it("answers an argument without a completer with no values, and an unknown prompt with -32602", async () => {
    client = await createTestClient(CompletingServer);
    const none = await client.client.complete({ ref: { type: "ref/prompt", name: "review_code" }, argument: { name: "framework", value: "d" } });
    expect(none.completion).toEqual({ values: [], hasMore: false });
    const error = await client.client.complete({ ref: { type: "ref/prompt", name: "nope" }, argument: { name: "x", value: "" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
  });

  it("fails the build when a completer names an argument the prompt does not have", async () => {
    @Server({ name: "broken", version: "1.0.0" })
    class Broken {
      @Prompt({ description: "Review code" })
      reviewCode(args: ReviewArgs) {
        return args.language;
      }

      @Complete({ prompt: "review_code", argument: "lang" })
      langs() {
        return [];
      }
    }
    const server = new McpServer(Broken);
    await expect(server.build()).rejects.toThrow(new DefinitionError('Cannot register the completer Broken.langs for argument "lang" of prompt "review_code": prompt "review_code" has no argument "lang" (its arguments: language, framework)'));
  });
});
