import type { ReactElement } from "react";
import type { DashboardToolRow } from "../telemetry-snapshot.js";
import { formatCount, formatMs } from "./format.js";
import { Table } from "./table.js";
import type { TabProps } from "./tab-props.js";

/** Tab 2: every registered tool, its scopes and how it has been called. */
export function ToolsTab({ snapshot, width, height }: TabProps): ReactElement {
  return (
    <Table<DashboardToolRow>
      width={width}
      rows={snapshot.tools.slice(0, Math.max(1, height - 1))}
      empty="No tools registered."
      rowKey={(t) => t.name}
      columns={[
        { header: "TOOL", width: 26, value: (t) => t.name },
        { header: "CALLS", width: 7, align: "right", value: (t) => formatCount(t.calls) },
        { header: "ERRORS", width: 7, align: "right", value: (t) => formatCount(t.errors), color: (t) => (t.errors > 0 ? "red" : undefined) },
        { header: "AVG", width: 9, align: "right", value: (t) => formatMs(t.avgMs) },
        { header: "P95", width: 9, align: "right", value: (t) => formatMs(t.p95Ms) },
        { header: "SCOPES", value: (t) => (t.scopes.length ? t.scopes.join(" ") : "-") },
      ]}
    />
  );
}
