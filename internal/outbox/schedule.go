package outbox

import (
	"math/rand/v2"
	"time"
)

// Retry schedule defaults.
const (
	DefaultRetryBase   = 5 * time.Second
	DefaultRetryWindow = 24 * time.Hour
	maxWait            = 6 * time.Hour
)

// nextAttempt returns when a delivery created at created, whose attempts
// (≥ 1) have all failed, is tried again: the wait grows threefold from
// base (5 s, 15 s, 45 s, … up to 6 h), each stretched or shortened by up
// to a quarter at random so that endpoints coming back are not hit by
// every delivery at once. Nothing is tried after the window: the last
// attempt is made when it ends, and false means the window is over (the
// delivery has failed).
func nextAttempt(created, now time.Time, attempts int, base, window time.Duration) (time.Time, bool) {
	deadline := created.Add(window)
	if !now.Before(deadline) {
		return time.Time{}, false
	}
	wait := base
	for i := 1; i < attempts && wait < maxWait; i++ {
		wait *= 3
	}
	wait = min(wait, maxWait)
	wait = time.Duration(float64(wait) * (0.75 + rand.Float64()/2)) //nolint:gosec // jitter, not a secret
	next := now.Add(wait)
	if next.After(deadline) {
		next = deadline
	}
	return next, true
}
