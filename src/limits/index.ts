export { RateLimit } from "./rate-limit.js";
export {
  QuotaMiddleware,
  type LimitSpec,
  type QuotaOptions,
  type QuotaReport,
  type QuotaStanding,
  type RequestDecision,
} from "./quota-middleware.js";
export { RedisStore, type LimitStore, type RedisStoreOptions } from "./redis-store.js";
export type { LimitUsage, LimiterCounts, StoreUnavailablePolicy } from "./limiter.js";
export type { LimitWindow } from "./window.js";
