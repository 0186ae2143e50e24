// The API's JSON, as it travels: bodies and answers keep the API's
// snake_case names, times are RFC 3339 strings and durations are strings
// such as "90s", "24h" or "7d" (docs/openapi.json is the full contract).

/** A duration as the API writes it: "90s", "30m", "24h", "7d", "1h30m". */
export type Duration = string;

/** An RFC 3339 time, e.g. "2025-01-31T12:00:00Z". */
export type Timestamp = string;

/** Project keys (kwp_…) or org keys (kwo_…). */
export type KeyKind = "project" | "org";

/** A key's state as of the answer. */
export type KeyStatus = "active" | "expiring" | "expired" | "revoked";

/** Who did something: a user, a key or keyward itself. */
export interface ActorRef {
  type: "user" | "key" | "system" | (string & {});
  id?: string;
}

/** How many requests a key may make per window. */
export interface RateLimit {
  limit: number;
  window: Duration;
}

/** A key's rate-limit window as of one request. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** When the window ends and the full limit is available again. */
  reset: Timestamp;
}

/** An API key as keyward shows it. `secret` is set only when it is created or rotated. */
export interface Key {
  id: string;
  kind: KeyKind;
  name: string;
  hint: string;
  project_id?: string;
  org_id: string;
  scopes: string[];
  status: KeyStatus;
  created_at: Timestamp;
  created_by: ActorRef;
  owner_user_id: string | null;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_by: ActorRef | null;
  revoke_reason: string | null;
  ip_allowlist: string[] | null;
  metadata: Record<string, string> | null;
  replaced_by: string | null;
  rate_limit: RateLimit | null;
  /** The key itself: only in the answer that creates or rotates it. */
  secret?: string;
}

/** One page of a list and the cursor of the next (null on the last page). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  prev_cursor?: string | null;
}

/** The body of POST …/keys. Leave `scopes` out to get the creator's own. */
export interface CreateKeyInput {
  name: string;
  scopes?: string[];
  expires_at?: Timestamp;
  expires_in?: Duration;
  ip_allowlist?: string[];
  metadata?: Record<string, string>;
  rate_limit?: RateLimit;
}

/**
 * The body of PATCH …/keys/{id}: a member left out keeps its value, null
 * clears `rate_limit`, `ip_allowlist` or `metadata`. Scopes only narrow.
 */
export interface KeyPatch {
  name?: string;
  scopes?: string[];
  ip_allowlist?: string[] | null;
  metadata?: Record<string, string> | null;
  rate_limit?: RateLimit | null;
}

/** The body of POST …/keys/{id}/rotate. Without a grace period the old key is revoked at once. */
export interface RotateInput {
  grace_period?: Duration;
}

/** The body of POST …/keys/{id}/revoke. */
export interface RevokeInput {
  reason?: string;
}

/** The body of POST /v1/verify: the key your API received, what it must hold and where it came from. */
export interface VerifyInput {
  key: string;
  scopes?: string[];
  /** The address of the client that presented the key, for keys with an IP allowlist. */
  ip?: string;
}

/** Verify result codes; a code this SDK does not know is treated as INVALID. */
export type VerifyCode =
  | "VALID"
  | "INVALID"
  | "EXPIRED"
  | "INSUFFICIENT_SCOPE"
  | "IP_NOT_ALLOWED"
  | "RATE_LIMITED";

/** The answer of POST /v1/verify. A key that is not valid is an answer, not an error. */
export interface VerifyResult {
  valid: boolean;
  code: VerifyCode | (string & {});
  key?: Key;
  /** The verified key's window after this verification, for keys with a rate limit. */
  rate_limit?: RateLimitState;
}

/** The answer of GET /v1/whoami and GET /v1/org/whoami. */
export interface Whoami {
  key_id: string;
  kind: KeyKind;
  project_id?: string;
  org_id: string;
  scopes: string[];
  owner_user_id: string | null;
}

/** A project of the org. */
export interface Project {
  id: string;
  org_id: string;
  name: string;
  slug: string;
  custom_scopes: string[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The body of POST /v1/org/projects. */
export interface CreateProjectInput {
  name: string;
  slug?: string;
  custom_scopes?: string[];
}

/** The body of PATCH /v1/org/projects/{id}; null clears `custom_scopes`. */
export interface ProjectPatch {
  name?: string;
  slug?: string;
  custom_scopes?: string[] | null;
}

/** A member's role in the org. */
export type OrgRole = "owner" | "admin" | "member";

/** A member's role in one project; "" removes them from it (in a patch). */
export type ProjectRole = "admin" | "developer" | "viewer" | "";

/** What happens to a removed member's keys. */
export type KeyHandling = "revoke" | "transfer";

/** A member's role in one project. */
export interface ProjectMember {
  project_id: string;
  user_id?: string;
  role: ProjectRole;
}

/** A pending invitation to the org. `url` is shown only when it is made. */
export interface Invitation {
  id: string;
  org_id: string;
  user_id: string;
  email: string;
  role: OrgRole;
  projects: ProjectMember[];
  created_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at?: Timestamp;
  revoked_at?: Timestamp;
  url?: string;
}

/** A member of the org. */
export interface Member {
  org_id: string;
  user_id: string;
  email: string;
  name: string;
  role: OrgRole;
  created_at: Timestamp;
  projects: ProjectMember[];
  /** "pending" when the person was only invited (they already had an account). */
  status?: string;
  invitation?: Invitation;
}

/** The body of POST /v1/org/members. */
export interface AddMemberInput {
  email: string;
  name?: string;
  role: OrgRole;
  projects?: ProjectMember[];
}

/** The body of PATCH /v1/org/members/{user_id}. */
export interface MemberPatch {
  role?: OrgRole;
  projects?: ProjectMember[];
  key_handling?: KeyHandling;
  transfer_to?: string;
}

/** How a member is removed: their keys are revoked (default) or transferred. */
export interface RemoveMemberInput {
  key_handling?: KeyHandling;
  transfer_to?: string;
}

/** The org's limits and policies. */
export interface Settings {
  max_keys_per_user: number;
  max_keys_per_project: number;
  max_org_keys: number;
  max_key_lifetime: Duration | null;
  rotation_max_grace: Duration;
}

/** The body of PATCH /v1/org/settings; null clears `max_key_lifetime`. */
export interface SettingsPatch {
  max_keys_per_user?: number;
  max_keys_per_project?: number;
  max_org_keys?: number;
  max_key_lifetime?: Duration | null;
  rotation_max_grace?: Duration;
}

/** One audit record. It never holds a secret. */
export interface AuditEvent {
  id: string;
  org_id: string;
  project_id?: string;
  time: Timestamp;
  actor: ActorRef;
  action: string;
  target: ActorRef;
  result: "success" | "denied" | (string & {});
  ip: string;
  user_agent: string;
  request_id: string;
  details?: Record<string, unknown>;
  /** How many times it happened (repeated denied attempts share one event). */
  count: number;
}
