import { render, type Instance } from "ink";
import { DashboardApp, type TelemetrySource } from "./components/dashboard-app.js";

/** Where and how to draw. */
export interface RenderTarget {
  stdout: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  refreshMs?: number;
  initialTab?: number;
}

/**
 * Mounts the dashboard UI with Ink. Kept apart from `Dashboard` so that importing "lantern-mcp"
 * does not load React and Ink: they load when a dashboard starts.
 */
export function renderDashboard(source: TelemetrySource, target: RenderTarget): Instance {
  // Without a terminal on stdin (input piped in) there are no keys to read: draw, and quit by signal.
  const interactive = Boolean((target.stdin ?? process.stdin).isTTY);
  return render(<DashboardApp source={source} refreshMs={target.refreshMs} initialTab={target.initialTab} interactive={interactive} />, {
    stdout: target.stdout,
    ...(target.stdin ? { stdin: target.stdin } : {}),
    // We capture console output ourselves (into Raw Logs); Ink's patch would print it above the UI.
    patchConsole: false,
    exitOnCtrlC: true,
    maxFps: 4,
  });
}
