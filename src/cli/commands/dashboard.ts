import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { TelemetrySource } from "../../observability/dashboard/components/dashboard-app.js";
import { DASHBOARD_TOKEN_ENV, fetchDashboardSnapshot, telemetryUrl } from "../../observability/dashboard/dashboard-endpoint.js";

/** The default and fastest refresh (the app's own floor; importing it would load React and Ink). */
const MIN_REFRESH_MS = 250;

const USAGE = `Usage: lantern dashboard --url http://127.0.0.1:PORT [--url …] [--urls-file FILE] [--token TOKEN] [--refresh MS]

Draws the live dashboard of a running Lantern server that exposes its telemetry
with DashboardEndpoint (it prints the exact command when it starts). Given several
endpoints (the replicas of a fleet), it draws them as one, with a per-replica
breakdown on the Overview.

  --url         an endpoint's address (http://127.0.0.1:PORT); repeat it for each replica
  --urls-file   a file listing endpoints, one per line (# starts a comment)
  --token       the token the servers were given; default: $${DASHBOARD_TOKEN_ENV}
  --refresh     refresh period in ms (at least 250; default 250)

Keys: 1-6 pick a tab, Tab/→ next, Shift+Tab/← previous, ↑/↓ scroll, q quits.`;

const fail = (message: string): number => {
  console.error(`lantern dashboard: ${message}`);
  return 2;
};

/** The endpoints listed in a file: one per line, blank lines and `#` comments ignored. */
async function readUrlsFile(path: string): Promise<{ url: string; line: number }[] | string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return `cannot read --urls-file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  const urls = text.split(/\r?\n/).map((line, i) => ({ url: line.replace(/#.*/, "").trim(), line: i + 1 })).filter(({ url }) => url !== "");
  return urls.length > 0 ? urls : `--urls-file ${path} lists no URL (one per line, # starts a comment)`;
}

/** `value` as an attach endpoint's address, or why it is not one. */
function endpointUrl(value: string, from: string): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${from} "${value}" is not a URL; use the one the server printed, like http://127.0.0.1:4500`;
  }
  if (url.protocol !== "http:" || !["127.0.0.1", "localhost"].includes(url.hostname)) {
    return `${from} must be a loopback http:// address (the endpoint only listens on 127.0.0.1), got ${value}`;
  }
  return url;
}

/** `lantern dashboard --url … --token …`: the six tabs, drawn from another process's (or a fleet's) telemetry. */
export async function run(args: string[]): Promise<number> {
  let values: { url?: string[]; "urls-file"?: string; token?: string; refresh?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: "string", multiple: true },
        "urls-file": { type: "string" },
        token: { type: "string" },
        refresh: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const token = values.token ?? process.env[DASHBOARD_TOKEN_ENV];
  const given = values.url ?? [];
  if ((given.length === 0 && values["urls-file"] === undefined) || !token) {
    return fail(`${!token ? `--token is required (or set ${DASHBOARD_TOKEN_ENV})` : "--url (or --urls-file) is required"}\n\n${USAGE}`);
  }
  const targets: { url: string; from: string }[] = given.map((url) => ({ url, from: "--url" }));
  if (values["urls-file"] !== undefined) {
    const listed = await readUrlsFile(values["urls-file"]);
    if (typeof listed === "string") return fail(listed);
    for (const { url, line } of listed) targets.push({ url, from: `--urls-file ${values["urls-file"]} line ${line}:` });
  }
  const seen = new Set<string>();
  for (const { url, from } of targets) {
    const parsed = endpointUrl(url, from);
    if (typeof parsed === "string") return fail(parsed);
    // Both loopback names reach the same endpoint, with or without the telemetry path.
    const key = `${parsed.port}${telemetryUrl(parsed.pathname)}`;
    if (seen.has(key)) return fail(`${url} is given twice; list each replica's endpoint once`);
    seen.add(key);
  }
  const refreshMs = values.refresh === undefined ? undefined : Number(values.refresh);
  if (refreshMs !== undefined && !(refreshMs >= MIN_REFRESH_MS)) {
    return fail(`--refresh must be a number of ms, at least ${MIN_REFRESH_MS} (4 refreshes a second), got "${values.refresh}"`);
  }
  if (!process.stdout.isTTY) {
    return fail("stdout is not a terminal; run it in a terminal (or a tmux pane)");
  }
  const urls = targets.map((t) => t.url);
  const { renderDashboard } = await import("../../observability/dashboard/render-dashboard.js");
  let source: TelemetrySource;
  if (urls.length === 1) {
    const target = urls[0]!;
    source = { label: `attached to ${target}`, read: () => fetchDashboardSnapshot(target, token) };
  } else {
    const { FleetPoller } = await import("../../observability/dashboard/fleet-poller.js");
    source = new FleetPoller(urls, token, { refreshMs: refreshMs ?? MIN_REFRESH_MS });
  }
  const instance = renderDashboard(source, { stdout: process.stdout, refreshMs });
  await instance.waitUntilExit().catch(() => undefined);
  instance.cleanup();
  return 0;
}
