import { Box, Text, useApp, useInput, useStdout } from "ink";
import { useEffect, useRef, useState, type ReactElement } from "react";
import type { DashboardSnapshot } from "../telemetry-snapshot.js";
import { AgentsTab } from "./agents-tab.js";
import { formatClock, formatUptime } from "./format.js";
import { LogsTab } from "./logs-tab.js";
import { MetricsTab } from "./metrics-tab.js";
import { OverviewTab } from "./overview-tab.js";
import { RawLogsTab } from "./raw-logs-tab.js";
import type { TabProps } from "./tab-props.js";
import { ToolsTab } from "./tools-tab.js";

/** Where the app reads telemetry: the in-process store, or the attach endpoint over HTTP. */
export interface TelemetrySource {
  /** A fresh snapshot; a rejection's message is shown in the footer until the next success. */
  read(): DashboardSnapshot | Promise<DashboardSnapshot>;
  /** Shown in the footer: `in-process`, `attached to http://…`. */
  label: string;
}

/** The six tabs, in key order (1–6). */
export const TABS = [
  { title: "Overview", Body: OverviewTab },
  { title: "Tools", Body: ToolsTab },
  { title: "Agents", Body: AgentsTab },
  { title: "Logs", Body: LogsTab },
  { title: "Metrics", Body: MetricsTab },
  { title: "Raw Logs", Body: RawLogsTab },
] as const satisfies readonly { title: string; Body: (props: TabProps) => ReactElement }[];

/** The fastest the app refreshes: 4 times a second. */
export const MIN_REFRESH_MS = 250;

const isPromise = <T,>(value: T | Promise<T>): value is Promise<T> => typeof (value as { then?: unknown })?.then === "function";

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Props of {@link DashboardApp}. */
export interface DashboardAppProps {
  source: TelemetrySource;
  /** Refresh period, ms; anything under 250 is raised to 250. */
  refreshMs?: number;
  /** Tab shown first, 0–5. */
  initialTab?: number;
  /** Listen to keys (needs a TTY stdin for raw mode). Default true. */
  interactive?: boolean;
  /** Terminal size when the output stream does not say (tests). */
  columns?: number;
  rows?: number;
}

/**
 * The dashboard UI: a header with the server and the tab bar, the current tab, and a footer with
 * the keys. Keys: 1–6 pick a tab, Tab / → next, Shift+Tab / ← previous, ↑/↓ scroll logs, q quits.
 *
 * @example
 * render(<DashboardApp source={{ label: "in-process", read: () => telemetry.snapshot() }} />);
 */
export function DashboardApp({ source, refreshMs = MIN_REFRESH_MS, initialTab = 0, interactive = true, columns, rows }: DashboardAppProps): ReactElement {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const pending = useRef<Promise<DashboardSnapshot> | undefined>(undefined);
  const [tab, setTab] = useState(() => Math.min(TABS.length - 1, Math.max(0, initialTab)));
  const [scroll, setScroll] = useState(0);
  const [state, setState] = useState<{ snapshot?: DashboardSnapshot; error?: string }>(() => {
    try {
      const first = source.read();
      if (!isPromise(first)) return { snapshot: first };
      pending.current = first;
      return {};
    } catch (error) {
      return { error: messageOf(error) };
    }
  });

  useEffect(() => {
    let stopped = false;
    let busy = false;
    const apply = (read: Promise<DashboardSnapshot>) => {
      busy = true;
      read.then(
        (snapshot) => { if (!stopped) setState({ snapshot }); },
        (error: unknown) => { if (!stopped) setState((prev) => ({ snapshot: prev.snapshot, error: messageOf(error) })); },
      ).finally(() => { busy = false; });
    };
    if (pending.current) {
      apply(pending.current);
      pending.current = undefined;
    }
    const timer = setInterval(() => {
      // A slow endpoint must not pile up requests: skip a tick while one is in flight.
      if (busy) return;
      try {
        const next = source.read();
        if (isPromise(next)) apply(next);
        else setState({ snapshot: next });
      } catch (error) {
        setState((prev) => ({ snapshot: prev.snapshot, error: messageOf(error) }));
      }
    }, Math.max(MIN_REFRESH_MS, refreshMs));
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [source, refreshMs]);

  useInput((input, key) => {
    // Functional updates: keys typed faster than a render must not act on a stale tab.
    const pick = (choose: (current: number) => number) => {
      setTab((current) => (choose(current) + TABS.length) % TABS.length);
      setScroll(0);
    };
    if (input >= "1" && input <= String(TABS.length) && input.length === 1) pick(() => Number(input) - 1);
    else if ((key.tab && key.shift) || key.leftArrow) pick((current) => current - 1);
    else if (key.tab || key.rightArrow) pick((current) => current + 1);
    else if (key.upArrow) setScroll((s) => s + 1);
    else if (key.downArrow) setScroll((s) => Math.max(0, s - 1));
    else if (key.pageUp) setScroll((s) => s + 10);
    else if (key.pageDown) setScroll((s) => Math.max(0, s - 10));
    else if (input === "q" || input === "Q") exit();
  }, { isActive: interactive });

  const width = Math.max(40, columns ?? stdout.columns ?? 100);
  const height = Math.max(12, (rows ?? stdout.rows ?? 30) - 1);
  const bodyHeight = height - 5;
  const { snapshot, error } = state;
  const Body = TABS[tab]!.Body;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold color="yellow">{" LANTERN "}</Text>
        {snapshot ? (
          <>
            <Text bold>{` ${snapshot.server.name} ${snapshot.server.version}`}</Text>
            <Text dimColor>{` · ${snapshot.server.transport ?? "?"}${snapshot.server.endpoint ? ` ${snapshot.server.endpoint}` : ""} · up ${formatUptime(snapshot.takenAt - snapshot.startedAt)}`}</Text>
          </>
        ) : (
          <Text dimColor>{` connecting (${source.label})…`}</Text>
        )}
      </Text>
      <Text wrap="truncate-end">
        {TABS.map((t, i) => (
          <Text key={t.title} inverse={i === tab} bold={i === tab} dimColor={i !== tab}>
            {i === tab ? `[${i + 1} ${t.title}]` : ` ${i + 1} ${t.title} `}
          </Text>
        ))}
      </Text>
      <Text dimColor>{"─".repeat(width)}</Text>
      <Box flexDirection="column" height={bodyHeight} overflow="hidden">
        {snapshot ? <Body snapshot={snapshot} width={width} height={bodyHeight} scroll={scroll} /> : <Text dimColor>Waiting for the first telemetry…</Text>}
      </Box>
      <Text wrap="truncate-end">
        <Text dimColor>{" 1-6/Tab/←→ switch · ↑↓ scroll · q quit · "}</Text>
        {error ? <Text color="red">{error}</Text> : <Text dimColor>{`${source.label}${snapshot ? ` · ${formatClock(snapshot.takenAt)}` : ""}`}</Text>}
      </Text>
    </Box>
  );
}
