import { createHash, timingSafeEqual } from "node:crypto";

/**
 * A secret kept as its SHA-256 digest, compared in constant time: comparing fixed-length digests
 * takes the same time wherever two secrets differ and whatever their lengths.
 *
 * @example
 * const expected = SecretDigest.of(process.env.METRICS_TOKEN!);
 * if (!expected.matches(presented)) return unauthorized();
 */
export class SecretDigest {
  private constructor(readonly digest: Buffer) {}

  static of(secret: string): SecretDigest {
    return new SecretDigest(sha256(secret));
  }

  /** True when `candidate` is the secret this digest was made from. */
  matches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.digest);
  }

  /** True when `other` was made from the same secret (constant time). */
  equals(other: SecretDigest): boolean {
    return timingSafeEqual(other.digest, this.digest);
  }
}

const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined when the header is missing
 * or has another shape.
 *
 * @example
 * const token = bearerTokenOf(req.headers.authorization);
 */
export function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1] : undefined;
}
