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
// announcement, with the change's number when the feed carries it (0 when
// it does not), and health when the feed is proven alive (true) or found
// broken or silent (false); it reconnects by itself until ctx ends.
type Feed interface {
	Name() string
	Run(ctx context.Context, wake func(seq int64), health func(up bool))
}

// Watcher keeps one node's cache in step with the store's change log.
//
// The feeds only say "look now"; what changed always comes from the log,
// by change number, so a lost announcement costs at most one read
// interval. With a lease (Lease > 0, every node of a shared store), the
// cache answers only within Lease of a successful read of the log (see
// lease.go): the log is read at least every Lease, a wake-up suspends
// answers until it is read, and a broken or hanging feed or store costs
// speed, never correctness. Without a lease (a single SQLite node, whose
// own writes invalidate its cache as they commit) the log is read on each
// wake-up and every Poll, for change streams.
type Watcher struct {
	Cache  *Cache
	Log    ChangeLog
	Feeds  []Feed
	Lease  time.Duration // 0: no lease
	Poll   time.Duration // read interval without a lease; default 1 s
	Keep   time.Duration // how long changes are kept in the log; default 1 h
	Logger *slog.Logger

	// CatchUpTimeout bounds one read of the log; default 200 ms. Answers
	// that wait for a renewal wait at most this long before they read the
	// store.
	CatchUpTimeout time.Duration

	lastLag atomic.Int64 // nanoseconds between a change's commit and its application here

	// seq is the position read up to; only the catch-up in flight uses
	// it, and the fields after it.
	seq    int64
	lastOK time.Time // when the last successful catch-up began

	failures     int       // failed reads in a row
	failingSince time.Time // when the first of them failed
	lastFailLog  time.Time // when one was last logged

	flightMu sync.Mutex
	flight   *catchUpFlight

	healthMu sync.Mutex
	up       map[string]bool
}

// catchUpFlight is one catch-up shared by everyone who asks while it runs.
type catchUpFlight struct {
	done chan struct{}
	err  error
}

// LagSeconds is the delay between the last change applied here and its
// commit, for the keyward_invalidation_lag_seconds metric.
func (w *Watcher) LagSeconds() float64 { return time.Duration(w.lastLag.Load()).Seconds() }

// FeedsUp reports each feed's health by name.
func (w *Watcher) FeedsUp() map[string]bool {
	w.healthMu.Lock()
	defer w.healthMu.Unlock()
	m := make(map[string]bool, len(w.Feeds))
	for _, f := range w.Feeds {
		m[f.Name()] = w.up[f.Name()]
	}
	return m
}

func (w *Watcher) defaults() {
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Keep <= 0 {
		w.Keep = time.Hour
	}
	if w.CatchUpTimeout <= 0 {
		w.CatchUpTimeout = 200 * time.Millisecond
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
}

// Run watches until ctx ends. The cache starts untrusted and is trusted
// once the node has read the log's head.
func (w *Watcher) Run(ctx context.Context) {
	w.defaults()
	w.Cache.SetTrusted(false)
	if w.Lease > 0 {
		w.Cache.UseLease(w.Lease, func(rctx context.Context) error { return w.renew(ctx, rctx) })
	}

	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending; one catch-up covers both
		}
	}
	for _, f := range w.Feeds {
		go f.Run(ctx, func(seq int64) {
			w.Cache.Announced(seq)
			signal()
		}, func(up bool) {
			w.health(f.Name(), up)
			if up {
				signal() // announcements made while it was down are lost: read the log
			}
		})
	}

	for !w.start(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(w.Poll, time.Second)):
		}
	}

	every := w.Poll
	if w.Lease > 0 {
		every = w.Lease
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		case <-prune.C:
			go w.prune(ctx)
			continue
		}
		_ = w.renew(ctx, ctx)
	}
}

// start reads the log's head: the cache starts empty, so nothing in it
// predates that position, and it may answer from then on.
func (w *Watcher) start(ctx context.Context) bool {
	t := w.Cache.Ticket()
	qctx, cancel := context.WithTimeout(ctx, max(w.CatchUpTimeout, time.Second))
	seq, err := w.Log.LatestKeyChange(qctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			w.Logger.Warn("invalidation: cannot read the change log; retrying", "err", err)
		}
		return false
	}
	w.seq, w.lastOK = seq, t.at
	w.Cache.Advance(seq)
	w.Cache.SetTrusted(true)
	w.Cache.Renewed(t)
	return true
}

