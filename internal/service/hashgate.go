package service

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
)

// Every argon2id hash or check holds argonMemory (19 MiB) and one core
// while it runs (about 50 ms), so sign-ins arriving together could take
// all of a server's memory and CPU. A hashGate lets a fixed number of them
// run at once; a few more may wait briefly for a slot, and the rest are
// refused at once with RATE_LIMITED and Retry-After. Nothing queues
// without bound, and hashing never takes more than
// hashSlots() × 19 MiB.
const (
	maxHashSlots     = 4               // at most 76 MiB of argon2id memory
	hashWaitersRatio = 4               // attempts that may wait, per slot
	hashWait         = 2 * time.Second // the longest wait for a slot
)

// hashSlots is how many hashes run at once: half the cores (at least one),
// so that hashing never takes every core from the API, and at most
// maxHashSlots.
func hashSlots() int {
	return min(maxHashSlots, max(1, runtime.GOMAXPROCS(0)/2))
}

// hashGate bounds the password hashing running at once.
type hashGate struct {
	slots      chan struct{}
	waiting    atomic.Int32
	maxWaiting int32
}

func newHashGate(slots int) *hashGate {
	return &hashGate{slots: make(chan struct{}, slots), maxWaiting: int32(slots * hashWaitersRatio)} //nolint:gosec // G115: slots is a small configured count
}

// errHashBusy is the answer when every slot is taken.
func errHashBusy() error {
	e := keyward.Errorf(keyward.CodeRateLimited, "Too many sign-ins at once; try again in a few seconds")
	e.RetryAfter = time.Second
	return e
}

// run calls fn, which computes argon2id, in one of the gate's slots, or
// returns RATE_LIMITED when no slot frees up soon. Every password hash and
// check of the service goes through it.
func (g *hashGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.maxWaiting {
			g.waiting.Add(-1)
			return errHashBusy()
		}
		t := time.NewTimer(hashWait)
		select {
		case g.slots <- struct{}{}:
			t.Stop()
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			return errHashBusy()
		case <-ctx.Done():
			t.Stop()
			g.waiting.Add(-1)
			return errHashBusy()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}
