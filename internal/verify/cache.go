// Package verify is the hot path of key verification: an in-memory cache of
// key digests (positive and negative entries, bounded), single-flight
// loading on a miss, and the trust switch that an invalidation feed flips
// when it cannot vouch for the cache.
package verify

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
	"golang.org/x/sync/singleflight"
)

// Digest is a key's stored digest, as a map key.
type Digest = [32]byte

// Options bound the cache.
type Options struct {
	MaxEntries  int           // default 100,000
	PositiveTTL time.Duration // how long a found key is trusted without a reload; default 60 s
	NegativeTTL time.Duration // how long "no such key" is remembered; default 10 s
}

// Cache maps key digests to keys. Entries are immutable snapshots: callers
// must not modify a *keyward.Key they get from it.
//
// Correctness rests on the epoch: every invalidation bumps it, and a value
// loaded from the store is cached only if no invalidation happened while it
// was being loaded. So a lookup racing with a revoke can never put the
// revoked key back.
type Cache struct {
	opts Options

	// entries (Digest -> *entry) is read without a lock: every
	// verification reads it. mu serializes the writers, which keep byID
	// and held (every digest in entries, for eviction) with it.
	entries sync.Map
	mu      sync.Mutex
	byID    map[string]Digest
	held    digests

	epoch   atomic.Uint64
	trusted atomic.Bool
	group   singleflight.Group

	hits, misses atomic.Uint64

	// pos is the last change of the store's change log that has been
	// applied here (see Watcher); posChanged is closed and replaced
	// whenever pos or trust changes, for change streams to wait on. pos
	// is written under posMu and read without it: every verification
	// reads it.
	posMu      sync.Mutex
	pos        atomic.Int64
	posChanged chan struct{}

	lease lease // see lease.go; off (always open) unless UseLease
}

type entry struct {
	key     *keyward.Key // nil: no such key
	expires time.Time
}

// New returns an empty cache that trusts itself.
func New(opts Options) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 100_000
	}
	if opts.PositiveTTL <= 0 {
		opts.PositiveTTL = 60 * time.Second
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = 10 * time.Second
	}
	c := &Cache{opts: opts, byID: map[string]Digest{}, posChanged: make(chan struct{})}
	c.trusted.Store(true)
	c.lease.init()
	return c
}

// Loader reads a key by digest from the store: the key, or an error with
// code NOT_FOUND when there is none. A loader that cannot vouch that what
// it read may be reused returns it as an *Unkept error.
type Loader func(ctx context.Context, d Digest) (*keyward.Key, error)

// Unkept is what a Loader returns for a key that Get should hand to its
// callers without keeping it (the SDK's cache, when the answer it got may
// predate a change its stream has already announced).
type Unkept struct{ Key *keyward.Key }

func (*Unkept) Error() string { return "verify: a loaded key not to be kept" }

// Get returns the key with digest d (nil and NOT_FOUND when there is none),
// from memory when it can and from load otherwise. Concurrent misses for
// one digest share one load. When the cache is not trusted every call
// loads. Under a lease that has lapsed, Get first waits for the shared
// renewal, and loads only if that fails.
func (c *Cache) Get(ctx context.Context, d Digest, now time.Time, load Loader) (*keyward.Key, error) {
	e, ok := c.answerable(d, now)
	if !ok && !c.lease.open() && c.Holds(d, now) {
		c.awaitRenewal(ctx)
		e, ok = c.answerable(d, now)
	}
	if ok {
		c.hits.Add(1)
		if e.key == nil {
			return nil, errNotFound
		}
		return e.key, nil
	}
	c.misses.Add(1)
	epoch := c.epoch.Load()
	// The epoch is part of the flight's name: a request that comes after an
	// invalidation must not join a load that began before it (that load may
	// return the key as it was before a revoke).
	flight := string(d[:]) + strconv.FormatUint(epoch, 10)
	arrived := time.Now()
	v, err, shared := c.group.Do(flight, func() (any, error) {
		return c.load(ctx, d, now, load, epoch)
	})
	r := v.(loaded)
	// Under a lease the epoch alone is not enough: while the lease cannot
	// be renewed no invalidation arrives, and a load that began before a
	// revoke was committed may still be under way (a slow database). Its
	// answer is as old as its start, so a request that arrived L or more
	// after that start reads for itself.
	if shared && c.lease.outlived(r.began, arrived) {
		r, err = c.load(ctx, d, now, load, epoch)
	}
	if err != nil {
		return nil, err
	}
	return r.key, nil
}

