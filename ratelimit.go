package keyward

import "time"

// RateLimit caps how many requests one key may make per window (a fixed
// window, shared by every node when Redis is configured). A key without one
// is never limited.
type RateLimit struct {
	Limit  int      `json:"limit"`
	Window Duration `json:"window"`
}

// Bounds of a key's rate limit.
const (
	MaxRateLimit       = 1_000_000
	MinRateLimitWindow = time.Second
	MaxRateLimitWindow = 24 * time.Hour
)

// RateLimitState is a key's rate-limit window as of one request: what the
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers
// say, and, in a verify answer, what the verified key's window holds.
type RateLimitState struct {
	Limit     int `json:"limit"`
	Remaining int `json:"remaining"`
	// Reset is when the window ends and the full limit is available again.
	Reset time.Time `json:"reset"`
}
