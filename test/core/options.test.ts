import "reflect-metadata";
import { IsString } from "class-validator";
import { SignJWT } from "jose";
import * as root from "lantern-mcp";
import {
  APIKeyAuth,
  Audited,
  AuditMiddleware,
  AuthMiddleware,
  AuthorizationServerDiscovery,
  CommandAuditWitness,
  Complete,
  Dashboard,
  DashboardEndpoint,
  DashboardTelemetry,
  HttpAuditWitness,
  identityFromClaims,
  InMemoryEventStore,
  IntrospectionAuth,
  JWTAuth,
  Logged,
  McpServer,
  Metered,
  MetricsCollector,
  MetricsMiddleware,
  OTelMiddleware,
  PrometheusMiddleware,
  QuotaMiddleware,
  RedisStore,
  Prompt,
  Resource,
  Server,
  StructuredLoggingMiddleware,
  Tool,
  ToolError,
  Traced,
  UnauthorizedError,
  verifyAuditLog,
  verifyAuditFleet,
  auditFleetManifest,
  AuditFleetTimeline,
} from "lantern-mcp";
import * as testing from "lantern-mcp/testing";
import { createTestClient, createToken } from "lantern-mcp/testing";
import { Registry } from "prom-client";
import { writeStderrNotice } from "../../src/core/stderr-report.js";
import { captureServerOutput } from "../../src/observability/dashboard/output-capture.js";
import { startOtlpSdk } from "../../src/observability/tracing/otlp-sdk.js";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256!";
const AUDIT_SECRET = "an-audit-secret-long-enough";
const UNSET = "LANTERN_OPTIONS_TEST_SURELY_UNSET";

class Echo {
  @IsString() text!: string;
}

@Server({ name: "options-test", version: "1.0.0" })
class Api {
  @Tool({ description: "Echoes" })
  echo(input: Echo) {
    return input.text;
  }
}

const plainServer = () => new McpServer({ name: "plain", version: "1.0.0" });

/** Declares a class with `decorate` applied to one method, the way a user would. */
const declare = (decorate: MethodDecorator & Partial<ClassDecorator>) => {
  class Declared {
    m(input: Echo) {
      return input;
    }
  }
  decorate(Declared.prototype, "m", Object.getOwnPropertyDescriptor(Declared.prototype, "m")!);
  return Declared;
};

/** Runs `build` (sync or async) and resolves to the refusal's message, or fails the test when nothing was refused. */
async function refusal(build: () => unknown): Promise<{ message: string; type: string }> {
  try {
    await build();
  } catch (error) {
    return { message: (error as Error).message, type: (error as Error).constructor.name };
  }
  throw new Error("expected a refusal, but it was accepted");
}

interface MisspelledCase {
  /** The root (or testing) export this case covers. */
  export: string;
  /** What is being configured, for the test title. */
  what: string;
  build: () => unknown;
  key: string;
  /** What the message must also say: the suggestion or where the key belongs. */
  says: RegExp;
}

