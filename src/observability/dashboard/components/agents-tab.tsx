import type { ReactElement } from "react";
import type { DashboardAgentRow } from "../telemetry-snapshot.js";
import { formatClock, formatCount } from "./format.js";
import { Table } from "./table.js";
import type { TabProps } from "./tab-props.js";

/** Tab 3: one row per client id, most recently active first. */
export function AgentsTab({ snapshot, width, height }: TabProps): ReactElement {
  return (
    <Table<DashboardAgentRow>
      width={width}
      rows={snapshot.agents.slice(0, Math.max(1, height - 1))}
      empty="No clients yet."
      rowKey={(a) => a.clientId}
      columns={[
        { header: "CLIENT", width: 20, value: (a) => a.clientId },
        { header: "SESSIONS", width: 8, align: "right", value: (a) => String(a.sessions) },
        { header: "OPEN", width: 4, align: "right", value: (a) => String(a.connected), color: (a) => (a.connected > 0 ? "green" : "gray") },
        { header: "PROTOCOL", width: 10, value: (a) => a.protocolVersion },
        { header: "REQUESTS", width: 8, align: "right", value: (a) => formatCount(a.requests) },
        { header: "ERRORS", width: 6, align: "right", value: (a) => formatCount(a.errors), color: (a) => (a.errors > 0 ? "red" : undefined) },
        { header: "LIMITED", width: 7, align: "right", value: (a) => formatCount(a.rateLimited), color: (a) => (a.rateLimited > 0 ? "yellow" : undefined) },
        { header: "FIRST SEEN", width: 10, value: (a) => formatClock(a.firstSeen) },
        { header: "LAST ACTIVE", width: 11, value: (a) => formatClock(a.lastActive) },
        { header: "TOOLS USED", value: (a) => (a.toolsUsed.length ? a.toolsUsed.join(", ") : "-") },
      ]}
    />
  );
}
