import "reflect-metadata";
import { McpServer } from "lantern-mcp";
import { HrApi } from "./hr-api.js";

const server = new McpServer(HrApi);
const port = Number(process.env.PORT ?? 3000);
const running = await server.listen(process.argv.includes("--stdio") ? { transport: "stdio" } : { transport: "http", port });
if (running.url) process.stderr.write(`hr-api listening on ${running.url}\n`);
