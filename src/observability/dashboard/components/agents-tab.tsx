import type { ReactElement } from "react";
import type { DashboardAgentRow } from "../telemetry-snapshot.js";
import { formatClock, formatCount, formatShortCount, formatWait } from "./format.js";
import { Table, type Column } from "./table.js";
import type { TabProps } from "./tab-props.js";

/**
 * Tab 3: one row per client id, most recently active first. When the server counts limits, LIMIT
 * shows each client's tightest one: points used of its allowance, and when its window refills.
 */
export function AgentsTab({ snapshot, width, height }: TabProps): ReactElement {
  const rows = snapshot.agents.slice(0, Math.max(1, height - 1));
  const columns: Column<DashboardAgentRow>[] = [
    { header: "CLIENT", width: 20, value: (a) => a.clientId },
    { header: "SESSIONS", width: 8, align: "right", value: (a) => String(a.sessions) },
    { header: "OPEN", width: 4, align: "right", value: (a) => String(a.connected), color: (a) => (a.connected > 0 ? "green" : "gray") },
    { header: "PROTOCOL", width: 10, value: (a) => a.protocolVersion },
    { header: "REQUESTS", width: 8, align: "right", value: (a) => formatCount(a.requests) },
    { header: "ERRORS", width: 6, align: "right", value: (a) => formatCount(a.errors), color: (a) => (a.errors > 0 ? "red" : undefined) },
    { header: "LIMITED", width: 7, align: "right", value: (a) => formatCount(a.rateLimited), color: (a) => (a.rateLimited > 0 ? "yellow" : undefined) },
  ];
  if (rows.some((a) => a.limits?.length)) {
    columns.push({
      header: "LIMIT",
      width: 14,
      value: (a) => {
        const tightest = a.limits?.[0];
        if (!tightest) return "-";
        return `${formatShortCount(tightest.used)}/${formatShortCount(tightest.points)} ↻${formatWait(tightest.resetsAt - snapshot.takenAt)}`;
      },
      color: (a) => {
        const tightest = a.limits?.[0];
        if (!tightest) return undefined;
        return tightest.used >= tightest.points ? "red" : tightest.used >= tightest.points * 0.8 ? "yellow" : undefined;
      },
    });
  }
  columns.push(
    { header: "FIRST SEEN", width: 10, value: (a) => formatClock(a.firstSeen) },
    { header: "LAST ACTIVE", width: 11, value: (a) => formatClock(a.lastActive) },
    { header: "TOOLS USED", value: (a) => (a.toolsUsed.length ? a.toolsUsed.join(", ") : "-") },
  );
  return <Table<DashboardAgentRow> width={width} rows={rows} empty="No clients yet." rowKey={(a) => a.clientId} columns={columns} />;
}
