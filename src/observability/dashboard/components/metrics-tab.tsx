import { Box, Text } from "ink";
import type { ReactElement } from "react";
import { fit, foldSeries, formatCount, formatMs, formatRate, sparkline } from "./format.js";
import type { TabProps } from "./tab-props.js";

const span = (seconds: number) => (seconds >= 120 ? `${Math.round(seconds / 60)}m` : `${seconds}s`);

/** Tab 5: throughput and latency over the last minutes, percentiles, errors by type and by tool. */
export function MetricsTab({ snapshot, width, height }: TabProps): ReactElement {
  const { series, latency } = snapshot;
  const columns = Math.max(10, width - 2);
  const calls = foldSeries(series.calls, columns, "mean");
  const lat = foldSeries(series.latencyMaxMs, columns, "max");
  const window = span(calls.points.length * calls.step);
  const peakRate = Math.max(0, ...calls.points);
  const peakLatency = Math.max(0, ...lat.points);
  const listRows = Math.max(1, height - 9);
  const byType = snapshot.errorsByType.slice(0, listRows);
  const byTool = snapshot.errorsByTool.slice(0, listRows);
  const half = Math.floor(width / 2);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>Throughput</Text>
        <Text dimColor>{` calls/s, last ${window} (${calls.step}s per column) · peak ${formatRate(peakRate)}/s · now ${formatRate(snapshot.callsPerSecond)}/s`}</Text>
      </Text>
      <Text color="cyan">{sparkline(calls.points)}</Text>
      <Text>
        <Text bold>Latency</Text>
        <Text dimColor>{` slowest call per column, last ${window} · peak ${formatMs(peakLatency)}`}</Text>
      </Text>
      <Text color="magenta">{sparkline(lat.points)}</Text>
      <Text>
        <Text bold>Percentiles </Text>
        {(["p50", "p90", "p95", "p99", "max", "avg"] as const).map((key) => (
          <Text key={key}>
            <Text dimColor>{` ${key} `}</Text>
            <Text>{formatMs(latency[key])}</Text>
          </Text>
        ))}
      </Text>
      <Box marginTop={1}>
        <Box flexDirection="column" width={half}>
          <Text bold>Errors by type</Text>
          {byType.length === 0 ? <Text dimColor>none</Text> : byType.map((e) => (
            <Text key={e.type} wrap="truncate-end">{fit(e.type, Math.max(8, half - 10))}<Text color="red">{fit(formatCount(e.count), 8, "right")}</Text></Text>
          ))}
        </Box>
        <Box flexDirection="column" width={width - half}>
          <Text bold>Errors by tool</Text>
          {byTool.length === 0 ? <Text dimColor>none</Text> : byTool.map((e) => (
            <Text key={e.name} wrap="truncate-end">{fit(e.name, Math.max(8, width - half - 10))}<Text color="red">{fit(formatCount(e.count), 8, "right")}</Text></Text>
          ))}
        </Box>
      </Box>
    </Box>
  );
}
