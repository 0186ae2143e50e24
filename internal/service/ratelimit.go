package service

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/ratelimit"
)

// Limiter counts requests in fixed windows: ratelimit.Memory on one node,
// ratelimit.Redis to share the budget between nodes.
type Limiter interface {
	// Allow counts one request for key in the window of now.
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (ratelimit.Decision, error)
}

// limiterPause is how long the service stops asking a limiter that failed
// (Redis down), so an outage costs one slow call every few seconds rather
// than one per request.
const limiterPause = 5 * time.Second

// limiters is the shared limiter with its fallbacks.
type limiters struct {
	shared Limiter
	local  *ratelimit.Memory // this node's counters, when shared is down
	log    func(err error)

	downUntil atomic.Int64 // Unix nanoseconds; shared is skipped until then
}

// allow counts a request with the shared limiter. ok is false when the
// shared limiter is down: the caller then fails open (per-key limits) or
// counts locally (failed authentications).
func (l *limiters) allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (d ratelimit.Decision, ok bool) {
	if now.UnixNano() < l.downUntil.Load() {
		return ratelimit.Decision{}, false
	}
	d, err := l.shared.Allow(ctx, key, limit, window, now)
	if err != nil {
		if l.downUntil.Swap(now.Add(limiterPause).UnixNano()) <= now.UnixNano() {
			l.log(err) // once per outage (and once per pause after that)
		}
		return ratelimit.Decision{}, false
	}
	return d, true
}

// rateLimit applies k's rate limit, if it has one, and counts this request
// against it. Only valid keys get here, so invalid keys never use a key's
// budget. When the limiter is unreachable the request is allowed (fail
// open): a Redis outage must not take the API down. It never decides
// whether a key is valid.
func (s *Service) rateLimit(ctx context.Context, k *keyward.Key, now time.Time) (ratelimit.Decision, error) {
	rl := k.RateLimit
	if rl == nil {
		return ratelimit.Decision{}, nil
	}
	d, ok := s.limit.allow(ctx, k.ID, rl.Limit, rl.Window.Std(), now)
	if !ok || d.Allowed {
		return d, nil
	}
	e := keyward.Errorf(keyward.CodeRateLimited, "This API key is over its rate limit of %d requests per %s; try again later", rl.Limit, shortDuration(rl.Window.Std()))
	e.RetryAfter = d.RetryAfter(now)
	return d, e
}

// addrThrottle refuses key authentication from a client address that
// presented too many invalid or expired keys in a window. Failures are
// counted with the shared limiter (so every node sees them); the verdict
// "blocked until" is kept here, so the check before each authentication
// costs no network call. A node learns of a block that others caused at
// the address's next failure on it.
type addrThrottle struct {
	limit  int
	window time.Duration
	lim    *limiters

	n       atomic.Int32 // len(blocked), read without the lock
	mu      sync.Mutex
	blocked map[netip.Addr]time.Time // address → end of its block
}

// maxBlocked bounds the blocked addresses kept; past it a new block is not
// recorded here (its failures are still counted and refused at the store).
const maxBlocked = 100_000

func newAddrThrottle(limit int, window time.Duration, lim *limiters) *addrThrottle {
	return &addrThrottle{limit: limit, window: window, lim: lim, blocked: map[netip.Addr]time.Time{}}
}

// check returns RATE_LIMITED while ip is blocked.
func (t *addrThrottle) check(ip netip.Addr, now time.Time) error {
	if t.n.Load() == 0 { // the common case: nobody is blocked, no lock
		return nil
	}
	t.mu.Lock()
	until, ok := t.blocked[ip]
	if ok && !now.Before(until) {
		delete(t.blocked, ip)
		t.n.Store(int32(len(t.blocked)))
		ok = false
	}
	t.mu.Unlock()
	if !ok {
		return nil
	}
	e := keyward.Errorf(keyward.CodeRateLimited, "Too many failed attempts from here; try again later")
	e.RetryAfter = until.Sub(now)
	return e
}

// fail counts one failed authentication from ip, and blocks ip until the
// end of the window once it has used up its failures.
func (t *addrThrottle) fail(ctx context.Context, ip netip.Addr, now time.Time) {
	key := "authfail:" + ip.String()
	d, ok := t.lim.allow(ctx, key, t.limit, t.window, now)
	if !ok {
		d, _ = t.lim.local.Allow(ctx, key, t.limit, t.window, now)
	}
	if d.Remaining > 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.blocked) >= maxBlocked {
		for a, until := range t.blocked {
			if !now.Before(until) {
				delete(t.blocked, a)
			}
		}
	}
	if len(t.blocked) < maxBlocked {
		t.blocked[ip] = d.Reset
	}
	t.n.Store(int32(len(t.blocked)))
}

// shortDuration writes d without zero tails: "24h" rather than "24h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
