package verify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward"
)

// leaseFixture is a cache under a 100 ms lease whose renewals the test
// decides, and a loader that counts store reads. It runs in a synctest
// bubble: time passes only when every goroutine waits.
type leaseFixture struct {
	c      *Cache
	loads  atomic.Int32
	renews atomic.Int32
	renew  func() error // what the renewal does; nil: fails
	key    *keyward.Key
}

const testLease = 100 * time.Millisecond

func newLeaseFixture(t *testing.T) *leaseFixture {
	f := &leaseFixture{c: New(Options{}), key: &keyward.Key{ID: "key_a"}}
	f.c.UseLease(testLease, func(context.Context) error {
		f.renews.Add(1)
		if f.renew == nil {
			return errors.New("the log cannot be read")
		}
		return f.renew()
	})
	return f
}

func (f *leaseFixture) load(context.Context, Digest) (*keyward.Key, error) {
	f.loads.Add(1)
	return f.key, nil
}

// get verifies digest 1 and returns how many store reads it took.
func (f *leaseFixture) get(t *testing.T) int32 {
	t.Helper()
	before := f.loads.Load()
	if _, err := f.c.Get(context.Background(), digest(1), time.Now(), f.load); err != nil {
		t.Fatal(err)
	}
	return f.loads.Load() - before
}

// A lease starts lapsed; a renewal opens it for L after the renewal's
// ticket was taken, and not a moment longer when renewals fail.
func TestLeaseEndsLAfterTheLastGoodRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t)
		if f.c.LeaseHeld() {
			t.Fatal("a new lease is held before any read")
		}
		tk := f.c.Ticket()
		f.c.Renewed(tk)
		if n := f.get(t); n != 1 { // the first lookup loads, and is kept
			t.Fatalf("first lookup: %d loads", n)
		}
		time.Sleep(testLease - time.Nanosecond)
		if n := f.get(t); n != 0 {
			t.Fatalf("within the lease: %d loads, want an answer from memory", n)
		}
		time.Sleep(time.Nanosecond)
		if f.c.LeaseHeld() {
			t.Fatal("the lease is held L after its read")
		}
		// Lapsed, and the renewal fails: the lookup reads the store.
		if n := f.get(t); n != 1 {
			t.Fatalf("after the lease, with the log unreadable: %d loads, want 1", n)
		}
		if f.renews.Load() == 0 {
			t.Fatal("the lookup did not ask for a renewal first")
		}
	})
}

// An answer that finds the lease lapsed waits for the renewal and then
// answers from memory: no store read.
func TestLapsedLeaseWaitsForTheRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t)
		f.c.Renewed(f.c.Ticket())
		f.get(t)
		time.Sleep(time.Second)
		f.renew = func() error {
			time.Sleep(time.Millisecond) // the read's round trip
			f.c.Renewed(f.c.Ticket())
			return nil
		}
		if n := f.get(t); n != 0 {
			t.Fatalf("%d loads, want the renewed cache's answer", n)
		}
		if f.renews.Load() != 1 {
			t.Fatalf("%d renewals, want 1", f.renews.Load())
		}
	})
}

// A wake-up announcing a change this node has not applied stops answers
// at once, even within the lease, until a read has applied that change.
func TestAnnouncedChangeSuspendsAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t)
		f.c.Advance(10)
		f.c.Renewed(f.c.Ticket())
		f.get(t)

		f.c.Announced(10) // already applied: nothing changes
		if !f.c.LeaseHeld() {
			t.Fatal("an announcement of an applied change closed the lease")
		}
		f.c.Announced(11)
		if f.c.LeaseHeld() {
			t.Fatal("an announcement of change 11 left the lease open at 10")
		}
		f.c.Renewed(f.c.Ticket()) // a read that did not reach 11
		if f.c.LeaseHeld() {
			t.Fatal("a read that stopped at 10 reopened the lease")
		}
		if n := f.get(t); n != 1 {
			t.Fatalf("suspended: %d loads, want 1", n)
		}
		f.c.Advance(11)
		f.c.Renewed(f.c.Ticket())
		if !f.c.LeaseHeld() {
			t.Fatal("the lease stayed closed after change 11 was applied")
		}
	})
}

// A wake-up of unknown number (Redis) is covered only by a read that
// began after it.
func TestUnnumberedWakeUpNeedsALaterRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t)
		early := f.c.Ticket()
		f.c.Announced(0)
		f.c.Renewed(early)
		if f.c.LeaseHeld() {
			t.Fatal("a read that began before the wake-up reopened the lease")
		}
		f.c.Renewed(f.c.Ticket())
		if !f.c.LeaseHeld() {
			t.Fatal("a read that began after the wake-up did not reopen the lease")
		}
	})
}

// Without a lease (a single SQLite node) the cache never reads the clock
// and answers for as long as its entries live.
func TestNoLeaseAlwaysOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Options{})
		c.Announced(5)
		time.Sleep(time.Hour)
		if !c.LeaseHeld() {
			t.Fatal("a cache without a lease closed")
		}
	})
}

// A store read that began before a revoke was committed answers as before
// it. Under a lease, a lookup may share such a read only if the read began
// less than L before the lookup arrived: a lookup that arrives later, while
// the lease cannot be renewed, reads again (the three-process picture: a
// node whose database answers late, a revoke committed while a read is
// under way, and a request sent L after the revoke returned that joins it).
func TestSharedLoadOlderThanTheLeaseIsNotTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t) // renewals fail
		release := make(chan struct{})
		var n atomic.Int32
		load := func(context.Context, Digest) (*keyward.Key, error) {
			if n.Add(1) == 1 {
				<-release // the answer of a read from before the revoke, late
				return f.key, nil
			}
			return nil, errNotFound // the store after the revoke
		}
		first := make(chan *keyward.Key)
		go func() {
			k, _ := f.c.Get(context.Background(), digest(1), time.Now(), load)
			first <- k
		}()
		synctest.Wait()                          // the first lookup's read is under way
		time.Sleep(testLease + time.Millisecond) // the revoke returned meanwhile
		late := make(chan *keyward.Key)
		go func() {
			k, _ := f.c.Get(context.Background(), digest(1), time.Now(), load)
			late <- k
		}()
		synctest.Wait()
		close(release)
		if k := <-first; k == nil {
			t.Fatal("the lookup that began the read did not get its answer")
		}
		if k := <-late; k != nil {
			t.Fatalf("a lookup that arrived %v after a read began took its answer (the key as before the revoke)", testLease+time.Millisecond)
		}
	})
}

// While catch-ups fail, the cache does not vouch for its position:
// change streams then tell SDKs not to answer from memory. The first
// successful catch-up vouches again; both turns are signalled.
func TestFailedCatchUpWithdrawsThePosition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newLeaseFixture(t)
		f.c.Renewed(f.c.Ticket())
		if _, ok := f.c.Position(); !ok {
			t.Fatal("a renewed cache does not vouch for its position")
		}
		changed := f.c.Changed()
		f.c.Unrenewed()
		if _, ok := f.c.Position(); ok {
			t.Fatal("the cache vouches for its position after a failed catch-up")
		}
		select {
		case <-changed:
		default:
			t.Fatal("a failed catch-up was not signalled")
		}
		changed = f.c.Changed()
		f.c.Renewed(f.c.Ticket())
		if _, ok := f.c.Position(); !ok {
			t.Fatal("the cache does not vouch again after a good catch-up")
		}
		select {
		case <-changed:
		default:
			t.Fatal("the good catch-up was not signalled")
		}
	})
}
