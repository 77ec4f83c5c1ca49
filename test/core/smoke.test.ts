import "reflect-metadata";
import { IsString } from "class-validator";
import { McpServer, Server, Tool } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

class Echo { @IsString() text!: string; }

@Server({ name: "smoke", version: "1.0.0" })
class Smoke {
  @Tool({ description: "echo" }) echo(input: Echo) { return input.text; }
}

test("a decorated class answers over the in-memory transport", async () => {
  const client = await createTestClient(Smoke);
  const result = await client.callTool("echo", { text: "hi" });
  expect(result.content).toEqual([{ type: "text", text: "hi" }]);
  expect(client.server).toBeInstanceOf(McpServer);
  await client.close();
});
