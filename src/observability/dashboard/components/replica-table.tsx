import type { ReactElement } from "react";
import type { DashboardReplicaRow } from "../telemetry-snapshot.js";
import { formatCount, formatMs, formatUptime } from "./format.js";
import { Table, type Column } from "./table.js";

const STATE_COLORS: Record<DashboardReplicaRow["state"], string> = { up: "green", late: "yellow", down: "red" };

const noteOf = (r: DashboardReplicaRow): string => {
  const notes: string[] = [];
  if (r.state === "down" && r.lastSeen !== undefined) notes.push("stale counts");
  if (r.restarts > 0) notes.push(`restarted ${r.restarts}×`);
  if (r.problem !== undefined && r.state !== "up") notes.push(r.problem);
  return notes.join(" · ");
};

/** The fleet's per-replica breakdown on the Overview: state, calls, errors, p95, last answer. */
export function ReplicaTable({ replicas, takenAt, width }: { replicas: readonly DashboardReplicaRow[]; takenAt: number; width: number }): ReactElement {
  const columns: Column<DashboardReplicaRow>[] = [
    { header: "REPLICA", width: 24, value: (r) => r.name },
    { header: "STATE", width: 5, value: (r) => r.state, color: (r) => STATE_COLORS[r.state] },
    { header: "CALLS", width: 9, align: "right", value: (r) => formatCount(r.calls) },
    { header: "ERRORS", width: 7, align: "right", value: (r) => formatCount(r.errors), color: (r) => (r.errors > 0 ? "red" : undefined) },
    { header: "P95", width: 9, align: "right", value: (r) => formatMs(r.p95Ms) },
    { header: "LAST SEEN", width: 10, align: "right", value: (r) => (r.lastSeen === undefined ? "never" : `${formatUptime(takenAt - r.lastSeen)} ago`) },
    { header: "NOTE", value: noteOf, color: (r) => (r.state === "up" ? undefined : STATE_COLORS[r.state]) },
  ];
  return <Table columns={columns} rows={replicas} width={width} empty="No replicas." rowKey={(r) => r.url} />;
}
