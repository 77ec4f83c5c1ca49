/**
 * Jest runs the TypeScript suites in ESM mode (NODE_OPTIONS=--experimental-vm-modules), on every
 * core: the unit suites against the sources, and, as a project of their own, the few that need the
 * built files (`npm run build`) or spawn processes.
 */
const PROCESS_SUITES = [
  "<rootDir>/test/package/exports.test.ts",
  "<rootDir>/test/package/lazy-libraries.test.ts",
  "<rootDir>/test/transports/stdio.test.ts",
  "<rootDir>/test/limits/lazy-loading.test.ts",
  "<rootDir>/test/observability/audit/crash-recovery.test.ts",
  "<rootDir>/test/observability/audit/tail-erasure.test.ts",
];

/** What every Jest configuration of the project shares (jest.stress.config.js and jest.limits.config.js too). */
export const shared = {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts", ".tsx"],
  roots: ["<rootDir>/test"],
  moduleNameMapper: {
    // Tests import the package by its public names, as users do; Jest maps them to the sources.
    "^lantern-mcp$": "<rootDir>/src/index.ts",
    "^lantern-mcp/testing$": "<rootDir>/src/testing/index.ts",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json", diagnostics: { ignoreCodes: [151002] } }],
  },
};

export default {
  // Jest leaves one core idle by default; the suites wait on I/O and child processes often enough to use both.
  maxWorkers: "100%",
  testTimeout: 30000,
  projects: [
    {
      ...shared,
      displayName: "unit",
      testMatch: ["**/*.test.ts", "**/*.test.tsx"],
      testPathIgnorePatterns: ["/node_modules/", ...PROCESS_SUITES],
    },
    {
      ...shared,
      displayName: "processes",
      testMatch: PROCESS_SUITES,
    },
  ],
};
