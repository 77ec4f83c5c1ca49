import "reflect-metadata";
import { IsString, MaxLength } from "class-validator";
import { McpServer } from "lantern-mcp";

/**
 * Lantern (no middleware) for the modern-era HTTP benchmark, in a process of its own so that its
 * CPU time is the server's alone; the SDK's counterpart is `peers/sdk-http-server`. Prints
 * `LISTENING <url>`.
 */
class Echo {
  @IsString() @MaxLength(100) text!: string;
}

const server = new McpServer({ name: "bench", version: "1.0.0" });
server.addTool<Echo>({ name: "echo", description: "Echo the text back", input: Echo, handler: (input) => input.text });
const url = (await server.listen({ transport: "http", port: 0, handleSignals: false })).url!;
process.stdout.write(`LISTENING ${url}\n`);
