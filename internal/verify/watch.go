package verify

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
)

// ChangeLog is the store's key change log (keyward.Queries has it).
type ChangeLog interface {
	KeyChanges(ctx context.Context, since int64, limit int) ([]keyward.KeyChange, error)
	LatestKeyChange(ctx context.Context) (int64, error)
	PruneKeyChanges(ctx context.Context, before time.Time) error
}

// Feed wakes a node when key changes may have been committed by another
// node (PostgreSQL LISTEN/NOTIFY, Redis pub/sub). Run calls wake for each
// announcement and health when the feed connects (true) or breaks (false);
// it reconnects by itself until ctx ends.
type Feed interface {
	Run(ctx context.Context, wake func(), health func(up bool))
}

// Watcher keeps one node's cache in step with the store's change log.
//
// The feed only says "look now"; what changed always comes from the log,
// by change number. So a lost announcement costs at most one poll interval,
// and a feed that is down, reconnecting or failing makes the cache
// untrusted (every lookup reads the store) until the node has caught up
// with the log again: a broken feed costs speed, never correctness.
type Watcher struct {
	Cache  *Cache
	Log    ChangeLog
	Feed   Feed
	Poll   time.Duration // safety poll while the feed is up; default 1 s
	Keep   time.Duration // how long changes are kept in the log; default 1 h
	Logger *slog.Logger

	lastLag atomic.Int64 // nanoseconds between a change's commit and its application here

	// trustMu orders the feed's "down" against a catch-up's "trusted":
	// without it a catch-up that began while the feed was up could switch
	// the cache back on just after the feed went down.
	trustMu sync.Mutex
	feedUp  bool
}

// LagSeconds is the delay between the last change applied here and its
// commit, for the keyward_invalidation_lag_seconds metric.
func (w *Watcher) LagSeconds() float64 { return time.Duration(w.lastLag.Load()).Seconds() }

// Run watches until ctx ends. The cache starts untrusted and is trusted
// once the feed is up and the node has read the log to its end.
func (w *Watcher) Run(ctx context.Context) {
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Keep <= 0 {
		w.Keep = time.Hour
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.Cache.SetTrusted(false)

	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending; one catch-up covers both
		}
	}
	go w.Feed.Run(ctx, signal, func(up bool) {
		w.trustMu.Lock()
		if w.feedUp && !up {
			w.Logger.Warn("invalidation feed down: the key cache is off until it is back")
		}
		w.feedUp = up
		if !up {
			w.Cache.SetTrusted(false)
		}
		w.trustMu.Unlock()
		signal()
	})

	var seq int64
	for {
		var err error
		if seq, err = w.Log.LatestKeyChange(ctx); err == nil {
			// The cache starts empty and untrusted: nothing in it predates
			// seq.
			w.Cache.Advance(seq)
			break
		}
		w.Logger.Warn("invalidation: cannot read the change log; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.Poll):
		}
	}

	poll := time.NewTicker(w.Poll)
	defer poll.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		case <-prune.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := w.Log.PruneKeyChanges(pctx, time.Now().Add(-w.Keep)); err != nil {
				w.Logger.Warn("invalidation: pruning the change log failed", "err", err)
			}
			cancel()
			continue
		}
		seq = w.catchUp(ctx, seq)
	}
}

// catchUp applies every change after seq and returns the new position. The
// cache is trusted afterwards only if the feed is up and the log was read
// to its end.
func (w *Watcher) catchUp(ctx context.Context, seq int64) int64 {
	const batch = 1000
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		changes, err := w.Log.KeyChanges(qctx, seq, batch)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				w.Logger.Warn("invalidation: reading the change log failed: the key cache is off", "err", err)
			}
			w.Cache.SetTrusted(false)
			return seq
		}
		if len(changes) > 0 {
			ids := make([]string, len(changes))
			for i, c := range changes {
				ids[i] = c.KeyID
			}
			w.Cache.Invalidate(ids, nil)
			last := changes[len(changes)-1]
			seq = last.Seq
			w.Cache.Advance(seq)
			w.lastLag.Store(int64(max(time.Since(last.At), 0)))
		}
		if len(changes) < batch {
			break
		}
	}
	w.trustMu.Lock()
	if w.feedUp && !w.Cache.Trusted() {
		w.Logger.Info("invalidation feed up and the change log read: the key cache is on")
	}
	w.Cache.SetTrusted(w.feedUp)
	w.trustMu.Unlock()
	return seq
}
