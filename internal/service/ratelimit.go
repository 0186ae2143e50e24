package service

import (
	"context"
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
	if ok && d.Allowed && k.ReplacedBy != nil {
		// A key in its rotation grace period spends its replacement's
		// budget too (which started where its own stood), so a key and its
		// replacement together make no more requests than one budget
		// allows, however long the chain of rotations.
		if dn, okn := s.limit.allow(ctx, *k.ReplacedBy, rl.Limit, rl.Window.Std(), now); okn && !dn.Allowed {
			d = dn
		}
	}
	if !ok || d.Allowed {
		return d, nil
	}
	e := keyward.Errorf(keyward.CodeRateLimited, "This API key is over its rate limit of %d requests per %s; try again later", rl.Limit, rl.Window.Human())
	e.RetryAfter = d.RetryAfter(now)
	return d, e
}

// carrier is a Limiter that can make one key's used budget count against
// another key or window (ratelimit.Memory and ratelimit.Redis both can).
type carrier interface {
	Carry(ctx context.Context, from string, fromWindow time.Duration, to string, toWindow time.Duration, now time.Time) error
}

// carryBudget makes what key fromID has used of its rate limit from in the
// current window count against key toID under the limit to: a rotation's
// new key, or the same key under a changed limit, starts where the old one
// stood, so neither rotating nor changing a window is a way to a fresh
// budget. A limiter that cannot be reached is logged and skipped, as
// counting is (fail open).
func (s *Service) carryBudget(ctx context.Context, fromID string, from *keyward.RateLimit, toID string, to *keyward.RateLimit) {
	if from == nil || to == nil {
		return
	}
	c, ok := s.limit.shared.(carrier)
	if !ok {
		return
	}
	if err := c.Carry(ctx, fromID, from.Window.Std(), toID, to.Window.Std(), s.clock.Now()); err != nil {
		s.log.ErrorContext(ctx, "rate limiter: cannot carry a key's used budget", "key_id", toID, "err", err)
	}
}
