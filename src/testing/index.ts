export { createTestClient, type CallOptions, type TestClient, type TestClientOptions } from "./create-test-client.js";