// Every public constructor, function and decorator that takes options, each with one misspelled or misplaced key.
const MISSPELLED: MisspelledCase[] = [
  { export: "McpServer", what: "new McpServer(cls, options)", build: () => new McpServer(Api, { defaultTimeoutMS: 1000 } as never), key: "defaultTimeoutMS", says: /did you mean "defaultTimeoutMs"/ },
  { export: "McpServer", what: "new McpServer({ name, version })", build: () => new McpServer({ name: "x", version: "1", titel: "X" } as never), key: "titel", says: /did you mean "title"/ },
  { export: "McpServer", what: "server.listen(options)", build: () => plainServer().listen({ transport: "http", port: 0, maxBodyByte: 10, handleSignals: false } as never), key: "maxBodyByte", says: /did you mean "maxBodyBytes"/ },
  { export: "McpServer", what: "server.listen({ transport: \"stdio\", port })", build: () => plainServer().listen({ transport: "stdio", port: 3000 } as never), key: "port", says: /applies only to \{ transport: "http" \}/ },
  { export: "McpServer", what: "server.addTool(spec)", build: () => plainServer().addTool({ name: "t", description: "d", handler: () => "x", scope: ["a"] } as never), key: "scope", says: /did you mean "scopes"/ },
  { export: "McpServer", what: "server.addResource(uri, handler, options)", build: () => plainServer().addResource("x://y", () => "y", { mimetype: "text/plain" } as never), key: "mimetype", says: /use "mimeType"/ },
  { export: "McpServer", what: "server.addPrompt(spec)", build: () => plainServer().addPrompt({ name: "p", handler: () => "x", descripton: "d" } as never), key: "descripton", says: /did you mean "description"/ },
  { export: "Tool", what: "@Tool", build: () => declare(Tool({ description: "d", timeout: 5 } as never)), key: "timeout", says: /@Tool options of Declared\.m: .*use "timeoutMs"/ },
  { export: "Resource", what: "@Resource", build: () => declare(Resource("x://y", { mimeTyp: "text/plain" } as never)), key: "mimeTyp", says: /@Resource options of Declared\.m: .*did you mean "mimeType"/ },
  { export: "Prompt", what: "@Prompt", build: () => declare(Prompt({ titel: "x" } as never)), key: "titel", says: /@Prompt options of Declared\.m: .*did you mean "title"/ },
  { export: "Server", what: "@Server", build: () => Server({ name: "x", version: "1", instruction: "i" } as never)(class Srv {}), key: "instruction", says: /@Server options of Srv: .*did you mean "instructions"/ },
  { export: "Complete", what: "@Complete", build: () => declare(Complete({ prompt: "p", arg: "a" } as never)), key: "arg", says: /@Complete options of Declared\.m: .*use "argument"/ },
  { export: "Audited", what: "@Audited", build: () => declare(Audited({ redacted: ["ssn"] } as never) as MethodDecorator), key: "redacted", says: /@Audited options of Declared\.m: .*use "redact"/ },
  { export: "Logged", what: "@Logged", build: () => declare(Logged({ includeArguments: true } as never) as MethodDecorator), key: "includeArguments", says: /@Logged options of Declared\.m: .*use "includeArgs"/ },
  { export: "Traced", what: "@Traced", build: () => declare(Traced({ captureArgs: true } as never) as MethodDecorator), key: "captureArgs", says: /@Traced options of Declared\.m: .*use "captureArguments"/ },
  { export: "Metered", what: "@Metered", build: () => declare(Metered({ enabeld: false } as never) as MethodDecorator), key: "enabeld", says: /@Metered options of Declared\.m: .*did you mean "enabled"/ },
  { export: "JWTAuth", what: "JWTAuth options", build: () => new JWTAuth({ secret: SECRET }, { issuers: ["https://idp"] } as never), key: "issuers", says: /use "issuer"/ },
  { export: "JWTAuth", what: "JWTAuth key source", build: () => new JWTAuth({ secret: SECRET, issuer: "https://idp" } as never), key: "issuer", says: /second argument of JWTAuth/ },
  { export: "APIKeyAuth", what: "APIKeyAuth entries", build: () => new APIKeyAuth([{ key: "k".repeat(32), clientId: "c", scope: ["a"] } as never]), key: "scope", says: /APIKeyAuth entry #0.*use "scopes"/ },
  { export: "AuthMiddleware", what: "AuthMiddleware options", build: () => new AuthMiddleware(new JWTAuth({ secret: SECRET }), { hideForbidenTools: true } as never), key: "hideForbidenTools", says: /did you mean "hideForbiddenTools"/ },
  { export: "verifyAuditFleet", what: "verifyAuditFleet options", build: () => verifyAuditFleet("/nonexistent", { secret: "x" } as never), key: "secret", says: /use "secrets" \(a list\)/ },
  { export: "auditFleetManifest", what: "auditFleetManifest options", build: () => auditFleetManifest("/nonexistent", { replica: [] } as never), key: "replica", says: /use "replicas"/ },
  { export: "AuditFleetTimeline", what: "AuditFleetTimeline options", build: () => new AuditFleetTimeline([], { windowSize: 5 } as never), key: "windowSize", says: /use "window"/ },
  { export: "verifyAuditLog", what: "verifyAuditLog options", build: () => verifyAuditLog("/nonexistent.jsonl", { hmacSecret: "x" } as never), key: "hmacSecret", says: /use "secret"/ },
  { export: "IntrospectionAuth", what: "IntrospectionAuth options", build: () => new IntrospectionAuth({ issuer: "https://as.example", clientId: "x", clientSecret: "y", secret: "z" } as never), key: "secret", says: /use "clientSecret"/ },
  { export: "AuthorizationServerDiscovery", what: "AuthorizationServerDiscovery options", build: () => new AuthorizationServerDiscovery("https://as.example", { timeout: 5 } as never), key: "timeout", says: /use "timeoutMs"/ },
  { export: "QuotaMiddleware", what: "QuotaMiddleware options", build: () => new QuotaMiddleware({ limits: { points: 1, per: "1m" } } as never), key: "limits", says: /use "limit"/ },
  { export: "RedisStore", what: "RedisStore options", build: () => new RedisStore({ uri: "redis://127.0.0.1:6379" } as never), key: "uri", says: /use "url"/ },
  { export: "HttpAuditWitness", what: "HttpAuditWitness options", build: () => new HttpAuditWitness({ endpoint: "http://127.0.0.1:1/heads" } as never), key: "endpoint", says: /use "url"/ },
  { export: "CommandAuditWitness", what: "CommandAuditWitness options", build: () => new CommandAuditWitness({ command: "true", timeout: 100 } as never), key: "timeout", says: /use "timeoutMs"/ },
  { export: "AuditMiddleware", what: "AuditMiddleware options", build: () => new AuditMiddleware({ hmacSecret: AUDIT_SECRET, redactFields: ["ssn"] } as never), key: "redactFields", says: /use "redact"/ },
  { export: "StructuredLoggingMiddleware", what: "StructuredLoggingMiddleware options", build: () => new StructuredLoggingMiddleware({ redacted: ["ssn"] } as never), key: "redacted", says: /use "redact"/ },
  { export: "PrometheusMiddleware", what: "PrometheusMiddleware options", build: () => new PrometheusMiddleware({ registry: new Registry(), bearertoken: "t".repeat(32) } as never), key: "bearertoken", says: /did you mean "bearerToken"/ },
  { export: "MetricsMiddleware", what: "MetricsMiddleware options", build: () => new MetricsMiddleware({ enable: false } as never), key: "enable", says: /did you mean "enabled"/ },
  { export: "MetricsCollector", what: "MetricsCollector options", build: () => new MetricsCollector({ maxClient: 5 } as never), key: "maxClient", says: /did you mean "maxClients"/ },
  { export: "MetricsCollector", what: "metrics.registerResource options", build: () => new MetricsCollector().registerResource(plainServer(), { url: "metrics://x" } as never), key: "url", says: /did you mean "uri"/ },
  { export: "OTelMiddleware", what: "OTelMiddleware options", build: () => new OTelMiddleware({ serviceNme: "x" } as never), key: "serviceNme", says: /did you mean "serviceName"/ },
  { export: "Dashboard", what: "Dashboard options", build: () => new Dashboard(plainServer(), { refreshMS: 500 } as never), key: "refreshMS", says: /did you mean "refreshMs"/ },
  { export: "DashboardEndpoint", what: "DashboardEndpoint options", build: () => new DashboardEndpoint(plainServer(), { tokn: "t".repeat(32) } as never), key: "tokn", says: /did you mean "token"/ },
  { export: "DashboardTelemetry", what: "DashboardTelemetry options", build: () => new DashboardTelemetry(plainServer(), { maxAgent: 5 } as never), key: "maxAgent", says: /did you mean "maxAgents"/ },
  { export: "InMemoryEventStore", what: "InMemoryEventStore options", build: () => new InMemoryEventStore({ maxEvent: 5 } as never), key: "maxEvent", says: /did you mean "maxEvents"/ },
  { export: "(internal) captureServerOutput", what: "captureServerOutput options", build: () => captureServerOutput(() => {}, { mod: "tee" } as never), key: "mod", says: /did you mean "mode"/ },
  { export: "(internal) startOtlpSdk", what: "startOtlpSdk options", build: () => startOtlpSdk({ serviceName: "x", endpoint: undefined, metrics: false, enpoint: "http://127.0.0.1:1" } as never), key: "enpoint", says: /did you mean "endpoint"/ },
  { export: "identityFromClaims", what: "identityFromClaims mapping", build: () => identityFromClaims({ sub: "u" }, { method: "jwt", clientIdClam: "cid" } as never), key: "clientIdClam", says: /did you mean "clientIdClaim"/ },
  { export: "createToken", what: "createToken options", build: () => createToken({ secret: SECRET, subjct: "u" } as never), key: "subjct", says: /did you mean "subject"/ },
  { export: "createTestClient", what: "createTestClient options", build: () => createTestClient(Api, { clientinfo: { name: "a", version: "1" } } as never), key: "clientinfo", says: /did you mean "clientInfo"/ },
  {
    export: "createTestClient",
    what: "callTool options",
    build: async () => {
      const client = await createTestClient(Api);
      try {
        await client.callTool("echo", { text: "x" }, { timeoutMS: 100 } as never);
      } finally {
        await client.close();
      }
    },
    key: "timeoutMS",
    says: /did you mean "timeoutMs"/,
  },
];

/**
 * Root exports that are functions (classes included) and take no options object a user writes,
 * each with the reason. A new export must land either here or in MISSPELLED.
 */
const TAKES_NO_OPTIONS: Record<string, string> = {
  CallContext: "built by Lantern for each call",
  ServerLogger: "injected per call", ProgressReporter: "injected per call", Sampler: "injected per call; ask() options are the protocol's sampling params, checked by the SDK",
  Elicitor: "injected per call; the form is a JSON Schema, checked against the protocol", StreamControl: "injected per call", ResourceUpdates: "injected per server",
  Roots: "injected per call; list() takes only the question's key",
  InputRequiredSignal: "thrown by Lantern's helpers inside a call, never built by users",
  MissingClientCapabilityError: "raised by Lantern's helpers (positional arguments)",
  inputRequired: "the SDK's builder of input-required results; the SDK checks its spec",
  acceptedContent: "the SDK's reader of input responses (positional arguments)",
  inputResponse: "the SDK's reader of input responses (positional arguments)",
  CompletionTable: "built by the server from @Complete",
  ServerShutdownError: "raised by Lantern when a shutdown ends a call (no arguments)",
  audienceIncludes: "compares an aud claim with audiences (positional arguments)",
  canonicalResourceUri: "checks a resource URI (positional arguments)",
  protectedResourceMetadataUrl: "derives a URL from a resource URI (positional arguments)",
  insufficientScopeRefusal: "the transport's step-up decision (positional arguments)",
  RateLimit: "its options are checked when the server is built, naming class, method and key (test/limits)",
  RateLimitedError: "raised by the limits (a message and data)",
  UnsendableResultError: "raised by Lantern's result boundary (a message)",
  AuditChainError: "raised by the audit log when a chain cannot be continued (positional arguments)",
  ServerStateError: "raised by Lantern's lifecycle checks (positional arguments)",
  mergeOptions: "merges decorator options by the declared contract (positional arguments)", SecretDigest: "takes a secret, not options",
  text: "content helper with positional arguments", image: "content helper", audio: "content helper", embeddedResource: "content helper",
  resourceLink: "content helper; its extra fields are the protocol's ResourceLink, checked by the SDK", toolResult: "passes a CallToolResult through; the SDK checks it",
  RequireRoles: "takes role names", RequireScopes: "takes scope names", Inject: "takes a token", Param: "takes a template variable name",
  UseMiddleware: "takes middleware", middlewareDecorator: "takes a middleware class and the spec of its decorator options", compose: "takes middleware",
  callOutcome: "takes a call", describeError: "takes an error", bearerTokenOf: "takes a header value",
  LanternError: "an error", CancelledError: "an error", DefinitionError: "an error", ForbiddenError: "an error", InvalidParamsError: "an error",
  NotFoundError: "an error", TimeoutError: "an error", ToolError: "an error", UnauthorizedError: "an error", AuditWriteError: "an error",
  ClientCapabilityError: "an error", DashboardAttachError: "an error",
};

describe("every public constructor, options object and decorator refuses a misspelled or misplaced key, naming it", () => {
  test.each(MISSPELLED.map((c) => [c.what, c] as const))("%s", async (_what, c) => {
    const { message, type } = await refusal(c.build);
    expect(type).toBe("TypeError");
    expect(message).toContain(`unknown option "${c.key}"`);
    expect(message).toMatch(c.says);
  });

  test("the table covers every root and testing export that takes options", () => {
    const covered = new Set(MISSPELLED.map((c) => c.export).filter((name) => !name.startsWith("(internal) ")));
    const exports = { ...root, ...testing } as Record<string, unknown>;
    const unclassified = Object.entries(exports)
      .filter(([name, value]) => typeof value === "function" && !covered.has(name) && !(name in TAKES_NO_OPTIONS))
      .map(([name]) => name);
    expect(unclassified).toEqual([]);
    // Nothing listed that is no longer exported (the lists stay true).
    const stale = [...covered, ...Object.keys(TAKES_NO_OPTIONS)].filter((name) => !(name in exports));
    expect(stale).toEqual([]);
  });
});

describe("undefined means the default; null and wrong types are refused", () => {
  test("listen({ maxBodyBytes: undefined, maxSessions: undefined, sessionIdleMs: undefined }) keeps the limits: a body over 1 MiB gets 413", async () => {
    const config: Record<string, number | undefined> = {};
    const server = plainServer();
    server.addTool({ name: "ping", description: "pong", handler: () => "pong" });
    const running = await server.listen({
      transport: "http",
      port: 0,
      maxBodyBytes: config.maxBodyBytes,
      maxSessions: config.maxSessions,
      sessionIdleMs: config.sessionIdleMs,
      handleSignals: false,
    });
    try {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(1024 * 1024 + 10) } });
      const response = await fetch(running.url!, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      });
      expect(response.status).toBe(413);
      await response.arrayBuffer();
    } finally {
      await server.close();
    }
  });

  test("null, wrong types and out-of-range values are refused, naming the key", async () => {
    await expect(plainServer().listen({ transport: "http", port: 0, maxBodyBytes: null } as never)).rejects.toThrow(
      new TypeError('server.listen({ transport: "http" }): "maxBodyBytes" is null; it must be a whole number of bytes of at least 1 (leave the key out for the default)'),
    );
    await expect(plainServer().listen({ transport: "http", port: 0, sessionIdleMs: 1 })).rejects.toThrow(RangeError);
    await expect(plainServer().listen({ transport: "sse" } as never)).rejects.toThrow(new RangeError('server.listen(options): "transport" must be "stdio" or "http", got "sse"'));
    await expect(plainServer().listen({ port: 3000 } as never)).rejects.toThrow(/server\.listen\(options\) needs \{ transport \}/);
    await expect(plainServer().listen({ transport: "http", port: 0, maxSessions: "10" } as never)).rejects.toThrow(/"maxSessions" must be a whole number of at least 1, got the string "10"; convert it with Number/);
    expect(() => new McpServer(Api, { defaultTimeoutMs: 2 ** 31 })).toThrow(/"defaultTimeoutMs" must be a whole number of ms from 0 to 2147483647/);
    // An options class would have its getters dropped unseen: only plain objects are read.
    class JwtConfig {
      get issuer() {
        return "https://idp.example";
      }
    }
    expect(() => new JWTAuth({ secret: SECRET }, new JwtConfig())).toThrow(/expected a plain options object, got a JwtConfig/);
  });

  test("undefined options of a decorator and of JWTAuth take the defaults", () => {
    const Declared = declare(Tool({ description: "d", input: Echo, timeoutMs: undefined }));
    expect(() => new McpServer({ name: "x", version: "1" }).register(Declared)).not.toThrow();
    expect(new JWTAuth({ secret: SECRET }, { clockToleranceSec: undefined, algorithms: undefined }).algorithms).toEqual(["HS256", "HS384", "HS512"]);
  });
});

