export { CallContext, type CallChannel, type CallContinuation, type CallerIdentity, type CallKind, type CallOutcome, type ClientRequestMethod, type ProtocolEra, type SessionInfo, type TraceCarrier, type TransportKind } from "./call-context.js";
export { audio, embeddedResource, image, resourceLink, text, toolResult, type ContentBlock } from "./content.js";
export { RequireRoles, RequireScopes } from "./decorators/authorization.js";
export { Inject, Param } from "./decorators/inject.js";
export { Prompt, Resource, Tool } from "./decorators/members.js";
export { middlewareDecorator, UseMiddleware } from "./decorators/middleware.js";
export { Server } from "./decorators/server.js";
export type { AuthorizationRequirement, InputClass, PromptOptions, RateLimitOptions, ResourceOptions, ServerInfo, ToolOptions } from "./definitions.js";
export {
  CancelledError,
  DefinitionError,
  describeError,
  ForbiddenError,
  InvalidParamsError,
  LanternError,
  MissingClientCapabilityError,
  LanternErrorCode,
  NotFoundError,
  SERVER_SHUTDOWN,
  ServerShutdownError,
  ServerStateError,
  RateLimitedError,
  TimeoutError,
  ToolError,
  UnauthorizedError,
  UnsendableResultError,
  type CallStatus,
  type ServerStateCode,
  type RateLimitedData,
  type ValidationIssue,
} from "./errors.js";
export { McpServer, type McpServerOptions } from "./mcp-server.js";
export { REPLICA_ID_ENV } from "./replica-id.js";
export {
  compose,
  mergeOptions,
  type Chain,
  type ConfigurableMiddleware,
  type ConfigurableMiddlewareClass,
  type Middleware,
  type MiddlewareFn,
  type MiddlewareObject,
  type Next,
  type OptionMerge,
} from "./middleware.js";
export type { ProviderFactory, ProviderOptions, ProviderOverride, ResolveDependency } from "./providers.js";
export { callOutcome } from "./outcome.js";
export type { PromptSpec, ResourceHandler, ToolSpec } from "./programmatic.js";
export { LOG_LEVELS, ProgressReporter, ServerLogger } from "./server-logger.js";
export type { Authenticator, CallerLimitUsage, ClientLogRecord, ListeningEndpoint, RefusalEvent, RequestGate, RequestVerdict, RouteHandler, ServerSetup, SessionEvent, ToolLimiter, ToolSummary } from "./server-setup.js";
export type { CacheHints, CallObserver, ConnectOptions } from "./protocol-host.js";