func (w *Watcher) prune(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Log.PruneKeyChanges(pctx, time.Now().Add(-w.Keep)); err != nil && ctx.Err() == nil {
		w.Logger.Warn("invalidation: pruning the change log failed", "err", err)
	}
}

func (w *Watcher) health(name string, up bool) {
	w.healthMu.Lock()
	if w.up == nil {
		w.up = map[string]bool{}
	}
	was, known := w.up[name]
	w.up[name] = up
	w.healthMu.Unlock()
	switch {
	case up && !was:
		w.Logger.Info("invalidation feed up", "feed", name)
	case !up && (was || !known):
		if w.Lease > 0 {
			w.Logger.Warn("invalidation feed down: changes from other nodes now reach this one within the cache lease", "feed", name, "lease", w.Lease)
		} else {
			w.Logger.Warn("invalidation feed down", "feed", name)
		}
	}
}

// renew runs a catch-up, or joins the one in flight, and waits for it
// until wait ends. The catch-up itself lives until ctx (the watcher's)
// ends or its own timeout passes, so one caller giving up does not fail
// the others.
func (w *Watcher) renew(ctx, wait context.Context) error {
	w.flightMu.Lock()
	f := w.flight
	if f == nil {
		f = &catchUpFlight{done: make(chan struct{})}
		w.flight = f
		go func() {
			f.err = w.catchUp(ctx)
			w.flightMu.Lock()
			w.flight = nil
			w.flightMu.Unlock()
			close(f.done)
		}()
	}
	w.flightMu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-wait.Done():
		return wait.Err()
	}
}

// catchUp applies every change after w.seq and renews the lease.
func (w *Watcher) catchUp(ctx context.Context) error {
	const batch = 1000
	t := w.Cache.Ticket()
	qctx, cancel := context.WithTimeout(ctx, w.CatchUpTimeout)
	defer cancel()
	// A node that could not read the log for half of the time the log
	// keeps changes may have missed some that were pruned: it starts over.
	stale := !w.lastOK.IsZero() && t.at.Sub(w.lastOK) > w.Keep/2
	for {
		changes, err := w.Log.KeyChanges(qctx, w.seq, batch)
		if err != nil {
			w.Cache.Unrenewed()
			if ctx.Err() == nil {
				w.failed(err)
			}
			return err
		}
		if stale {
			w.Cache.InvalidateAll()
			stale = false
		}
		if len(changes) > 0 {
			ids := make([]string, len(changes))
			for i, c := range changes {
				ids[i] = c.KeyID
			}
			w.Cache.Invalidate(ids, nil)
			last := changes[len(changes)-1]
			w.seq = last.Seq
			w.Cache.Advance(w.seq)
			w.lastLag.Store(int64(max(time.Since(last.At), 0)))
		}
		if len(changes) < batch {
			break
		}
	}
	w.lastOK = t.at
	w.Cache.Renewed(t)
	if w.failures > 0 {
		w.Logger.Info("invalidation: reading the change log again", "failed_reads", w.failures, "for", time.Since(w.failingSince).Round(time.Millisecond))
		w.failures = 0
	}
	return nil
}

// failLogEvery spaces the warnings of a change log that keeps failing: it
// is read every lease (ten times a second by default), and an outage must
// not flood the log.
const failLogEvery = 10 * time.Second

// failed logs a failed read of the change log: the first of a run at once,
// then one line every failLogEvery with the count.
func (w *Watcher) failed(err error) {
	now := time.Now()
	if w.failures == 0 {
		w.failingSince = now
	}
	w.failures++
	if w.failures == 1 || now.Sub(w.lastFailLog) >= failLogEvery {
		w.lastFailLog = now
		w.Logger.Warn("invalidation: reading the change log failed; the key cache answers only within its lease, then the store does",
			"err", err, "failed_reads", w.failures, "for", now.Sub(w.failingSince).Round(time.Millisecond))
	}
}