describe("JWTAuth refuses configurations that would silently weaken it", () => {
  test("an issuer from an unset environment variable", () => {
    expect(() => new JWTAuth({ secret: SECRET }, { issuer: process.env[UNSET] })).toThrow(
      /JWTAuth options \(the second argument of new JWTAuth\): "issuer" was given as undefined \(probably an unset environment variable\)\. Give it a value, or leave the key out if you mean to accept tokens from any issuer/,
    );
    expect(() => new JWTAuth({ secret: SECRET }, { audience: process.env[UNSET] })).toThrow(/"audience" was given as undefined/);
    expect(() => new JWTAuth({ secret: SECRET }, { issuer: "" })).toThrow(RangeError);
  });

  test("issuer, audience and the rest passed in the key source (one config object) are refused, not ignored", () => {
    const cfg = { secret: SECRET, issuer: "https://idp.example", audience: "hr-api" };
    expect(() => new JWTAuth(cfg as never)).toThrow(/JWTAuth key source \(the first argument of new JWTAuth\): unknown option "issuer": it belongs in the second argument of JWTAuth/);
    expect(() => new JWTAuth({ secret: SECRET }, { iss: "https://idp.example" } as never)).toThrow(/unknown option "iss": use "issuer"/);
    expect(() => new JWTAuth({ secret: SECRET }, { secret: SECRET } as never)).toThrow(/unknown option "secret": it belongs in the first argument of JWTAuth/);
    expect(() => new JWTAuth({ secret: SECRET, jwksUrl: "https://idp.example/jwks" } as never)).toThrow(/give exactly one key source, not secret and jwksUrl/);
  });

  test("a clock tolerance over 300 s needs allowLargeClockTolerance", () => {
    let error: unknown;
    try {
      new JWTAuth({ secret: SECRET }, { clockToleranceSec: 1e9 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/"clockToleranceSec" is 1000000000 seconds; at most 300 are accepted.*allowLargeClockTolerance: true/);
    expect(() => new JWTAuth({ secret: SECRET }, { clockToleranceSec: 300 })).not.toThrow();
    expect(() => new JWTAuth({ secret: SECRET }, { clockToleranceSec: 3600, allowLargeClockTolerance: true })).not.toThrow();
    expect(() => new JWTAuth({ secret: SECRET }, { clockToleranceSec: -1 })).toThrow(RangeError);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const reasonOf = (promise: Promise<unknown>) =>
    promise.then(() => "accepted", (e: unknown) => (e instanceof UnauthorizedError ? e.message : `not an UnauthorizedError: ${String(e)}`));

  test("iat in the future beyond the clock tolerance is refused", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { clockToleranceSec: 60 });
    const future = await createToken({ secret: SECRET, subject: "u", claims: { iat: now() + 3600 } });
    expect(await reasonOf(auth.verify(future))).toBe("Unauthorized: the token's issue time (iat) is in the future; check the issuer's clock");
    const withinTolerance = await createToken({ secret: SECRET, subject: "u", claims: { iat: now() + 30 } });
    expect(await reasonOf(auth.verify(withinTolerance))).toBe("accepted");
    const strict = new JWTAuth({ secret: SECRET });
    expect(await reasonOf(strict.verify(withinTolerance))).toBe("Unauthorized: the token's issue time (iat) is in the future; check the issuer's clock");
  });

  test("maxTokenAgeSec refuses old tokens, tokens issued for longer (exp in the year 9999), and tokens without iat", async () => {
    const auth = new JWTAuth({ secret: SECRET }, { maxTokenAgeSec: 600 });
    const fresh = await createToken({ secret: SECRET, subject: "u", expiresIn: 300 });
    expect(await reasonOf(auth.verify(fresh))).toBe("accepted");
    const old = await createToken({ secret: SECRET, subject: "u", claims: { iat: now() - 900 }, expiresIn: 300 });
    expect(await reasonOf(auth.verify(old))).toBe("Unauthorized: the token is older than this server accepts; obtain a new one");
    const forever = await createToken({ secret: SECRET, subject: "u", expiresIn: null, claims: { exp: 253402300799 } });
    expect(await reasonOf(auth.verify(forever))).toBe("Unauthorized: the token's lifetime (exp - iat) is longer than this server accepts; ask the issuer for shorter-lived tokens");
    // Without the option, expiry alone decides: the same token is accepted.
    expect(await reasonOf(new JWTAuth({ secret: SECRET }).verify(forever))).toBe("accepted");
    const noIat = await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime(now() + 60).sign(new TextEncoder().encode(SECRET));
    expect(await reasonOf(auth.verify(noIat))).toBe("Unauthorized: the token has no issue time (iat), and this server limits token age");
    expect(() => new JWTAuth({ secret: SECRET }, { maxTokenAgeSec: process.env[UNSET] as unknown as number })).toThrow(/"maxTokenAgeSec" was given as undefined/);
    expect(() => new JWTAuth({ secret: SECRET }, { maxTokenAgeSec: 0 })).toThrow(RangeError);
  });
});

describe("security opt-ins refuse what would switch them off", () => {
  test("AuditMiddleware({ redact: \"ssn\" }): a string is not a list", () => {
    expect(() => new AuditMiddleware({ hmacSecret: AUDIT_SECRET, redact: "ssn" as never })).toThrow(
      new TypeError('AuditMiddleware options: "redact" must be a list of strings, got the string "ssn"; a single string is not a list: write ["ssn"]'),
    );
    expect(() => declare(Audited({ redact: "ssn" } as never) as MethodDecorator)).toThrow(/@Audited options of Declared\.m: "redact" must be a list of strings/);
    expect(() => new AuditMiddleware({ hmacSecret: AUDIT_SECRET, redact: process.env[UNSET] as never })).toThrow(/"redact" was given as undefined .*leave the key out if you mean to redact nothing/);
    expect(() => new StructuredLoggingMiddleware({ redact: "ssn" as never })).toThrow(/"redact" must be a list of strings/);
  });

  test("PrometheusMiddleware: bearertoken, token and bearerToken: undefined never leave /metrics open", () => {
    const registry = new Registry();
    expect(() => new PrometheusMiddleware({ registry, bearertoken: "t".repeat(32) } as never)).toThrow(/unknown option "bearertoken"; did you mean "bearerToken"/);
    expect(() => new PrometheusMiddleware({ registry, token: "t".repeat(32) } as never)).toThrow(/unknown option "token": use "bearerToken"/);
    expect(() => new PrometheusMiddleware({ registry, bearerToken: process.env[UNSET] })).toThrow(
      /PrometheusMiddleware options: "bearerToken" was given as undefined \(probably an unset environment variable\)\. Give it a value, or leave the key out if you mean to serve \/metrics without authentication/,
    );
  });

  test("McpServer({ defaultTimeoutMS }) is refused", () => {
    expect(() => new McpServer(Api, { defaultTimeoutMS: 5000 } as never)).toThrow(
      /^new McpServer\(…, options\): unknown option "defaultTimeoutMS"; did you mean "defaultTimeoutMs"\?/,
    );
  });

  test("@Tool({ scopes: undefined }) is refused: it would let every caller run the tool", () => {
    expect(() => declare(Tool({ description: "d", scopes: process.env[UNSET] as never }))).toThrow(/@Tool options of Declared\.m: "scopes" was given as undefined/);
  });

  test("decorators refuse instance options they would drop: @Traced({ endpoint }), @Logged({ logger }), @Audited({ logPath })", () => {
    expect(() => declare(Traced({ endpoint: "http://127.0.0.1:4318" } as never) as MethodDecorator)).toThrow(/unknown option "endpoint": endpoint decides where spans go, which belongs to the OTelMiddleware instance/);
    expect(() => declare(Logged({ format: "ecs" } as never) as MethodDecorator)).toThrow(/unknown option "format": format configures the shared logger/);
    expect(() => new StructuredLoggingMiddleware({ logger: root.StructuredLoggingMiddleware as never })).toThrow(/"logger" must be a winston Logger/);
  });

  test("createTestClient(instance, { server }) is refused: the options would be ignored", async () => {
    await expect(createTestClient(new McpServer(Api), { server: { defaultTimeoutMs: 10 } })).rejects.toThrow(/"server" configures the server built from a class/);
  });
});

describe("what Lantern writes to stderr cannot forge a log line", () => {
  const captureStderr = () => {
    const original = process.stderr.write;
    let text = "";
    process.stderr.write = ((chunk: string | Uint8Array) => {
      text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    }) as typeof process.stderr.write;
    return { text: () => text, restore: () => { process.stderr.write = original; } };
  };
  const forged = '\n{"level":"info","event":"tool_call","tool":"transfer","status":"ok"}\n';

  test("a tool error whose message holds \\n{...} is one escaped JSON line", async () => {
    @Server({ name: "forge", version: "1.0.0" })
    class Forge {
      @Tool({ description: "Fails with a quoted argument" })
      fail(input: Echo) {
        throw new Error(`bad value ${input.text}`);
      }
    }
    const client = await createTestClient(Forge);
    const stderr = captureStderr();
    let result;
    try {
      result = await client.callTool("fail", { text: forged });
    } finally {
      stderr.restore();
      await client.close();
    }
    expect(result.isError).toBe(true);
    const lines = stderr.text().split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({ level: "error", event: "internal_error", kind: "tool", tool: "fail", error: `Error: bad value ${forged}` });
    expect(event.stack).toContain("bad value");
  });

  test("a [lantern] notice stays on one line", () => {
    const stderr = captureStderr();
    try {
      writeStderrNotice(`the completer failed: ${forged}\r\u2028`);
    } finally {
      stderr.restore();
    }
    const text = stderr.text();
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/[\n\r\u2028]/);
    expect(text).toMatch(/^\[lantern\] the completer failed: \\n\{"level":"info"/);
  });

  test("a ToolError is the client's business, not stderr's", async () => {
    @Server({ name: "tool-error", version: "1.0.0" })
    class Refuses {
      @Tool({ description: "Refuses" })
      refuse(input: Echo) {
        throw new ToolError(`no ${input.text}`);
      }
    }
    const client = await createTestClient(Refuses);
    const stderr = captureStderr();
    try {
      expect((await client.callTool("refuse", { text: "x" })).isError).toBe(true);
    } finally {
      stderr.restore();
      await client.close();
    }
    expect(stderr.text()).toBe("");
  });
});
