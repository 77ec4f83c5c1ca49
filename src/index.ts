import "reflect-metadata";

export * from "./core/index.js";
export type { HttpOptions } from "./transports/http.js";
export type { ListenOptions, RunningServer } from "./transports/listen.js";
