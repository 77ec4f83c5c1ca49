import "reflect-metadata";

export * from "./core/index.js";
export type { HttpOptions } from "./transports/http.js";
export type { ListenOptions, RunningServer } from "./transports/listen.js";
export * from "./auth/index.js";
export * from "./observability/metrics/index.js";
export * from "./observability/prometheus/index.js";
export * from "./core/protocol/index.js";
export * from "./observability/tracing/index.js";
export * from "./observability/logging/index.js";
export * from "./observability/dashboard/index.js";
export * from "./observability/audit/index.js";
export * from "./limits/index.js";
