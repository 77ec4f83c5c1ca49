import "reflect-metadata";
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import { Elicitor, Inject, Server, Tool, type ElicitationForm } from "lantern-mcp";
import { createTestClient, type TestClient } from "lantern-mcp/testing";

const FORM: ElicitationForm = {
  type: "object",
  properties: {
    name: { type: "string", default: "John Doe" },
    age: { type: "integer", minimum: 0, default: 30 },
    plan: { type: "string", oneOf: [{ const: "free", title: "Free" }, { const: "pro", title: "Pro" }] },
    tags: { type: "array", items: { type: "string", enum: ["a", "b"] } },
  },
  required: ["name"],
};

@Server({ name: "elicitation", version: "1.0.0" })
class ElicitingServer {
  @Tool({ description: "Asks the user to fill in a form" })
  async signUp(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form<{ name: string; age?: number }>("Sign up", FORM);
    return answer.action === "accept" ? { action: answer.action, name: answer.content.name, age: answer.content.age ?? null } : { action: answer.action };
  }

  @Tool({ description: "Names its question with a misspelled option" })
  async misspelled(@Inject(Elicitor) elicitor: Elicitor) {
    return elicitor.form("Sign up", FORM, { kye: "sign-up" } as never);
  }
}

describe("Elicitor (elicitation/create)", () => {
  let client: TestClient | undefined;
  let requests: ElicitRequest["params"][];
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  async function connect(answer: ElicitResult): Promise<TestClient> {
    requests = [];
    const connected = await createTestClient(ElicitingServer, { capabilities: { elicitation: {} }, server: { onInternalError: () => {} } });
    connected.client.setRequestHandler("elicitation/create", (request) => {
      requests.push(request.params);
      return answer;
    });
    return connected;
  }

  it("sends the form as it was written (defaults, titled enums, multi-select) and returns the accepted content", async () => {
    client = await connect({ action: "accept", content: { name: "Ada", age: 36, plan: "pro", tags: ["a"] } });
    const result = await client.callTool("sign_up");
    expect(result.structuredContent).toEqual({ action: "accept", name: "Ada", age: 36 });
    expect(requests).toEqual([{ mode: "form", message: "Sign up", requestedSchema: FORM }]);
  });

  it("passes a decline through without content", async () => {
    client = await connect({ action: "decline" });
    expect((await client.callTool("sign_up")).structuredContent).toEqual({ action: "decline" });
  });

  it("refuses an accepted answer that does not match the form", async () => {
    client = await connect({ action: "accept", content: { age: -1 } });
    const result = await client.callTool("sign_up");
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/does not match the requested form/);
  });

  it("refuses an unknown option of a question, naming it, before anything is sent", async () => {
    const failures: unknown[] = [];
    client = await createTestClient(ElicitingServer, { capabilities: { elicitation: {} }, server: { onInternalError: (_ctx, error) => failures.push(error) } });
    requests = [];
    client.client.setRequestHandler("elicitation/create", (request) => {
      requests.push(request.params);
      return { action: "decline" };
    });
    const result = await client.callTool("misspelled");
    expect(result.isError).toBe(true);
    expect(String(failures[0])).toContain('unknown option "kye"');
    expect(requests).toEqual([]);
  });

  it("fails with a clear message when the client cannot elicit", async () => {
    client = await createTestClient(ElicitingServer, { server: { onInternalError: () => {} } });
    const result = await client.callTool("sign_up");
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/client does not support elicitation/);
  });
});
