/**
 * The shapes the benchmark drives, as the main bench declares them (`bench/systems.ts`,
 * `bench/http-systems.ts`); restated here because the peers compile as a package of their own.
 */

/** A system under test served over Streamable HTTP on 127.0.0.1. */
export interface HttpSystem {
  url: string;
  close: () => Promise<void>;
}

/** A connected in-memory client and a `call()` that runs the echo tool once. */
export interface BenchClient {
  call: () => Promise<unknown>;
  close: () => Promise<void>;
}
