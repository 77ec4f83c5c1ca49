export { APIKeyAuth, MIN_API_KEY_LENGTH, type APIKeyEntry } from "./api-key-auth.js";
export { AuthMiddleware, type AuthMiddlewareOptions } from "./auth-middleware.js";
export { identityFromClaims, type AuthProvider, type IdentityMapping } from "./auth-provider.js";
export { JWTAuth, MAX_CLOCK_TOLERANCE_SEC, MIN_SECRET_BYTES, VERIFIED_TOKEN_MAX_AGE_MS, type JWTAuthOptions, type JWTKeySource } from "./jwt-auth.js";
export { SecretDigest, bearerTokenOf } from "./secret-digest.js";
export type { JsonWebKeyInput, PrivateKeyInput, PublicKeyInput } from "./key-algorithms.js";
