import { generateKeyPairSync } from "node:crypto";
import { APIKeyAuth, AuthMiddleware, JWTAuth, McpServer, type Middleware } from "lantern-mcp";
import { createToken } from "lantern-mcp/testing";
import { measureAlternating, type Measurement, type SectionResult } from "../harness.js";
import { connectCallers, lanternHttp } from "../http-systems.js";
import { EchoServer } from "../systems.js";

const SECRET = "bench-secret-that-is-comfortably-longer-than-32-bytes";
const API_KEY = "bench_api_key_0123456789abcdef";

/** Lantern's echo server over Streamable HTTP on 127.0.0.1, and a client sending `token` on every request. */
async function overHttp(middleware: Middleware[], token: string | undefined) {
  const server = new McpServer(EchoServer);
  for (const mw of middleware) server.use(mw);
  const system = await lanternHttp(server);
  const callers = await connectCallers(system.url, 1, token ? { Authorization: `Bearer ${token}` } : {});
  return { call: callers.call, close: async () => { await callers.close(); await system.close(); } };
}

/**
 * What verifying a bearer token costs per call. Over Streamable HTTP every request carries
 * the token and is verified before it reaches a session, so this is the honest per-call figure; the
 * second table isolates `JWTAuth.verify` itself.
 */
export async function authSection(): Promise<SectionResult[]> {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // An explicit audience: the HTTP servers listen on random ports, so their resource URIs differ.
  const claims = { subject: "bench-user", clientId: "bench-agent", scopes: ["echo"], expiresIn: 24 * 3600, audience: "bench" };
  const hsToken = await createToken({ secret: SECRET, ...claims });
  const rsToken = await createToken({ privateKey: rsa.privateKey, ...claims });
  const esToken = await createToken({ privateKey: ec.privateKey, ...claims });
  // Full verification on every request (the verified-token cache off), and with it on (the default).
  const hs = new JWTAuth({ secret: SECRET }, { verifiedTokenCacheSize: 0, audience: "bench" });
  const rs = new JWTAuth({ publicKey: rsa.publicKey }, { verifiedTokenCacheSize: 0, audience: "bench" });
  const es = new JWTAuth({ publicKey: ec.publicKey }, { verifiedTokenCacheSize: 0, audience: "bench" });
  const rsCached = new JWTAuth({ publicKey: rsa.publicKey }, { audience: "bench" });

  const systems = [
    { name: "http, no auth", ...(await overHttp([], undefined)) },
    { name: "http, JWT HS256", ...(await overHttp([new AuthMiddleware(hs)], hsToken)) },
    { name: "http, JWT RS256", ...(await overHttp([new AuthMiddleware(rs)], rsToken)) },
    { name: "http, JWT RS256, cached", ...(await overHttp([new AuthMiddleware(rsCached)], rsToken)) },
    { name: "http, API key", ...(await overHttp([new AuthMiddleware(new APIKeyAuth([{ key: API_KEY, clientId: "bench-agent" }]))], API_KEY)) },
  ];
  let rows: Measurement[];
  try {
    rows = await measureAlternating(systems, { warmup: 300, iterations: 1000, rounds: 5 });
  } finally {
    await Promise.all(systems.map((s) => s.close()));
  }
  const base = rows.find((r) => r.name === "http, no auth")!;
  for (const row of rows) row.extra = { addedUs: row.p50Us - base.p50Us };

  const verifyRows = await measureAlternating(
    [
      { name: "verify HS256", call: () => hs.verify(hsToken) },
      { name: "verify RS256", call: () => rs.verify(rsToken) },
      { name: "verify ES256", call: () => es.verify(esToken) },
      { name: "verify RS256, cached", call: () => rsCached.verify(rsToken) },
    ],
    { warmup: 1000, iterations: 4000, rounds: 5 },
  );
  return [
    {
      title: "Auth: trivial tool over Streamable HTTP, bearer token on every request (1 caller)",
      baseline: "http, no auth",
      rows,
      notes: [
        "addedUs = p50 minus the no-auth p50; each HTTP request carries its bearer token and is authenticated before dispatch",
        "plain JWT rows verify in full every time (verifiedTokenCacheSize: 0); \"cached\" is the default, a verified token accepted again until it expires (60 s at most)",
      ],
    },
    {
      title: "Auth: JWTAuth.verify alone (jose over WebCrypto, sequential)",
      baseline: "verify HS256",
      rows: verifyRows,
    },
  ];
}
