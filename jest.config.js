/** Jest runs the TypeScript suites in ESM mode (NODE_OPTIONS=--experimental-vm-modules). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts", ".tsx"],
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts", "**/*.test.tsx"],
  moduleNameMapper: {
    // Tests import the package by its public names, as users do; Jest maps them to the sources.
    "^lantern-mcp$": "<rootDir>/src/index.ts",
    "^lantern-mcp/testing$": "<rootDir>/src/testing/index.ts",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json", diagnostics: { ignoreCodes: [151002] } }],
  },
  testTimeout: 30000,
};
