import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Fleet } from "./fleet.js";

/**
 * `npm run fleet`: three replicas of the production example behind HAProxy, scraped by Prometheus,
 * all on 127.0.0.1. Everything lives in LANTERN_FLEET_DIR (default var/fleet): secrets, each
 * replica's data, `audit/<replica-id>/audit.jsonl`, logs. LANTERN_FLEET_PORT fixes HAProxy's port
 * (default: a free one). A replica that exits is started again, so `kill -TERM <pid>` is a rolling
 * restart of one replica. Ctrl+C stops everything (the replicas drain first).
 */
const dir = resolve(process.env.LANTERN_FLEET_DIR ?? "var/fleet");
const port = process.env.LANTERN_FLEET_PORT ? Number(process.env.LANTERN_FLEET_PORT) : 0;
const say = (line: string) => process.stdout.write(`[fleet] ${line}\n`);

say(`starting three replicas, HAProxy and Prometheus (files in ${dir})`);
const fleet = await Fleet.start({ dir, port, prometheus: true, restartOnExit: true, onEvent: say });

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping the replicas (they drain first), HAProxy and Prometheus`);
  fleet.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const tokenFile = join(dir, "token.txt");
writeFileSync(tokenFile, `${await fleet.token("fleet-operator")}\n`, { mode: 0o600 });
say(`MCP (through HAProxy)  ${fleet.url}`);
for (const replica of fleet.replicas) {
  say(`${replica.id} (pid ${fleet.pid(replica.id)})  http://127.0.0.1:${replica.port}/mcp · /metrics · /healthz · audit ${replica.auditPath}`);
}
say(`bearer token (12 h)    export TOKEN=$(cat ${tokenFile})`);
say(`HAProxy admin socket   echo "show stat" | socat - UNIX:${fleet.statsSocket}`);
say(`Prometheus             ${fleet.prometheusUrl}/graph?g0.expr=sum%20by%20(replica)%20(inventory_tool_calls_total)`);
say(`one dashboard          ${fleet.dashboardCommand()}`);
say(`logs                   ${join(dir, "logs")}/`);
say("rolling restart        kill -TERM <pid of a replica>: it drains, exits and is started again; Ctrl+C stops everything");
