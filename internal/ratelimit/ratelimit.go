// Package ratelimit counts requests in fixed windows: in memory for one
// node, or in Redis so that every node shares one budget. Windows are
// aligned to the Unix epoch, so two nodes agree on where a window starts
// without talking to each other.
package ratelimit

import "time"

// Decision is the outcome of one counted request.
type Decision struct {
	Allowed bool
	// Limit is the budget per window; 0 means no limit applied (and no
	// X-RateLimit headers are due).
	Limit int
	// Remaining is what is left of the budget in this window after this
	// request (0 once refused).
	Remaining int
	// Reset is when the current window ends and the budget is whole again.
	Reset time.Time
}

// RetryAfter is how long a refused caller should wait, as of now.
func (d Decision) RetryAfter(now time.Time) time.Duration {
	return max(d.Reset.Sub(now), 0)
}

// windowStart returns the start of the fixed window of length window that
// holds now, as Unix nanoseconds.
func windowStart(now time.Time, window time.Duration) int64 {
	n := now.UnixNano()
	w := int64(window)
	start := n - n%w
	if n < 0 && n%w != 0 { // before 1970: round down, not toward zero
		start -= w
	}
	return start
}

// decide turns the count of requests so far in a window (this one
// included) into a Decision.
func decide(count int64, limit int, start int64, window time.Duration) Decision {
	return Decision{
		Allowed:   count <= int64(limit),
		Limit:     limit,
		Remaining: int(max(int64(limit)-count, 0)),
		Reset:     time.Unix(0, start+int64(window)),
	}
}
