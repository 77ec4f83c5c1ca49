import { Box, Text } from "ink";
import type { ReactElement } from "react";
import type { DashboardLogLine } from "../telemetry-snapshot.js";
import { fit, formatClock } from "./format.js";
import { scrollWindow } from "./logs-tab.js";
import type { TabProps } from "./tab-props.js";

const LEVEL_COLORS: Record<DashboardLogLine["level"], string | undefined> = { debug: "gray", info: undefined, warn: "yellow", error: "red" };

/** Tab 6: the server's own output (console, winston, stderr), captured while the dashboard runs. */
export function RawLogsTab({ snapshot, height, scroll }: TabProps): ReactElement {
  const { visible, scroll: shown } = scrollWindow(snapshot.rawLogs, Math.max(1, height - 1), scroll);
  return (
    <Box flexDirection="column">
      {visible.length === 0 ? (
        <Text dimColor>No output captured yet (console.*, winston and stderr lines appear here).</Text>
      ) : (
        visible.map((line, i) => (
          <Text key={`${line.at}-${i}`} wrap="truncate-end">
            <Text dimColor>{formatClock(line.at)} </Text>
            {line.replica !== undefined ? <Text color="blue">{fit(line.replica, 16)} </Text> : null}
            <Text color="cyan">{fit(line.source, 14)} </Text>
            <Text color={LEVEL_COLORS[line.level]}>{line.text}</Text>
          </Text>
        ))
      )}
      <Text dimColor>{shown > 0 ? `scrolled back ${shown} · ↓ to follow` : `${snapshot.rawLogs.length} recent lines · ↑/↓ scroll`}</Text>
    </Box>
  );
}
