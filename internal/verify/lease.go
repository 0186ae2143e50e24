package verify

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The lease bounds how stale a node's cache can be, whatever fails.
//
// On a node that shares its store with others, the cache answers only
// while it holds positive evidence, no older than the lease, that it has
// applied every key change committed up to that moment: a read of the
// change log that succeeded. A read that began at t and was applied gives
// the lease until t+L. Evidence can only be renewed by a read that
// succeeds, so a hang (a partition, a frozen database, a dead feed) ends
// the cache's answers L after the last good read; it never extends them.
//
// A wake-up that announces a position this node has not applied (or a
// change whose position it does not know) suspends answers at once, until
// a read that began after it has been applied. Answers that wait for a
// renewal share one catch-up read; only if it fails do they read the
// store.
type lease struct {
	base time.Time // the monotonic origin of gate

	// gate is the end of the lease as a duration since base: the cache
	// answers while time.Since(base) < gate. Without a lease it is
	// math.MaxInt64, and no clock is read.
	gate atomic.Int64

	// mu orders suspensions (wake-ups) against renewals: without it a
	// catch-up that began before a wake-up could reopen the gate just
	// after the wake-up closed it, for a change it has not read.
	mu     sync.Mutex
	length time.Duration
	want   int64  // the highest position a wake-up announced
	asked  uint64 // wake-ups of an unknown position so far
	seen   uint64 // of those, how many a finished catch-up began after
	renew  func(ctx context.Context) error

	// renewed is when the last successful catch-up took its ticket, as a
	// duration since base (0: never), for LeaseAge.
	renewed atomic.Int64

	// blind is set while catch-ups fail (Unrenewed), until one succeeds:
	// the cache's position then vouches for nothing (Position).
	blind atomic.Bool
}

func (l *lease) init() {
	l.base = time.Now()
	l.gate.Store(math.MaxInt64)
}

// open reports whether the lease lets the cache answer now.
func (l *lease) open() bool {
	g := l.gate.Load()
	return g == math.MaxInt64 || int64(time.Since(l.base)) < g
}

// UseLease turns the lease on: from now on the cache answers only within
// length of a renewal (Renewed), and renew is how an answer that finds the
// lease lapsed asks for one (a shared catch-up read, bounded in time). The
// lease starts lapsed.
func (c *Cache) UseLease(length time.Duration, renew func(ctx context.Context) error) {
	l := &c.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	l.length, l.renew = length, renew
	l.gate.Store(0)
}

// Leased reports whether the cache runs under a lease.
func (c *Cache) Leased() bool { return c.LeaseLength() > 0 }

// LeaseAge is how long ago the last successful read of the change log
// began, and false without a lease or before any read. The lease holds
// while it is under the lease's length (and no wake-up suspends it); it
// lapses for about a read's round trip each time it is renewed, so a
// monitor should watch the age, not LeaseHeld.
func (c *Cache) LeaseAge() (time.Duration, bool) {
	l := &c.lease
	at := l.renewed.Load()
	if at == 0 || !c.Leased() {
		return 0, false
	}
	return time.Since(l.base) - time.Duration(at), true
}

// LeaseLength is the lease's length (0 without a lease).
func (c *Cache) LeaseLength() time.Duration {
	c.lease.mu.Lock()
	defer c.lease.mu.Unlock()
	return c.lease.length
}

// LeaseHeld reports whether the lease lets the cache answer now (always,
// without a lease).
func (c *Cache) LeaseHeld() bool { return c.lease.open() }

// Ticket is what a catch-up notes before it reads the change log, for
// Renewed.
type Ticket struct {
	at    time.Time
	asked uint64
}

// Ticket returns the ticket of a catch-up that is about to read the log.
func (c *Cache) Ticket() Ticket {
	l := &c.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	return Ticket{at: time.Now(), asked: l.asked}
}

// Renewed records that a catch-up holding ticket t read the change log and
// applied (Invalidate, then Advance) every change it found: every change
// committed before t was taken is applied. The lease then runs until L
// after t, unless a wake-up announced a change that is still to be read.
func (c *Cache) Renewed(t Ticket) {
	c.setBlind(false)
	l := &c.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if at := int64(t.at.Sub(l.base)); at > l.renewed.Load() {
		l.renewed.Store(at)
	}
	l.seen = max(l.seen, t.asked)
	if l.length <= 0 || c.pos.Load() < l.want || l.seen < l.asked {
		return
	}
	end := int64(t.at.Sub(l.base) + l.length)
	if end > l.gate.Load() {
		l.gate.Store(end)
	}
}

// Unrenewed records that a catch-up failed: until one succeeds, the cache
// does not vouch for its position (Position), so that change streams stop
// saying they are live. The lease itself needs no telling: it lapses by
// the clock.
func (c *Cache) Unrenewed() { c.setBlind(true) }

func (c *Cache) setBlind(b bool) {
	if c.lease.blind.Swap(b) != b {
		c.posMu.Lock()
		c.signalLocked()
		c.posMu.Unlock()
	}
}

// outlived reports whether a load that began at began is too old for a
// request that arrived at arrived: its answer may predate changes
// committed more than L before the request.
func (l *lease) outlived(began, arrived time.Time) bool {
	l.mu.Lock()
	length := l.length
	l.mu.Unlock()
	return length > 0 && arrived.Sub(began) >= length
}

// Announced records a wake-up: a change numbered seq (0: a change of
// unknown number) has been committed. If this node has not applied it,
// answers stop until a catch-up has; the caller starts one.
func (c *Cache) Announced(seq int64) {
	l := &c.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.length <= 0 {
		return
	}
	switch {
	case seq <= 0:
		l.asked++
	case seq > c.pos.Load():
		l.want = max(l.want, seq)
	default:
		return // already applied: nothing to wait for
	}
	l.gate.Store(0)
}

// awaitRenewal asks for a renewal of a lapsed lease and waits for it (the
// renewal bounds its own time).
func (c *Cache) awaitRenewal(ctx context.Context) {
	c.lease.mu.Lock()
	renew := c.lease.renew
	c.lease.mu.Unlock()
	if renew != nil {
		_ = renew(ctx)
	}
}
