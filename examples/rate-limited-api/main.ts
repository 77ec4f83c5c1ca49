import "reflect-metadata";
import { IsString } from "class-validator";
import {
  APIKeyAuth,
  AuthMiddleware,
  McpServer,
  PrometheusMiddleware,
  QuotaMiddleware,
  RateLimit,
  RedisStore,
  Server,
  Tool,
} from "lantern-mcp";
import { Registry } from "prom-client";

export class Phrase {
  @IsString() text!: string;
}

/**
 * One replica of a translation service whose limits every replica shares through Redis:
 * run several against one Redis and a client gets its allowance once, not once per replica.
 *
 * Environment: PORT (0 = any), REDIS_URL, ALICE_KEY and BOB_KEY (API keys of the two clients),
 * QUOTA (calls per day per client, default 30), ON_STORE_UNAVAILABLE (`allow` or `deny`).
 */
@Server({ name: "translator", version: "1.0.0" })
export class Translator {
  @RateLimit({ points: 10, per: "1h" })
  @Tool({ description: "Translate a phrase (10 an hour per client)" })
  translate(input: Phrase) {
    return `[fr] ${input.text}`;
  }

  @Tool({ description: "Detect the language of a phrase" })
  detect(input: Phrase) {
    return input.text.length % 2 === 0 ? "en" : "fr";
  }
}

const policy = process.env.ON_STORE_UNAVAILABLE === "deny" ? "deny" : "allow";
const registry = new Registry();
const server = new McpServer(Translator);
server.use(new PrometheusMiddleware({ namespace: "translator", registry }));
server.use(new QuotaMiddleware({
  store: new RedisStore({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", keyPrefix: "translator" }),
  limit: { points: Number(process.env.QUOTA ?? 30), per: "1d" },
  onStoreUnavailable: policy,
  registry,
  namespace: "translator",
}));
server.use(new AuthMiddleware(new APIKeyAuth([
  { key: process.env.ALICE_KEY ?? "", clientId: "alice" },
  { key: process.env.BOB_KEY ?? "", clientId: "bob" },
])));
const running = await server.listen({ transport: "http", port: Number(process.env.PORT ?? 3000) });
// One JSON line on stdout, so a supervisor (or the end-to-end test) learns the port picked for PORT=0.
process.stdout.write(`${JSON.stringify({ url: running.url, port: running.port })}\n`);
