import { parseArgs } from "node:util";
import { DASHBOARD_TOKEN_ENV, fetchDashboardSnapshot } from "../../observability/dashboard/dashboard-endpoint.js";

const USAGE = `Usage: lantern dashboard --url http://127.0.0.1:PORT [--token TOKEN] [--refresh MS]

Draws the live dashboard of a running Lantern server that exposes its telemetry
with DashboardEndpoint (it prints the exact command when it starts).

  --url       the endpoint's address (http://127.0.0.1:PORT)
  --token     the token the server printed; default: $${DASHBOARD_TOKEN_ENV}
  --refresh   refresh period in ms (at least 250; default 250)

Keys: 1-6 pick a tab, Tab/→ next, Shift+Tab/← previous, ↑/↓ scroll, q quits.`;

/** `lantern dashboard --url … --token …`: the six tabs, drawn from another process's telemetry. */
export async function run(args: string[]): Promise<number> {
  let values: { url?: string; token?: string; refresh?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { url: { type: "string" }, token: { type: "string" }, refresh: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`lantern dashboard: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const token = values.token ?? process.env[DASHBOARD_TOKEN_ENV];
  if (!values.url || !token) {
    console.error(`lantern dashboard: ${!values.url ? "--url is required" : `--token is required (or set ${DASHBOARD_TOKEN_ENV})`}\n\n${USAGE}`);
    return 2;
  }
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    console.error(`lantern dashboard: --url "${values.url}" is not a URL; use the one the server printed, like http://127.0.0.1:4500`);
    return 2;
  }
  if (url.protocol !== "http:" || !["127.0.0.1", "localhost"].includes(url.hostname)) {
    console.error(`lantern dashboard: --url must be a loopback http:// address (the endpoint only listens on 127.0.0.1), got ${values.url}`);
    return 2;
  }
  const refreshMs = values.refresh === undefined ? undefined : Number(values.refresh);
  if (refreshMs !== undefined && !(refreshMs >= 250)) {
    console.error(`lantern dashboard: --refresh must be a number of ms, at least 250 (4 refreshes a second), got "${values.refresh}"`);
    return 2;
  }
  if (!process.stdout.isTTY) {
    console.error("lantern dashboard: stdout is not a terminal; run it in a terminal (or a tmux pane)");
    return 2;
  }
  const target = values.url;
  const { renderDashboard } = await import("../../observability/dashboard/render-dashboard.js");
  const instance = renderDashboard({ label: `attached to ${target}`, read: () => fetchDashboardSnapshot(target, token) }, { stdout: process.stdout, refreshMs });
  await instance.waitUntilExit().catch(() => undefined);
  instance.cleanup();
  return 0;
}
