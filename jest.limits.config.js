import { shared } from "./jest.config.js";

/**
 * `npm run test:limits` (scripts/limits-e2e.mjs): the shared-limit suites in test/limits-redis
 * (files named *.redis.ts, so the default `npm test` run never picks them up). They start their own
 * redis-server and spawn the built rate-limited example, so the script builds first.
 */
export default {
  ...shared,
  roots: ["<rootDir>/test/limits-redis"],
  testMatch: ["**/*.redis.ts"],
  testTimeout: 120000,
};
