#!/usr/bin/env node
/**
 * The `lantern` command. Each subcommand lives in `commands/<name>.ts` and exports
 * `run(args): Promise<number>` (the exit code).
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  audit: { summary: "audit verify <file…|dir>   check an audit trail's HMAC chain, or every replica's in a fleet directory", load: () => import("./commands/audit.js") },
  dashboard: { summary: "dashboard --url URL --token T   attach the live dashboard to a running server", load: () => import("./commands/dashboard.js") },
};

const usage = (): string =>
  ["Usage: lantern <command> [options]", "", "Commands:", ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)].join("\n");

const [name, ...args] = process.argv.slice(2);
if (!name || name === "--help" || name === "-h") {
  console.log(usage());
  process.exitCode = name ? 0 : 2;
} else if (!Object.hasOwn(COMMANDS, name)) {
  console.error(`lantern: unknown command "${name}"\n\n${usage()}`);
  process.exitCode = 2;
} else {
  const command = await COMMANDS[name]!.load();
  process.exitCode = await command.run(args);
}
