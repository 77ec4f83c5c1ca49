export { createTestClient, type CallOptions, type TestClient, type TestClientOptions } from "./create-test-client.js";
export { createToken, type CreateTokenOptions } from "./create-token.js";
export type { ProviderOverride } from "../core/providers.js";
