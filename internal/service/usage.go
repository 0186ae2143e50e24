package service

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
)

// usageFlushEvery is how often last-used times are written.
const usageFlushEvery = time.Second

// usagePrecision is how far a key's noted time may lag its last use: a
// note less than this after the time already noted changes nothing, so a
// key in use on every core moves its time once a millisecond, not on every
// request. The time kept is always one at which the key was used.
const usagePrecision = int64(time.Millisecond)

// usageRecorder batches last_used_at writes: a verification only notes the
// time in memory, and run writes all pending times in one transaction per
// interval, never one write per request.
type usageRecorder struct {
	store keyward.Store
	log   *slog.Logger

	// cur holds the uses noted since the last flush. Noting a key already
	// in it only reads shared memory (and once a millisecond raises the
	// key's time), so requests with the same key on several cores do not
	// take turns with a lock or a cache line. flush swaps in a new
	// generation; see note for why no use is lost.
	cur atomic.Pointer[usageGen]
}

// usageGen maps a key id to its latest use in the generation, in Unix
// nanoseconds (*atomic.Int64).
type usageGen struct{ uses sync.Map }

func newUsageRecorder(st keyward.Store, log *slog.Logger) *usageRecorder {
	u := &usageRecorder{store: st, log: log}
	u.cur.Store(new(usageGen))
	return u
}

// note records that key id was used at t.
//
// A note that races a flush is never lost: it raises the time in the
// generation it loaded, then loads the current generation again. If flush
// swapped generations before that second load, the note is made again in
// the new one; if after, the swap (and so flush's reading of the old
// generation) comes after the raise, which flush then sees.
func (u *usageRecorder) note(id string, t time.Time) {
	ns := t.UnixNano()
	for {
		g := u.cur.Load()
		v, ok := g.uses.Load(id)
		if !ok {
			v, _ = g.uses.LoadOrStore(id, new(atomic.Int64))
		}
		raise(v.(*atomic.Int64), ns)
		if u.cur.Load() == g {
			return
		}
	}
}

// raise sets v to ns if ns is at least usagePrecision later (v starts at
// zero: the first note sets it).
func raise(v *atomic.Int64, ns int64) {
	for {
		old := v.Load()
		if ns-old < usagePrecision || v.CompareAndSwap(old, ns) {
			return
		}
	}
}

// flush writes the pending times. On failure they are kept for the next try.
func (u *usageRecorder) flush(ctx context.Context) error {
	old := u.cur.Swap(new(usageGen))
	batch := map[string]time.Time{}
	old.uses.Range(func(id, ns any) bool {
		batch[id.(string)] = time.Unix(0, ns.(*atomic.Int64).Load()).UTC()
		return true
	})
	if len(batch) == 0 {
		return nil
	}
	err := u.store.TouchKeys(ctx, batch)
	if err != nil {
		for id, t := range batch {
			u.note(id, t)
		}
	}
	return err
}

func (u *usageRecorder) run(ctx context.Context) {
	t := time.NewTicker(usageFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// A last flush with a fresh context: the server is shutting down.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := u.flush(fctx); err != nil {
				u.log.Error("last_used_at: final flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := u.flush(ctx); err != nil {
				u.log.Warn("last_used_at: flush failed; will retry", "err", err)
			}
		}
	}
}
