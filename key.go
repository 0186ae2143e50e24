package keyward

import (
	"net/netip"
	"regexp"
	"time"
)

// KeyKind tells project keys (kwp_) from org keys (kwo_).
type KeyKind string

// Key kinds.
const (
	KindProject KeyKind = "project"
	KindOrg     KeyKind = "org"
)

// KeyStatus is a key's state as of a moment.
type KeyStatus string

// Key statuses: active, expiring (rotated, in its grace period), expired, revoked.
const (
	StatusActive   KeyStatus = "active"
	StatusExpiring KeyStatus = "expiring" // rotated, inside its grace period
	StatusExpired  KeyStatus = "expired"
	StatusRevoked  KeyStatus = "revoked"
)

// Built-in scopes of project keys.
const (
	ScopeKeysRead   = "keys:read"
	ScopeKeysWrite  = "keys:write"
	ScopeKeysVerify = "keys:verify"
	ScopeAuditRead  = "audit:read"
)

// Scopes of org keys (besides the keys:* and audit:read scopes above).
const (
	ScopeProjectsRead  = "projects:read"
	ScopeProjectsWrite = "projects:write"
	ScopeMembersRead   = "members:read"
	ScopeMembersWrite  = "members:write"
	ScopeSettingsWrite = "settings:write"
	ScopeWebhooksRead  = "webhooks:read"
	ScopeWebhooksWrite = "webhooks:write"
)

// ScopePattern is the shape of every scope, built-in or a project's own:
// "resource:verb", lower case. The OpenAPI document states it too.
const ScopePattern = `^[a-z][a-z0-9_.-]{0,48}:[a-z0-9_.*-]{1,48}$`

var scopeName = regexp.MustCompile(ScopePattern)

// ValidScopeName reports whether s has the shape of a scope
// ("orders:read"): what a project's custom scopes must look like, and what
// the forward-auth route and `keyward proxy` accept as a required scope.
func ValidScopeName(s string) bool { return scopeName.MatchString(s) }

// ProjectScopes are the built-in scopes a project key may hold.
var ProjectScopes = []string{ScopeKeysRead, ScopeKeysWrite, ScopeKeysVerify, ScopeAuditRead}

// OrgScopes are the scopes an org key may hold.
var OrgScopes = []string{
	ScopeProjectsRead, ScopeProjectsWrite, ScopeKeysRead, ScopeKeysWrite, ScopeKeysVerify,
	ScopeMembersRead, ScopeMembersWrite, ScopeAuditRead, ScopeSettingsWrite,
	ScopeWebhooksRead, ScopeWebhooksWrite,
}

// Key is an API key as stored and shown. The secret itself is never stored:
// Digest is its HMAC-SHA256 (or SHA-256) and is erased on revoke.
type Key struct {
	ID          string     `json:"id"`
	Kind        KeyKind    `json:"kind"`
	Name        string     `json:"name"`
	Hint        string     `json:"hint"`
	ProjectID   string     `json:"project_id,omitempty"`
	OrgID       string     `json:"org_id"`
	Scopes      []string   `json:"scopes"`
	Status      KeyStatus  `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   ActorRef   `json:"created_by"`
	OwnerUserID *string    `json:"owner_user_id"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	// LastUsedIP and LastUsedUserAgent are the client address and user
	// agent of the last use (nil when never used or not known).
	LastUsedIP        *string           `json:"last_used_ip"`
	LastUsedUserAgent *string           `json:"last_used_user_agent"`
	RevokedAt         *time.Time        `json:"revoked_at"`
	RevokedBy         *ActorRef         `json:"revoked_by"`
	RevokeReason      *string           `json:"revoke_reason"`
	IPAllowlist       []string          `json:"ip_allowlist"`
	Metadata          map[string]string `json:"metadata"`
	ReplacedBy        *string           `json:"replaced_by"`
	RateLimit         *RateLimit        `json:"rate_limit"`

	// Secret is set only in the response that creates the key.
	Secret string `json:"secret,omitempty"`
	// Digest is the stored digest of the secret; nil once revoked.
	Digest []byte `json:"-"`
	// NoAccess is set on the verification path when the key's owner no
	// longer holds a role that allows a key of its kind: such a key
	// authenticates nothing until the owner has that role again. Scopes is
	// then what the owner's role allows of the key's scopes (see
	// docs/authority.md).
	NoAccess bool `json:"-"`
}

// StatusAt returns the key's status at time now.
func (k *Key) StatusAt(now time.Time) KeyStatus {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	case k.ReplacedBy != nil:
		return StatusExpiring
	default:
		return StatusActive
	}
}

