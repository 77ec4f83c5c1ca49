import { Writable } from "node:stream";

/**
 * A stream that parses each JSON line written to it into `lines` (for winston's Stream transport):
 * what a server logged, as objects a test can assert on.
 */
export function jsonLineSink(lines: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}
