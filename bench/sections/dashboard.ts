import { EventEmitter } from "node:events";
import { Dashboard, DashboardTelemetry } from "lantern-mcp";
import { measureAlternating, median, nsPerCall, type SectionResult } from "../harness.js";
import { lantern } from "../systems.js";

/** A terminal that swallows frames: the dashboard renders at its real rate, nothing is printed. */
class NullTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 120;
  readonly rows = 34;
  frames = 0;
  write = () => { this.frames++; return true; };
}

/**
 * Per-call cost of the dashboard. The observer only updates counters and fixed buffers;
 * drawing happens on a 250 ms timer, off the call path. Three servers measured alternately in
 * one process: no dashboard, telemetry attached, and a dashboard drawing to a terminal.
 */
export async function dashboardSection(): Promise<SectionResult> {
  const plain = await lantern();
  const observed = await lantern();
  const detach = DashboardTelemetry.for(observed.server).attach();
  const drawn = await lantern();
  const terminal = new NullTerminal();
  const dashboard = await new Dashboard(drawn.server, {
    stdout: terminal as unknown as NodeJS.WriteStream,
    stdin: Object.assign(new EventEmitter(), { isTTY: false }) as unknown as NodeJS.ReadStream,
    captureOutput: false,
  }).start();
  const rows = await measureAlternating([
    { name: "no dashboard", call: plain.call },
    { name: "telemetry attached", call: observed.call },
    { name: "dashboard drawing (4/s)", call: drawn.call },
  ]);
  const telemetry = DashboardTelemetry.for(drawn.server);
  // A plain snapshot, and what the attach endpoint serves (at most 10 times a second): with the
  // histograms a fleet view merges. Alternated, median of 5 rounds, so warm-up and noise hit both.
  const plainRounds: number[] = [];
  const histogramRounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    plainRounds.push(await nsPerCall(() => telemetry.snapshot(), 1_000));
    histogramRounds.push(await nsPerCall(() => telemetry.snapshot({ histograms: true }), 1_000));
  }
  const snapshotNs = median(plainRounds);
  const withHistogramsNs = median(histogramRounds);
  // The observer alone, on a context captured from a real call: what a call pays, without the noise of the transport.
  let captured: Parameters<Parameters<typeof drawn.server.observeCalls>[0]>[0] | undefined;
  const stopCapture = drawn.server.observeCalls((ctx) => { captured = ctx; });
  await drawn.call();
  stopCapture();
  const recordNs = await nsPerCall(() => telemetry.recordCall(captured!, undefined), 200_000);
  await dashboard.stop();
  detach();
  await Promise.all([plain.close(), observed.close(), drawn.close()]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const base = byName.get("no dashboard")!;
  const observedRow = byName.get("telemetry attached")!;
  const drawnRow = byName.get("dashboard drawing (4/s)")!;
  observedRow.extra = { "record ns": recordNs };
  drawnRow.extra = { frames: terminal.frames, "snapshot µs": snapshotNs / 1000 };
  return {
    title: "Dashboard: trivial tool over the in-memory transport (1 caller)",
    baseline: "no dashboard",
    rows,
    notes: [
      `telemetry attached / none p50: ${(observedRow.p50Us / base.p50Us).toFixed(3)}× (+${(observedRow.p50Us - base.p50Us).toFixed(2)} µs per call)`,
      `recording one call (the observer alone): ${recordNs.toFixed(0)} ns`,
      `dashboard drawing / none p50: ${(drawnRow.p50Us / base.p50Us).toFixed(3)}×; a snapshot (what each refresh reads) takes ${(snapshotNs / 1000).toFixed(1)} µs`,
      `a snapshot with its latency histograms (what the attach endpoint serves, for fleet views): ${(withHistogramsNs / snapshotNs).toFixed(2)}× a plain one (${(withHistogramsNs / 1000).toFixed(1)} µs)`,
      "frames: the UI redraws on a 250 ms timer, which a tight in-memory call loop rarely lets run; drawing is off the call path either way",
    ],
  };
}