// loaded is a load's answer and when the load began.
type loaded struct {
	key   *keyward.Key
	began time.Time
}

// load reads d from the store for Get, bounded by LoadTimeout, and keeps
// what it read unless the cache was invalidated since epoch.
func (c *Cache) load(ctx context.Context, d Digest, now time.Time, load Loader, epoch uint64) (loaded, error) {
	r := loaded{began: time.Now()}
	// A load for d may have ended between this caller's miss and its
	// flight: then what it loaded is here.
	if e, ok := c.answerable(d, now); ok {
		if e.key == nil {
			return r, errNotFound
		}
		r.key = e.key
		return r, nil
	}
	// The load is shared: one caller going away must not fail the rest.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LoadTimeout)
	defer cancel()
	k, err := load(lctx, d)
	var unkept *Unkept
	switch {
	case errors.As(err, &unkept):
		r.key = unkept.Key
		return r, nil
	case err == nil:
		c.put(d, k, now.Add(c.opts.PositiveTTL), epoch)
	case keyward.ErrorCode(err) == keyward.CodeNotFound:
		c.put(d, nil, now.Add(c.opts.NegativeTTL), epoch)
	}
	r.key = k
	return r, err
}

// Holds reports whether the cache holds an unexpired entry for d (a key,
// or "no such key"), without reading the store and without counting a hit
// or a miss. It does not look at the lease: a Get may still wait for its
// renewal.
func (c *Cache) Holds(d Digest, now time.Time) bool {
	_, ok := c.entry(d, now)
	return ok
}

// answerable returns d's entry if the cache may answer (it is trusted and
// its lease, if any, holds) and holds it unexpired.
func (c *Cache) answerable(d Digest, now time.Time) (entry, bool) {
	if !c.lease.open() {
		return entry{}, false
	}
	return c.entry(d, now)
}

// entry returns d's entry if the cache is trusted and holds it unexpired.
func (c *Cache) entry(d Digest, now time.Time) (entry, bool) {
	if !c.trusted.Load() {
		return entry{}, false
	}
	v, ok := c.entries.Load(d)
	if !ok {
		return entry{}, false
	}
	e := v.(*entry)
	return *e, now.Before(e.expires)
}

var errNotFound = keyward.NotFound("key")

// LoadTimeout bounds one store read of a key on the verification path: a
// key read by its digest is one indexed row, and a verification that
// cannot have it within a second is answered 503 rather than held while
// the store hangs (held requests pile up at the rate they arrive).
const LoadTimeout = time.Second

// put stores an entry loaded at epoch, unless something was invalidated
// since (then the loaded value may already be stale) or the cache is not
// trusted.
func (c *Cache) put(d Digest, k *keyward.Key, expires time.Time, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch || !c.trusted.Load() {
		return
	}
	if c.held.len() >= c.opts.MaxEntries {
		c.evictLocked(max(c.opts.MaxEntries/100, 1))
	}
	if old, ok := c.entries.Swap(d, &entry{key: k, expires: expires}); ok && k == nil {
		c.forgetID(d, old.(*entry))
	}
	c.held.add(d)
	if k != nil {
		c.byID[k.ID] = d
	}
}

// evictLocked drops n entries (or all there are), each as likely as any
// other: random eviction, which needs no bookkeeping on the read path.
func (c *Cache) evictLocked(n int) {
	for ; n > 0 && c.held.len() > 0; n-- {
		c.deleteLocked(c.held.pick())
	}
}

