import { createHmac } from "node:crypto";
import { EntrySigner } from "../../../src/observability/audit/audit-entry.js";

describe("EntrySigner", () => {
  test("signs exactly as HMAC-SHA256 for short, block-sized and long keys, and any message size", () => {
    const messages = ["", "a", '{"seq":1,"tool":"echo"}', "é€😀".repeat(700), "x".repeat(5000), "ü".repeat(9000), "€".repeat(20_000), "€".repeat(30_000), "y".repeat(70_000), "short again"];
    for (const size of [0, 1, 32, 63, 64, 65, 200]) {
      const key = Buffer.from(Array.from({ length: size }, (_, i) => (i * 37 + size) % 256));
      const signer = new EntrySigner(key);
      for (const message of messages) expect(signer.sign(message)).toBe(createHmac("sha256", key).update(message).digest("hex"));
      // The pads' buffer grew for a 60 KB message, but not for the longer ones (past 64 KiB of message room).
      const room = (signer as unknown as { inner: Buffer }).inner.length - 64;
      expect(room).toBeGreaterThanOrEqual(60_000);
      expect(room).toBeLessThanOrEqual(64 * 1024);
    }
  });

  test("wipe() overwrites the pads it derived from the key", () => {
    const key = Buffer.alloc(32, 7);
    const signer = new EntrySigner(key);
    const before = signer.sign("entry");
    signer.wipe();
    const pads = signer as unknown as { inner: Buffer; outer: Buffer };
    expect(pads.inner.every((byte) => byte === 0)).toBe(true);
    expect(pads.outer.every((byte) => byte === 0)).toBe(true);
    expect(signer.sign("entry")).not.toBe(before);
  });
});
