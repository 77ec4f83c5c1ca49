export type { LogFormat } from "./log-records.js";
export { Logged, StructuredLoggingMiddleware, type LoggedOptions, type StructuredLoggingOptions } from "./structured-logging-middleware.js";
export type { LogFileOptions } from "./log-file.js";
