// keyward's client for JavaScript and TypeScript: key management, key
// verification, a local cache that follows keyward's key change stream,
// and middleware for Node (Connect/Express) and web-standard handlers.

export { Keyward, DEFAULT_URL, ENV_API_KEY, ENV_ORG_API_KEY, ENV_URL, type KeywardOptions } from "./client.js";
export { KeysService, type ListKeysParams } from "./keys.js";
export { AuditService, type ListAuditParams } from "./audit.js";
export { OrgService, ProjectsService, MembersService, InvitationsService, SettingsService } from "./org.js";
export type { ListParams } from "./paging.js";
export type { RequestOptions } from "./request.js";
export { SCOPE_KEYS_VERIFY } from "./verify.js";
export {
  KeywardError,
  KeywardRequestError,
  KeywardConfigError,
  hasCode,
  type ConfigErrorCode,
  type ErrorBody,
  type FieldError,
} from "./errors.js";
export { LocalCache, LOAD_TIMEOUT_MS, type LocalCacheOptions, type ChangeEvent } from "./localcache.js";
export {
  authenticate,
  type AuthOptions,
  type AuthResult,
  type AuthSuccess,
  type AuthFailure,
  type HeadersLike,
} from "./authenticate.js";
export {
  keywardMiddleware,
  protect,
  forwardAuthHandler,
  keyOf,
  FORWARD_AUTH_HEADERS,
  type NodeMiddlewareOptions,
  type NodeRequestLike,
  type NodeResponseLike,
  type WebOptions,
} from "./middleware.js";
export { consoleLogger, silentLogger, type Logger } from "./log.js";
export {
  verifyWebhook,
  KeywardWebhookError,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookEvent,
  type WebhookFailure,
  type WebhookHeaders,
  type VerifyWebhookOptions,
} from "./webhooks.js";
export type * from "./types.js";
