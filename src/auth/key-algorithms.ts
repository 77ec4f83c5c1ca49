import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, webcrypto, type JsonWebKey } from "node:crypto";

/** The HMAC algorithms a shared secret may verify. */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

/** Every asymmetric signature algorithm JWTAuth accepts (a JWKS may hold keys of any of these types). */
export const ASYMMETRIC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"] as const;

const EC_ALGORITHM: Record<string, string> = { "prime256v1": "ES256", "P-256": "ES256", "secp384r1": "ES384", "P-384": "ES384", "secp521r1": "ES512", "P-521": "ES512" };

/**
 * The signature algorithms a public (or private) key can serve, decided by the key's own type:
 * this pinning is what makes algorithm confusion (an HS256 token "signed" with an RSA public key)
 * impossible.
 */
export function algorithmsForKey(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"];
    case "ec": {
      const alg = EC_ALGORITHM[key.asymmetricKeyDetails?.namedCurve ?? ""];
      if (!alg) throw new TypeError(`Unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? "(unknown)"}: JWT signatures use P-256, P-384 or P-521`);
      return [alg];
    }
    case "ed25519":
      return ["EdDSA", "Ed25519"];
    default:
      throw new TypeError(`Unsupported key type ${key.asymmetricKeyType ?? key.type}: use an RSA, EC (P-256/384/521) or Ed25519 key`);
  }
}

const isKeyObject = (value: unknown): value is KeyObject =>
  typeof value === "object" && value !== null && (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "KeyObject";

/**
 * A JSON Web Key, as JWTAuth and createToken accept it.
 *
 * @example
 * new JWTAuth({ publicKey: { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" } });
 */
export type JsonWebKeyInput = JsonWebKey & { kty: string; alg?: string; kid?: string };

/**
 * A public key as PEM (SPKI or certificate), a JWK, a Node `KeyObject` or a WebCrypto `CryptoKey`.
 *
 * @example
 * new JWTAuth({ publicKey: readFileSync("idp-public.pem", "utf8") });
 */
export type PublicKeyInput = string | JsonWebKeyInput | KeyObject | webcrypto.CryptoKey;

/**
 * A private key as PEM (PKCS#8, PKCS#1, SEC1), a JWK, a Node `KeyObject` or a WebCrypto `CryptoKey`.
 *
 * @example
 * await createToken({ privateKey: generateKeyPairSync("ed25519").privateKey, subject: "u1" });
 */
export type PrivateKeyInput = string | JsonWebKeyInput | KeyObject | webcrypto.CryptoKey;

// By tag, not instanceof: Node 20 exposes no CryptoKey constructor, and realms (Jest's vm) differ.
const isCryptoKey = (value: unknown): value is webcrypto.CryptoKey =>
  typeof value === "object" && value !== null && (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "CryptoKey";

/** Turns a PEM, JWK or KeyObject into a public KeyObject (a private key yields its public half). */
export function toPublicKey(input: PublicKeyInput): KeyObject {
  if (isCryptoKey(input)) input = KeyObject.from(input);
  if (isKeyObject(input)) {
    if (input.type === "secret") throw new TypeError("JWTAuth({ publicKey }) got a secret key: pass a shared secret as JWTAuth({ secret })");
    return input.type === "private" ? createPublicKey(input) : input;
  }
  if (typeof input === "string") {
    if (!input.trim()) throw new TypeError("JWTAuth({ publicKey }) got an empty string: pass the PEM text of the public key");
    return createPublicKey(input);
  }
  if (typeof input === "object" && input !== null && typeof input.kty === "string") {
    if (input.kty === "oct") throw new TypeError("JWTAuth({ publicKey }) got a symmetric JWK (kty \"oct\"): pass a shared secret as JWTAuth({ secret })");
    return createPublicKey({ key: input, format: "jwk" });
  }
  throw new TypeError("JWTAuth({ publicKey }) takes a PEM string, a JWK object or a KeyObject");
}

/** Turns a PEM, JWK or KeyObject into a private KeyObject. */
export function toPrivateKey(input: PrivateKeyInput): KeyObject {
  if (isCryptoKey(input)) input = KeyObject.from(input);
  if (isKeyObject(input)) {
    if (input.type !== "private") throw new TypeError(`createToken({ privateKey }) needs a private key, got a ${input.type} key`);
    return input;
  }
  if (typeof input === "string") return createPrivateKey(input);
  if (typeof input === "object" && input !== null && typeof input.kty === "string") return createPrivateKey({ key: input, format: "jwk" });
  throw new TypeError("createToken({ privateKey }) takes a PEM string, a JWK object or a KeyObject");
}

/** Turns an HMAC shared secret (UTF-8 string, bytes or secret KeyObject) into a secret KeyObject. */
export const secretBytes = (secret: string | Uint8Array | KeyObject): KeyObject => {
  if (typeof secret === "string") return createSecretKey(Buffer.from(secret, "utf8"));
  if (secret instanceof Uint8Array) return createSecretKey(Buffer.from(secret));
  if (typeof secret === "object" && secret !== null && (secret as KeyObject).type === "secret") return secret as KeyObject;
  throw new TypeError("JWTAuth({ secret }) takes a string, a Uint8Array or a secret KeyObject (for an RSA/EC public key use JWTAuth({ publicKey }))");
};

/** The `alg` a JWK pins itself to, if it names one. */
export const jwkAlgorithm = (input: PublicKeyInput): string | undefined =>
  typeof input === "object" && input !== null && !isKeyObject(input) && !isCryptoKey(input) && typeof input.alg === "string" ? input.alg : undefined;
