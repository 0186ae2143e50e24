package service

import (
	"context"
	"log/slog"
	"sync"
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

	mu      sync.Mutex
	pending map[string]time.Time
}

func newUsageRecorder(st keyward.Store, log *slog.Logger) *usageRecorder {
	return &usageRecorder{store: st, log: log, pending: map[string]time.Time{}}
}

// note records that key id was used at t.
func (u *usageRecorder) note(id string, t time.Time) {
	u.mu.Lock()
	if t.After(u.pending[id]) {
		u.pending[id] = t
	}
	u.mu.Unlock()
}

// flush writes the pending times. On failure they are kept for the next try.
func (u *usageRecorder) flush(ctx context.Context) error {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[string]time.Time{}
	u.mu.Unlock()
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
