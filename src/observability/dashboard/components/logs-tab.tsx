import { Box, Text } from "ink";
import type { ReactElement } from "react";
import { RequestTable } from "./request-table.js";
import type { TabProps } from "./tab-props.js";

/** The window of `items` to show: `rows` lines ending `scroll` lines before the newest. */
export const scrollWindow = <T,>(items: readonly T[], rows: number, scroll: number): { visible: T[]; scroll: number } => {
  const clamped = Math.max(0, Math.min(scroll, items.length - rows));
  const end = items.length - clamped;
  return { visible: items.slice(Math.max(0, end - rows), end), scroll: clamped };
};

/** Tab 4: the request log, newest at the bottom; ↑/↓ scroll back. */
export function LogsTab({ snapshot, width, height, scroll }: TabProps): ReactElement {
  const { visible, scroll: shown } = scrollWindow(snapshot.requests, Math.max(1, height - 2), scroll);
  return (
    <Box flexDirection="column">
      <RequestTable requests={visible} width={width} withError />
      <Text dimColor>{shown > 0 ? `scrolled back ${shown} · ↓ to follow` : `${snapshot.requests.length} recent calls · ↑/↓ scroll`}</Text>
    </Box>
  );
}
