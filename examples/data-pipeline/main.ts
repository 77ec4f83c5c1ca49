import "reflect-metadata";
import { McpServer } from "lantern-mcp";
import { DataPipeline } from "./data-pipeline.js";

const server = new McpServer(DataPipeline);
await server.listen({ transport: "stdio" });
