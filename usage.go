package keyward

import (
	"context"
	"time"
)

// Outcome is what came of one authentication or verification of a known
// key. Unknown and malformed keys have no key to count against and are
// counted by nothing here (see the metrics and the address throttle).
type Outcome uint8

// Outcomes, in the order of UsageCounts' fields.
const (
	OutcomeValid             Outcome = iota // authenticated, or verified valid
	OutcomeInvalid                          // a known key refused as invalid: of another project or kind, or its owner has no role for it
	OutcomeExpired                          // past its expiry
	OutcomeInsufficientScope                // verified without a scope the caller asked for
	OutcomeIPNotAllowed                     // from an address outside its allowlist
	OutcomeRateLimited                      // over its rate limit
	NumOutcomes              = 6            // how many outcomes there are
)

// OutcomeNames are the outcomes' names in the API, CSV and dashboard, by
// Outcome.
var OutcomeNames = [NumOutcomes]string{"valid", "invalid", "expired", "insufficient_scope", "ip_not_allowed", "rate_limited"}

// UsageCounts counts requests by outcome.
type UsageCounts struct {
	Valid             int64 `json:"valid"`
	Invalid           int64 `json:"invalid"`
	Expired           int64 `json:"expired"`
	InsufficientScope int64 `json:"insufficient_scope"`
	IPNotAllowed      int64 `json:"ip_not_allowed"`
	RateLimited       int64 `json:"rate_limited"`
}

// Array returns the counts in Outcome order.
func (c UsageCounts) Array() [NumOutcomes]int64 {
	return [NumOutcomes]int64{c.Valid, c.Invalid, c.Expired, c.InsufficientScope, c.IPNotAllowed, c.RateLimited}
}

// CountsOf is the UsageCounts of n, in Outcome order.
func CountsOf(n [NumOutcomes]int64) UsageCounts {
	return UsageCounts{Valid: n[0], Invalid: n[1], Expired: n[2], InsufficientScope: n[3], IPNotAllowed: n[4], RateLimited: n[5]}
}

// Add adds o's counts to c.
func (c *UsageCounts) Add(o UsageCounts) {
	a, b := c.Array(), o.Array()
	for i := range a {
		a[i] += b[i]
	}
	*c = CountsOf(a)
}

// Total is the sum of every outcome.
func (c UsageCounts) Total() int64 {
	var t int64
	for _, n := range c.Array() {
		t += n
	}
	return t
}

// Failures is every outcome but valid.
func (c UsageCounts) Failures() int64 { return c.Total() - c.Valid }

// Bucket lengths of the usage counts: each count is kept per minute, per
// hour and per day, each for as long as its retention says.
const (
	SpanMinute = time.Minute
	SpanHour   = time.Hour
	SpanDay    = 24 * time.Hour
)

// UsageDelta is counts to add to one key's bucket (Span long, starting at
// Start, which is a multiple of Span since the Unix epoch).
type UsageDelta struct {
	KeyID  string
	Span   time.Duration
	Start  time.Time
	Counts UsageCounts
}

// UsageFilter selects usage buckets of one span: of one key, or of every
// key of a project or of an org (the first of KeyID, ProjectID, OrgID that
// is set), whose start is in [Since, Until).
type UsageFilter struct {
	KeyID     string
	ProjectID string
	OrgID     string
	Span      time.Duration
	Since     time.Time
	Until     time.Time
}

// UsageRow is one key's counts in one bucket.
type UsageRow struct {
	KeyID  string
	Start  time.Time
	Counts UsageCounts
}

// KeyUse is a key's last use: when, from which client address and with
// which user agent ("" when not known).
type KeyUse struct {
	At        time.Time
	IP        string
	UserAgent string
}

// UsageStore keeps usage counts. Every Store is one.
type UsageStore interface {
	// AddUsage adds each delta to its bucket's counts (creating the
	// bucket), in one transaction: nodes add their own deltas, so the
	// sums are exact across nodes. Deltas of unknown (deleted) keys are
	// skipped.
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	// Usage returns the sums per bucket start over the keys f selects,
	// for the non-empty buckets, by start (KeyID is "").
	Usage(ctx context.Context, f UsageFilter) ([]UsageRow, error)
	// UsageByKey returns the sums over the buckets f selects, one row per
	// key (Start is zero), in key id order.
	UsageByKey(ctx context.Context, f UsageFilter) ([]UsageRow, error)
	// PruneUsage deletes the buckets of span that start before t.
	PruneUsage(ctx context.Context, span time.Duration, before time.Time) error
}

// KeyUsage is one key's (or one project's) counts over time.
type KeyUsage struct {
	KeyID       string        `json:"key_id,omitempty"`
	ProjectID   string        `json:"project_id,omitempty"`
	Granularity string        `json:"granularity"`
	Since       time.Time     `json:"since"`
	Until       time.Time     `json:"until"`
	Totals      UsageCounts   `json:"totals"`
	Buckets     []UsageBucket `json:"buckets"`
}

// UsageBucket is the counts of one bucket of a KeyUsage.
type UsageBucket struct {
	Start time.Time `json:"start"`
	UsageCounts
}

// ProjectUsage is a project's usage: its counts over time, and the keys
// used most and failing most.
type ProjectUsage struct {
	KeyUsage
	TopByUse      []KeyUsageTotal `json:"top_keys_by_use"`
	TopByFailures []KeyUsageTotal `json:"top_keys_by_failures"`
}

// KeyUsageTotal is one key's counts over a ProjectUsage's range.
type KeyUsageTotal struct {
	KeyID    string      `json:"key_id"`
	Name     string      `json:"name"`
	Hint     string      `json:"hint"`
	Total    int64       `json:"total"`
	Failures int64       `json:"failures"`
	Counts   UsageCounts `json:"counts"`
}

// CredentialReport lists every key of an org with what an audit of its
// credentials needs.
type CredentialReport struct {
	OrgID       string                `json:"org_id"`
	GeneratedAt time.Time             `json:"generated_at"`
	Keys        []CredentialReportRow `json:"keys"`
}

// CredentialReportRow is one key of a CredentialReport. It never holds a
// secret or a digest.
type CredentialReportRow struct {
	KeyID             string     `json:"key_id"`
	Name              string     `json:"name"`
	Kind              KeyKind    `json:"kind"`
	Hint              string     `json:"hint"`
	ProjectID         string     `json:"project_id,omitempty"`
	Status            KeyStatus  `json:"status"`
	CreatedAt         time.Time  `json:"created_at"`
	AgeDays           int        `json:"age_days"`
	OwnerUserID       *string    `json:"owner_user_id"`
	OwnerEmail        string     `json:"owner_email,omitempty"`
	Scopes            []string   `json:"scopes"`
	ExpiresAt         *time.Time `json:"expires_at"`
	LastUsedAt        *time.Time `json:"last_used_at"`
	LastUsedIP        *string    `json:"last_used_ip"`
	LastUsedUserAgent *string    `json:"last_used_user_agent"`
	DaysSinceLastUse  *int       `json:"days_since_last_use"`
}