// Usable reports whether the key counts against limits and can authenticate
// at time now: active or expiring.
func (k *Key) Usable(now time.Time) bool {
	s := k.StatusAt(now)
	return s == StatusActive || s == StatusExpiring
}

// HasScope reports whether the key holds scope s.
func (k *Key) HasScope(s string) bool { return contains(k.Scopes, s) }

// AllowsIP reports whether the key may be used from ip: always when it has
// no IP allowlist, otherwise only from an address inside one of its
// prefixes (an invalid ip is inside none).
func (k *Key) AllowsIP(ip netip.Addr) bool {
	if len(k.IPAllowlist) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, s := range k.IPAllowlist {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// ActorRef names who did something: a user or a key.
type ActorRef struct {
	Type string `json:"type"` // "user", "key" or "system"
	ID   string `json:"id,omitempty"`
}

// Actor reference types.
const (
	ActorUser   = "user"
	ActorKey    = "key"
	ActorSystem = "system"
)

// CreateKeyInput is the body of POST …/keys. Scopes nil means full access.
// At most one of ExpiresAt and ExpiresIn.
type CreateKeyInput struct {
	Name        string            `json:"name"`
	Scopes      []string          `json:"scopes,omitempty"`
	ExpiresAt   *time.Time        `json:"expires_at,omitempty"`
	ExpiresIn   *Duration         `json:"expires_in,omitempty"`
	IPAllowlist []string          `json:"ip_allowlist,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	RateLimit   *RateLimit        `json:"rate_limit,omitempty"`
}

// KeyPatch is the body of PATCH …/keys/{id}. Scopes may only narrow. To
// remove a rate limit send "rate_limit": null (the API's rule for every
// PATCH: null clears a value) or, the same, "clear_rate_limit": true.
type KeyPatch struct {
	Name           *string            `json:"name,omitempty"`
	Scopes         *[]string          `json:"scopes,omitempty"`
	IPAllowlist    *[]string          `json:"ip_allowlist,omitempty"`
	Metadata       *map[string]string `json:"metadata,omitempty"`
	RateLimit      *RateLimit         `json:"rate_limit,omitempty"`
	ClearRateLimit bool               `json:"clear_rate_limit,omitempty"`
}

// RotateInput is the body of POST …/keys/{id}/rotate.
type RotateInput struct {
	GracePeriod *Duration `json:"grace_period,omitempty"`
}

// RevokeInput is the body of POST …/keys/{id}/revoke.
type RevokeInput struct {
	Reason string `json:"reason,omitempty"`
}

// VerifyInput is the body of POST /v1/verify.
type VerifyInput struct {
	Key    string   `json:"key"`
	Scopes []string `json:"scopes,omitempty"`
	// IP is the address of the client that presented the key, for keys with
	// an IP allowlist. Empty skips the allowlist check's address (and fails
	// it for keys that have an allowlist).
	IP string `json:"ip,omitempty"`
}

// Verify result codes.
const (
	VerifyValid             = "VALID"
	VerifyInvalid           = "INVALID"
	VerifyExpired           = "EXPIRED"
	VerifyInsufficientScope = "INSUFFICIENT_SCOPE"
	VerifyIPNotAllowed      = "IP_NOT_ALLOWED"
	VerifyRateLimited       = "RATE_LIMITED"
)

// VerifyCodes are every verify result code.
var VerifyCodes = []string{VerifyValid, VerifyInvalid, VerifyExpired, VerifyInsufficientScope, VerifyIPNotAllowed, VerifyRateLimited}

// VerifyResult is the answer of POST /v1/verify.
type VerifyResult struct {
	Valid bool   `json:"valid"`
	Code  string `json:"code"`
	Key   *Key   `json:"key,omitempty"`
	// RateLimit is the verified key's rate-limit window after this
	// verification counted against it (VALID) or was refused by it
	// (RATE_LIMITED): what to send the client as X-RateLimit-* and
	// Retry-After. Absent for a key without a limit.
	RateLimit *RateLimitState `json:"rate_limit,omitempty"`
}

// Whoami is the answer of GET /v1/whoami.
type Whoami struct {
	KeyID       string   `json:"key_id"`
	Kind        KeyKind  `json:"kind"`
	ProjectID   string   `json:"project_id,omitempty"`
	OrgID       string   `json:"org_id"`
	Scopes      []string `json:"scopes"`
	OwnerUserID *string  `json:"owner_user_id"`
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
