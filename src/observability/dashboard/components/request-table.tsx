import type { ReactElement } from "react";
import type { DashboardRequest } from "../telemetry-snapshot.js";
import { formatClock, formatMs, statusColor } from "./format.js";
import { Table, type Column } from "./table.js";

const nameOf = (r: DashboardRequest) => (r.kind === "tool" ? r.name : `${r.kind} ${r.name}`);

/** Calls as table rows: the Overview's last requests and the Logs tab. */
export function RequestTable({ requests, width, withError }: { requests: readonly DashboardRequest[]; width: number; withError: boolean }): ReactElement {
  const columns: Column<DashboardRequest>[] = [
    { header: "TIME", width: 8, value: (r) => formatClock(r.at) },
    // A fleet's merged log names the replica of each call.
    ...(requests.some((r) => r.replica !== undefined) ? [{ header: "REPLICA", width: 16, value: (r: DashboardRequest) => r.replica ?? "" }] : []),
    { header: "CLIENT", width: 18, value: (r) => r.clientId },
    { header: "TOOL", width: 28, value: nameOf },
    { header: "STATUS", width: 9, value: (r) => r.status, color: (r) => statusColor(r.status) },
    { header: "DURATION", width: 9, align: "right", value: (r) => formatMs(r.durationMs) },
  ];
  if (withError) columns.push({ header: "ERROR", value: (r) => r.error ?? "", color: (r) => (r.error ? "red" : undefined) });
  return <Table columns={columns} rows={requests} width={width} empty="No requests yet." rowKey={(r, i) => `${r.at}-${i}`} />;
}
