package keyward

import "time"

// KeyLeak is the latest report that a key was found where others can see
// it (a public repository, a paste): by secret scanning, through the leak
// report endpoint (docs/leaks.md). The key's secret is never kept.
type KeyLeak struct {
	KeyID   string    `json:"key_id"`
	OrgID   string    `json:"-"`
	FoundAt time.Time `json:"found_at"`
	URL     string    `json:"url"`    // where it was found, as the reporter says
	Source  string    `json:"source"` // what the reporter scanned (content, commit, issue…), when it says
	Action  string    `json:"action"` // what keyward did: LeakRevoked or LeakFlagged
}

// What keyward does with a live key reported as leaked: the org's
// leak_policy setting.
const (
	LeakRevoke = "revoke" // revoke it at once (the default)
	LeakFlag   = "flag"   // keep it working, marked leaked, for its owner to rotate
)

// Actions recorded on a KeyLeak.
const (
	LeakRevoked = "revoked"
	LeakFlagged = "flagged"
)
