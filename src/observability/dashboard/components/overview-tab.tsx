import { Box, Text } from "ink";
import type { ReactElement } from "react";
import { ERROR_RATE_ALERT, fit, formatCount, formatMs, formatPercent, formatRate } from "./format.js";
import { ReplicaTable } from "./replica-table.js";
import { RequestTable } from "./request-table.js";
import type { TabProps } from "./tab-props.js";

const Stat = ({ label, value, color, bold }: { label: string; value: string; color?: string; bold?: boolean }) => (
  <Text>
    <Text dimColor>{fit(label, 11)}</Text>
    <Text color={color} bold={bold}>{fit(value, 14)}</Text>
  </Text>
);

/** Tab 1: the headline numbers, a fleet's per-replica breakdown, and the last few requests. */
export function OverviewTab({ snapshot, width, height }: TabProps): ReactElement {
  const { totals, latency } = snapshot;
  const rate = totals.calls === 0 ? 0 : totals.errors / totals.calls;
  const alert = rate > ERROR_RATE_ALERT;
  const fleet = snapshot.fleet;
  // A fleet's breakdown takes its title, header and rows (and a blank line) from the request log.
  const fleetLines = fleet ? fleet.length + 3 : 0;
  const lastCount = Math.max(1, height - 7 - fleetLines);
  return (
    <Box flexDirection="column">
      <Box>
        <Stat label="Calls" value={formatCount(totals.calls)} />
        <Stat label="Errors" value={formatCount(totals.errors)} color={totals.errors > 0 ? "red" : undefined} />
        <Stat label="Error rate" value={formatPercent(rate) + (alert ? " ▲ >5%" : "")} color={alert ? "red" : "green"} bold={alert} />
      </Box>
      <Box>
        <Stat label="Calls/s" value={formatRate(snapshot.callsPerSecond)} />
        <Stat label="p50" value={formatMs(latency.p50)} />
        <Stat label="p95" value={formatMs(latency.p95)} />
      </Box>
      <Box>
        <Stat label="Clients" value={`${snapshot.connectedClients} connected`} />
        <Stat label="Sessions" value={String(snapshot.connectedSessions)} />
        <Stat label="Tools" value={String(snapshot.tools.length)} />
      </Box>
      {fleet ? (
        <Box marginTop={1} flexDirection="column">
          <Text bold>{`Replicas (${fleet.filter((r) => r.state !== "down").length} of ${fleet.length} up)`}</Text>
          <ReplicaTable replicas={fleet} takenAt={snapshot.takenAt} width={width} />
        </Box>
      ) : null}
      <Box marginTop={1} flexDirection="column">
        <Text bold>Last requests</Text>
        <RequestTable requests={snapshot.requests.slice(-lastCount)} width={width} withError={false} />
      </Box>
    </Box>
  );
}
