package keyward

import "time"

// AuditEvent is one append-only record of a change or a denied management
// attempt. It never holds a secret.
type AuditEvent struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id"`
	ProjectID string         `json:"project_id,omitempty"`
	Time      time.Time      `json:"time"`
	Actor     ActorRef       `json:"actor"`
	Action    string         `json:"action"`
	Target    ActorRef       `json:"target"`
	Result    string         `json:"result"` // "success" or "denied"
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	RequestID string         `json:"request_id"`
	Details   map[string]any `json:"details,omitempty"`
	// Count is how many times it happened: 1, or for a denied attempt the
	// number of times the same actor made it on the same target within the
	// same minute, all recorded in this one event (the first attempt's
	// time, address and request id). Stores write 0 as 1.
	Count int `json:"count"`
	// AggregateKey, when set, makes InsertAuditEvent add Count to the
	// event already stored with the same key, if there is one, instead of
	// inserting e. Stores keep it but do not return it.
	AggregateKey string `json:"-"`
}

// Audit results.
const (
	ResultSuccess = "success"
	ResultDenied  = "denied"
)

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	OrgID     string
	ProjectID string // "" for the whole org
	Action    string // exact action, or a prefix ending in "." ("key.")
	ActorID   string
	TargetID  string    // events about this key, person or project only
	Since     time.Time // inclusive; zero = no bound
	Until     time.Time // exclusive; zero = no bound
	Limit     int
	Before    string // return events with ids below this one (cursor)
}

// Page is one page of a list: the items and the cursor of the next page.
// Lists that can go back (keys) also give the cursor of the page before,
// when there is one.
type Page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor,omitempty"`
}
