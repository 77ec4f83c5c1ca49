import "reflect-metadata";
import { lantern, EchoServer } from "/work/wt/rate-limits/dist-examples/bench/systems.js";
import { measureAlternating } from "/work/wt/rate-limits/dist-examples/bench/harness.js";
import { QuotaMiddleware } from "lantern-mcp";
const systems = [
  { name: "none", ...(await lantern([])) },
  { name: "noop mw", ...(await lantern([(ctx, next) => next()])) },
  { name: "quota only", ...(await lantern([new QuotaMiddleware({ limit: { points: 1e9, per: "1d" }, resourceUri: false })])) },
];
const rows = await measureAlternating(systems, { warmup: 3000, iterations: 10000, rounds: 9 });
for (const r of rows) console.log(r.name, r.p50Us.toFixed(2), r.callsPerSec.toFixed(0));
await Promise.all(systems.map((s) => s.close()));
