import "reflect-metadata";
import { DashboardEndpoint, McpServer } from "lantern-mcp";
import winston from "winston";
import { HrApi } from "../hr-api/hr-api.js";

/**
 * The HR server with the live dashboard.
 *
 *   node main.js            Streamable HTTP on $PORT (default 3000), the dashboard on this terminal
 *   node main.js --stdio    stdio; telemetry on 127.0.0.1:$DASHBOARD_PORT for `lantern dashboard`
 *   node main.js --attach   Streamable HTTP on $PORT, telemetry on 127.0.0.1:$DASHBOARD_PORT: one replica
 *                           of a fleet watched with `lantern dashboard --url A --url B …`
 *
 * Every call is also logged with winston, to show the Raw Logs tab capturing the server's output.
 */
const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Console({ stderrLevels: ["error"] })] });

const server = new McpServer(HrApi);
server.use(async (ctx, next) => {
  try {
    return await next();
  } finally {
    logger.info("call finished", { tool: ctx.name, client: ctx.clientId, ms: Math.round(ctx.elapsedMs() * 100) / 100 });
  }
});

if (process.argv.includes("--stdio")) {
  // Winston's Console transport writes to stdout, the protocol channel of a stdio server: send it to stderr.
  logger.clear().add(new winston.transports.Stream({ stream: process.stderr }));
  await server.listen({ transport: "stdio" });
  // The token comes from LANTERN_DASHBOARD_TOKEN, or is generated and printed on stderr.
  await new DashboardEndpoint(server, { port: Number(process.env.DASHBOARD_PORT ?? 0) }).start();
} else if (process.argv.includes("--attach")) {
  await server.listen({ transport: "http", port: Number(process.env.PORT ?? 3000) });
  await new DashboardEndpoint(server, { port: Number(process.env.DASHBOARD_PORT ?? 0) }).start();
  console.log("hr-api is up; the attach endpoint captures this line into Raw Logs");
} else {
  await server.listen({ transport: "http", port: Number(process.env.PORT ?? 3000), dashboard: true });
  console.log("hr-api is up; the dashboard captures this line into Raw Logs");
}
