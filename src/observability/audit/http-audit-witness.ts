import { checkOptions, defineOptions, option } from "../../core/options.js";
import type { AuditHead } from "./audit-entry.js";
import type { AuditWitness } from "./audit-witness.js";

/** Options of {@link HttpAuditWitness}. */
export interface HttpAuditWitnessOptions {
  /** Where each head is POSTed as JSON. */
  url: string;
  /** Extra request headers (an authorization token, for instance). */
  headers?: Readonly<Record<string, string>>;
  /** Give up on one delivery after this long; default 5000 ms. */
  timeoutMs?: number;
}

const HTTP_WITNESS_OPTIONS = defineOptions<HttpAuditWitnessOptions>("HttpAuditWitness options", {
  url: option.required(option.string({ nonEmpty: true }), "it is where heads are sent"),
  headers: option.object(undefined, "header names and values"),
  timeoutMs: option.milliseconds(1),
}, { endpoint: 'use "url"', timeout: 'use "timeoutMs"' });

/**
 * Sends each signed audit head as `POST <url>` with a JSON body (the head, one object); any 2xx
 * answer means the witness holds it. The endpoint should append what it receives to storage the
 * server cannot rewrite, one head per line: that file is what `lantern audit verify --witness` reads.
 *
 * @example
 * new AuditMiddleware({ logPath, witnesses: [new HttpAuditWitness({ url: "https://witness.internal/heads" })] });
 */
export class HttpAuditWitness implements AuditWitness {
  readonly name: string;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: HttpAuditWitnessOptions) {
    options = checkOptions(HTTP_WITNESS_OPTIONS, options);
    for (const [header, value] of Object.entries(options.headers ?? {})) {
      // fetch would send a missing value as the text "undefined" (an unset token, say).
      if (typeof value !== "string") throw new TypeError(`HttpAuditWitness options: "headers.${header}" must be a string, got ${value === undefined ? "undefined (probably an unset environment variable)" : typeof value}`);
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`HttpAuditWitness: url ${JSON.stringify(options.url)} is not a URL; give an absolute http(s) URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`HttpAuditWitness: url must be http or https, not ${url.protocol}`);
    this.url = url;
    // The name goes into reports: never credentials that a URL may carry.
    this.name = `${url.protocol}//${url.host}${url.pathname}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.headers = { "content-type": "application/json", ...options.headers };
  }

  async send(head: AuditHead): Promise<void> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: this.headers,
      body: JSON.stringify(head),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new Error(`the witness answered HTTP ${response.status}`);
  }
}
