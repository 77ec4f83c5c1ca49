import "reflect-metadata";
import { IsString } from "class-validator";
import type { CreateMessageRequest } from "@modelcontextprotocol/client";
import { Inject, Sampler, Server, Tool } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

class AskInput {
  @IsString() prompt!: string;
}

@Server({ name: "sampling", version: "1.0.0" })
class SamplingServer {
  @Tool({ description: "Asks the client's LLM" })
  async ask(input: AskInput, @Inject(Sampler) sampler: Sampler) {
    return `model said: ${await sampler.ask(input.prompt, { maxTokens: 50, systemPrompt: "be brief" })}`;
  }

  // No @Inject: the parameter's type alone makes it injected, like ServerLogger.
  @Tool({ description: "Reports whether sampling is possible" })
  canSample(sampler: Sampler) {
    return { supported: sampler.supported };
  }
}

describe("Sampler (sampling/createMessage)", () => {
  let client: TestClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it("sends the prompt to the client and returns the model's text", async () => {
    client = await createTestClient(SamplingServer, { capabilities: { sampling: {} } });
    const requests: CreateMessageRequest["params"][] = [];
    client.client.setRequestHandler("sampling/createMessage", (request) => {
      requests.push(request.params);
      return { role: "assistant", content: { type: "text", text: "forty-two" }, model: "test-model", stopReason: "endTurn" };
    });
    const result = await client.callTool("ask", { prompt: "What is the answer?" });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "model said: forty-two" }]);
    expect(requests).toEqual([
      { maxTokens: 50, systemPrompt: "be brief", messages: [{ role: "user", content: { type: "text", text: "What is the answer?" } }] },
    ]);
    expect(await client.callTool("can_sample")).toMatchObject({ structuredContent: { supported: true } });
  });

  it("fails the call with a clear message when the client has no sampling capability", async () => {
    client = await createTestClient(SamplingServer, { server: { onInternalError: () => {} } });
    const result = await client.callTool("ask", { prompt: "hello" });
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/client does not support sampling/);
    expect(await client.callTool("can_sample")).toMatchObject({ structuredContent: { supported: false } });
  });
});