// deleteLocked forgets the entry for d.
func (c *Cache) deleteLocked(d Digest) {
	if old, ok := c.entries.LoadAndDelete(d); ok {
		c.held.remove(d)
		c.forgetID(d, old.(*entry))
	}
}

// forgetID drops the id index's pointer to d, whose entry e was removed.
func (c *Cache) forgetID(d Digest, e *entry) {
	if e.key != nil && c.byID[e.key.ID] == d {
		delete(c.byID, e.key.ID)
	}
}

// Invalidate forgets the keys with these ids and these digests. Call it
// after the transaction that changed them has committed.
func (c *Cache) Invalidate(ids []string, digests [][]byte) {
	c.mu.Lock()
	c.epoch.Add(1)
	for _, id := range ids {
		if d, ok := c.byID[id]; ok {
			c.deleteLocked(d)
			delete(c.byID, id)
		}
	}
	for _, raw := range digests {
		if len(raw) == len(Digest{}) {
			c.deleteLocked(Digest(raw))
		}
	}
	c.mu.Unlock()
}

// InvalidateAll empties the cache.
func (c *Cache) InvalidateAll() {
	c.mu.Lock()
	c.epoch.Add(1)
	c.entries.Clear()
	c.held.clear()
	clear(c.byID)
	c.mu.Unlock()
}

// SetTrusted switches the cache on or off. An invalidation feed that is
// down, reconnecting or lagging sets it false: every lookup then reads the
// store, so a broken feed costs speed, never correctness. Distrust also
// empties the cache, so that trust resumes from a clean slate.
func (c *Cache) SetTrusted(ok bool) {
	var was bool
	if ok {
		// Under mu, which put holds while it checks: a load that began
		// while the cache was off is not kept (the epoch moves in the same
		// step as trust comes back), since the feed that now vouches for
		// the cache did not cover it.
		c.mu.Lock()
		was = c.trusted.Swap(true)
		if !was {
			c.epoch.Add(1)
		}
		c.mu.Unlock()
	} else {
		was = c.trusted.Swap(false)
		c.InvalidateAll()
	}
	if was != ok {
		c.posMu.Lock()
		c.signalLocked()
		c.posMu.Unlock()
	}
}

// Position returns the last change of the store's change log that has been
// applied to this cache, and whether the cache is trusted. While it is
// trusted, every answer it gives reflects at least every change up to seq.
//
// Under a lease the cache does not vouch while catch-ups fail
// (Unrenewed): its position may be far behind the log, and a change
// stream must not tell its SDKs that they are up to date.
func (c *Cache) Position() (seq int64, trusted bool) {
	// pos first: trust read after it vouches for at least that position.
	return c.pos.Load(), c.trusted.Load() && !c.lease.blind.Load()
}

// Changed returns a channel that is closed the next time the position or
// the trust changes.
func (c *Cache) Changed() <-chan struct{} {
	c.posMu.Lock()
	defer c.posMu.Unlock()
	return c.posChanged
}

// Advance records that every change up to seq has been applied (Invalidate
// first, then Advance). The position never goes back.
func (c *Cache) Advance(seq int64) {
	c.posMu.Lock()
	defer c.posMu.Unlock()
	if seq > c.pos.Load() {
		c.pos.Store(seq)
		c.signalLocked()
	}
}

func (c *Cache) signalLocked() {
	close(c.posChanged)
	c.posChanged = make(chan struct{})
}

// Trusted reports whether lookups may be answered from memory.
func (c *Cache) Trusted() bool { return c.trusted.Load() }

// Stats are the cache's counters, for metrics.
type Stats struct {
	Entries      int
	Hits, Misses uint64
}

// Stats returns the current counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n := c.held.len()
	c.mu.Unlock()
	return Stats{Entries: n, Hits: c.hits.Load(), Misses: c.misses.Load()}
}
