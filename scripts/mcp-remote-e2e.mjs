// `npm run test:oauth`: mcp-remote (a real MCP client with OAuth discovery) against the production
// example behind a real authorization server (oidc-provider), with no token. It must follow the
// 401 to the protected-resource metadata (no 404 on the well-known paths) and name the
// authorization server. There is no browser here, so the sign-in itself cannot finish: the script
// stops mcp-remote once it has named the authorization server and asked it for a client
// registration, or after a time limit, and checks what it printed.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Provider from "oidc-provider";

const LIMIT_MS = 60_000;
const work = mkdtempSync(join(tmpdir(), "lantern-mcp-remote-"));
const children = [];
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

/** Resolves with the child's output so far once `pattern` shows up in it (or rejects at the time limit). */
const waitFor = (child, output, pattern, what) =>
  new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${LIMIT_MS} ms waiting for ${what}; output so far:\n${output.text}`)), LIMIT_MS);
    const look = () => {
      const match = pattern.exec(output.text);
      if (match) {
        clearTimeout(timer);
        child.stderr.off("data", look);
        resolvePromise(match);
      }
    };
    child.stderr.on("data", look);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!pattern.test(output.text)) reject(new Error(`${what}: the process exited (${code}) first; output:\n${output.text}`));
    });
    look();
  });

const capture = (child) => {
  const output = { text: "" };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => { output.text += chunk; });
  child.stdout?.resume();
  return output;
};

// 1. The authorization server: authorization code + PKCE, dynamic client registration.
const asRequests = [];
const http = createServer();
await new Promise((done) => http.listen(0, "127.0.0.1", done));
const issuer = `http://127.0.0.1:${http.address().port}`;
const provider = new Provider(issuer, {
  scopes: ["offline_access", "inventory:read", "inventory:write"],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => ({ scope: "inventory:read inventory:write", audience: resource, accessTokenFormat: "jwt" }),
    },
  },
});
const handle = provider.callback();
http.on("request", (req, res) => {
  asRequests.push(`${req.method} ${req.url.split("?")[0]}`);
  handle(req, res);
});

try {
  // 2. The production example, on a free port, behind that authorization server.
  const server = spawn(process.execPath, [resolve("dist-examples/examples/production-api/main.js")], {
    env: { ...process.env, PORT: "0", LANTERN_DATA_DIR: join(work, "var"), LANTERN_OAUTH_ISSUER: issuer, LANTERN_DASHBOARD: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(server);
  const serverOutput = capture(server);
  const [, url] = await waitFor(server, serverOutput, /MCP on (http:\/\/\S+\/mcp)/, "the production example to listen");
  const origin = new URL(url).origin;
  console.log(`production example at ${url}, authorization server at ${issuer}`);

  // 3. mcp-remote with no token; its own state in a directory of its own.
  const remote = spawn(process.execPath, [resolve("node_modules/mcp-remote/dist/proxy.js"), url, "--allow-http"], {
    env: { ...process.env, MCP_REMOTE_CONFIG_DIR: join(work, "mcp-auth"), BROWSER: "none" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(remote);
  const remoteOutput = capture(remote);
  const discovered = await waitFor(remote, remoteOutput, /Discovered authorization server: (\S+)/, "mcp-remote to name the authorization server").catch((error) => error);
  // Give it the chance to go on to registration and the authorization URL: wait for the registration request, bounded.
  if (!(discovered instanceof Error)) {
    await waitFor(remote, remoteOutput, /visit|regist|error|browser/i, "mcp-remote to go on after discovery").catch(() => undefined);
  }
  const printed = remoteOutput.text;
  console.log("---- mcp-remote printed ----\n" + printed.trim() + "\n----------------------------");

  check(!(discovered instanceof Error), "mcp-remote named an authorization server");
  check(!(discovered instanceof Error) && discovered[1].replace(/\/$/, "") === issuer, `the authorization server it named is ${issuer}`);
  check(!/\b404\b/.test(printed), "mcp-remote met no 404 (the metadata paths answered)");
  check(!/RegistrationRejectedError/.test(printed), "no RegistrationRejectedError");
  check(printed.includes(`${issuer}/auth?`) && printed.includes(`resource=${encodeURIComponent(url)}`), "it registered a client and built the authorization request for this server's resource URI");
  const metadata = await (await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
  check(metadata.resource === url && metadata.authorization_servers?.[0] === issuer, "the path-suffixed metadata names the resource and the authorization server");
  check((await fetch(`${origin}/.well-known/oauth-protected-resource`)).status === 200, "the bare well-known path answers 200");
  check(asRequests.some((r) => r.includes("/.well-known/")), `mcp-remote fetched the authorization server's metadata (${asRequests.join(", ")})`);
} catch (error) {
  check(false, error instanceof Error ? error.message : String(error));
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((done) => child.once("exit", done)) : undefined)));
  await new Promise((done) => { http.close(() => done()); http.closeAllConnections(); });
  rmSync(work, { recursive: true, force: true });
}
console.log(failures.length ? `\n${failures.length} check(s) failed` : "\nall checks passed");
process.exit(failures.length ? 1 : 0);
