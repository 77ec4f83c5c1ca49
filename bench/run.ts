import "reflect-metadata";
import { mkdirSync, writeFileSync } from "node:fs";
import { printSection, type SectionResult } from "./harness.js";
import { coreSection } from "./sections/core.js";
import { authSection } from "./sections/auth.js";
import { metricsSection } from "./sections/metrics.js";
import { tracingLoggingSection } from "./sections/tracing-logging.js";
import { auditSection } from "./sections/audit.js";
import { auditFleetSection } from "./sections/audit-fleet.js";
import { dashboardSection } from "./sections/dashboard.js";
import { fullStackSection } from "./sections/full-stack.js";
import { limitsSection } from "./sections/limits.js";
import { modernHttpSection } from "./sections/modern-http.js";
import { fleetSection } from "./sections/fleet.js";
import { startupSection } from "./sections/startup.js";

/**
 * `npm run bench`: every section in one process, printed as tables and written to
 * bench-results/latest.json. `npm run bench -- core metrics` runs only the named sections.
 */
const SECTIONS: Record<string, () => Promise<SectionResult | SectionResult[]>> = {
  core: coreSection,
  auth: authSection,
  metrics: metricsSection,
  "tracing-logging": tracingLoggingSection,
  audit: auditSection,
  "audit-fleet": auditFleetSection,
  dashboard: dashboardSection,
  "full-stack": fullStackSection,
  limits: limitsSection,
  "modern-http": modernHttpSection,
  fleet: fleetSection,
  startup: startupSection,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((name) => !Object.hasOwn(SECTIONS, name));
if (unknown.length > 0) throw new Error(`unknown bench section(s) ${unknown.map((n) => `"${n}"`).join(", ")}; the sections: ${Object.keys(SECTIONS).join(", ")}`);
const results: SectionResult[] = [];
console.log(`Lantern benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, section] of Object.entries(SECTIONS)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const result = await section();
  for (const r of Array.isArray(result) ? result : [result]) {
    printSection(r);
    results.push(r);
  }
}
mkdirSync("bench-results", { recursive: true });
writeFileSync("bench-results/latest.json", JSON.stringify({ node: process.version, at: new Date().toISOString(), results }, null, 2));
console.log("\nwritten: bench-results/latest.json");
