import "reflect-metadata";
import { lantern } from "/work/wt/rate-limits/dist-examples/bench/systems.js";
import { measureAlternating } from "/work/wt/rate-limits/dist-examples/bench/harness.js";
import { QuotaMiddleware } from "lantern-mcp";
import rlf from "rate-limiter-flexible";
const rl = new rlf.RateLimiterMemory({ points: 1e9, duration: 86400 });
const systems = [
  { name: "none", ...(await lantern([])) },
  { name: "one hop", ...(await lantern([(ctx, next) => Promise.resolve().then(next)])) },
  { name: "raw rlf", ...(await lantern([(ctx, next) => rl.consume("k", 1).then(next)])) },
  { name: "quota only", ...(await lantern([new QuotaMiddleware({ limit: { points: 1e9, per: "1d" }, resourceUri: false })])) },
];
const rows = await measureAlternating(systems, { warmup: 3000, iterations: 10000, rounds: 9 });
for (const r of rows) console.log(r.name, r.p50Us.toFixed(2), r.callsPerSec.toFixed(0));
await Promise.all(systems.map((s) => s.close()));
