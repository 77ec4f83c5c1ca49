export { Dashboard, type DashboardOptions } from "./dashboard.js";
export {
  DashboardAttachError,
  DASHBOARD_TOKEN_ENV,
  DashboardEndpoint,
  type DashboardEndpointAddress,
  type DashboardEndpointOptions,
} from "./dashboard-endpoint.js";
export { DashboardTelemetry, type DashboardTelemetryOptions, type DashboardServer, type DashboardSnapshotLimits } from "./dashboard-telemetry.js";
export type { DashboardAgentLimit, DashboardAgentRow, DashboardLatency, DashboardLogLine, DashboardReplicaRow, DashboardRequest, DashboardSeries, DashboardSnapshot, DashboardToolRow } from "./telemetry-snapshot.js";
