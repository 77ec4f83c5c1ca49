import { shared } from "./jest.config.js";

/**
 * `npm run test:stress`: the load and fault suites in test/stress (files named *.stress.ts, so the
 * default `npm test` run never picks them up). They spawn the built production example, so the
 * script builds first; sizes come from STRESS_* environment variables.
 */
export default {
  ...shared,
  roots: ["<rootDir>/test/stress"],
  testMatch: ["**/*.stress.ts"],
  testTimeout: 120000,
};
