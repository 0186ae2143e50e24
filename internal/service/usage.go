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

// usageRecorder batches last_used_at writes: a verification only notes the
// time in memory, and run writes all pending times in one transaction per
// interval, never one write per request.
type usageRecorder struct {
	store keyward.Store
	log   *slog.Logger

	// pending maps a key id to its latest use, in Unix nanoseconds. A key
	// already in it is noted under the read lock with an atomic maximum,
	// so that requests with the same key never wait for each other; the
	// write lock is for a key's first use in an interval and for flush.
	mu      sync.RWMutex
	pending map[string]*atomic.Int64
}

func newUsageRecorder(st keyward.Store, log *slog.Logger) *usageRecorder {
	return &usageRecorder{store: st, log: log, pending: map[string]*atomic.Int64{}}
}

// note records that key id was used at t.
func (u *usageRecorder) note(id string, t time.Time) {
	ns := t.UnixNano()
	u.mu.RLock()
	last, ok := u.pending[id]
	if ok {
		storeMax(last, ns)
	}
	u.mu.RUnlock()
	if ok {
		return
	}
	u.mu.Lock()
	if last, ok = u.pending[id]; !ok {
		last = new(atomic.Int64)
		u.pending[id] = last
	}
	storeMax(last, ns)
	u.mu.Unlock()
}

// storeMax raises v to ns if ns is later.
func storeMax(v *atomic.Int64, ns int64) {
	for {
		old := v.Load()
		if ns <= old || v.CompareAndSwap(old, ns) {
			return
		}
	}
}

// flush writes the pending times. On failure they are kept for the next try.
func (u *usageRecorder) flush(ctx context.Context) error {
	u.mu.Lock()
	pending := u.pending
	u.pending = map[string]*atomic.Int64{}
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	// No note holds the read lock on the old map any more: its times are final.
	batch := make(map[string]time.Time, len(pending))
	for id, ns := range pending {
		batch[id] = time.Unix(0, ns.Load()).UTC()
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
