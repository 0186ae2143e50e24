package service

import (
	"sync"
	"time"

	"github.com/keyward/keyward"
)

// throttle counts failures per key (an account, an address) in fixed
// windows and refuses once a key has failed max times in its window. It is
// in memory, per node: enough to make password guessing slow.
type throttle[K comparable] struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[K]*failWindow
	// for take: sweep old windows once the table has sweepAt keys (at
	// least takeSweepKeys), and when it is full, at most once a minute.
	sweepAt int
	swept   time.Time
}

// take keeps at most takeMaxKeys keys: beyond, new keys are refused until
// old windows end, so that a flood from ever new addresses costs bounded
// memory, and sweeping costs O(1) per attempt on average.
const (
	takeSweepKeys = 100_000
	takeMaxKeys   = 250_000
)

type failWindow struct {
	start time.Time
	n     int
}

func newThrottle[K comparable](max int, window time.Duration) *throttle[K] {
	return &throttle[K]{max: max, window: window, fails: map[K]*failWindow{}}
}

// reset forgets key's failures (after a success).
func (t *throttle[K]) reset(key K) {
	t.mu.Lock()
	delete(t.fails, key)
	t.mu.Unlock()
}

// take counts one attempt of key before it is made, atomically, so that
// attempts running in parallel cannot all pass one check: once key has max
// attempts in its window it returns RATE_LIMITED and counts nothing.
// Otherwise it returns how many attempts key already had in the window
// (failed ones and ones still running). A failed attempt stays counted; one
// that succeeded or was never made gives its count back with release.
func (t *throttle[K]) take(key K, now time.Time) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.fails[key]
	if w == nil {
		n := len(t.fails)
		if n >= max(t.sweepAt, takeSweepKeys) || n >= takeMaxKeys && now.Sub(t.swept) >= time.Minute {
			for k, old := range t.fails {
				if now.Sub(old.start) >= t.window {
					delete(t.fails, k)
				}
			}
			t.sweepAt, t.swept = 2*len(t.fails), now
		}
		if len(t.fails) >= takeMaxKeys {
			e := keyward.Errorf(keyward.CodeRateLimited, "Too many sign-in attempts on this server; try again later")
			e.RetryAfter = time.Minute
			return 0, e
		}
	}
	if w == nil || now.Sub(w.start) >= t.window {
		w = &failWindow{start: now}
		t.fails[key] = w
	}
	if w.n >= t.max {
		e := keyward.Errorf(keyward.CodeRateLimited, "Too many failed attempts from here; try again later")
		e.RetryAfter = w.start.Add(t.window).Sub(now)
		return w.n, e
	}
	w.n++
	return w.n - 1, nil
}

// release gives back the attempt that take counted for key at time at,
// if its window is still the current one; a key left with no attempts is
// forgotten.
func (t *throttle[K]) release(key K, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.fails[key]; w != nil && !at.Before(w.start) && w.n > 0 {
		if w.n--; w.n == 0 {
			delete(t.fails, key)
		}
	}
}
