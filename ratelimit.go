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
