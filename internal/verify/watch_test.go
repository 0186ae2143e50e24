package verify_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/verify"
)

// handFeed is a feed the test drives: it stands in for the network between
// nodes, not for the database (the change log is a real SQLite store).
type handFeed struct {
	mu     sync.Mutex
	wake   func(int64)
	health func(bool)
	ready  chan struct{}
}

func (f *handFeed) Name() string { return "hand" }

func (f *handFeed) Run(ctx context.Context, wake func(int64), health func(up bool)) {
	f.mu.Lock()
	f.wake, f.health = wake, health
	f.mu.Unlock()
	close(f.ready)
	<-ctx.Done()
}

func (f *handFeed) up(v bool)                   { f.mu.Lock(); h := f.health; f.mu.Unlock(); h(v) }
func (f *handFeed) poke(seq int64)              { f.mu.Lock(); w := f.wake; f.mu.Unlock(); w(seq) }
func (f *handFeed) await()                      { <-f.ready }
func newHandFeed() *handFeed                    { return &handFeed{ready: make(chan struct{})} }
func digestOf(k *keyward.Key) (d verify.Digest) { copy(d[:], k.Digest); return d }

// freezableLog is the real change log behind a switch that makes reads
// hang, as a partition or a frozen database does, until their context
// ends. It records when the last read that succeeded began.
type freezableLog struct {
	verify.ChangeLog
	mu       sync.Mutex
	frozen   chan struct{} // non-nil: reads wait for it to close
	reads    atomic.Int32
	lastGood time.Time
}

func (l *freezableLog) KeyChanges(ctx context.Context, since int64, limit int) (cs []keyward.KeyChange, err error) {
	err = l.read(ctx, func() error {
		cs, err = l.ChangeLog.KeyChanges(ctx, since, limit)
		return err
	})
	return cs, err
}

func (l *freezableLog) LatestKeyChange(ctx context.Context) (seq int64, err error) {
	err = l.read(ctx, func() error {
		seq, err = l.ChangeLog.LatestKeyChange(ctx)
		return err
	})
	return seq, err
}

func (l *freezableLog) read(ctx context.Context, read func() error) error {
	start := time.Now()
	l.reads.Add(1)
	l.mu.Lock()
	fr := l.frozen
	l.mu.Unlock()
	if fr != nil {
		select {
		case <-fr:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := read(); err != nil {
		return err
	}
	l.mu.Lock()
	if start.After(l.lastGood) {
		l.lastGood = start
	}
	l.mu.Unlock()
	return nil
}

func (l *freezableLog) freeze() (thaw func()) {
	ch := make(chan struct{})
	l.mu.Lock()
	l.frozen = ch
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.frozen = nil
		l.mu.Unlock()
		close(ch)
	}
}

func (l *freezableLog) lastGoodRead() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastGood
}

// node is a second node's cache over the test's store: it learns of
// changes only through its watcher. loads counts its store reads.
//
// The tests run in synctest bubbles: the watcher's tickers, its catch-up
// timeouts and the lease read the bubble's clock, which moves only when
// every goroutine waits, and synctest.Wait returns once the watcher has
// done all it can (no polling for its state).
type node struct {
	cache *verify.Cache
	log   *freezableLog
	feed  *handFeed
	env   *kwtest.Env
	loads atomic.Int32
}

// watching is the watcher's settings that a test chooses.
type watching struct{ Lease, Poll, CatchUpTimeout time.Duration }

// newNode starts a node's watcher; it must be called in the bubble, and
// returns once the watcher has read the log's head.
func newNode(t *testing.T, env *kwtest.Env, o watching) *node {
	n := &node{cache: verify.New(verify.Options{}), log: &freezableLog{ChangeLog: env.Store}, feed: newHandFeed(), env: env}
	w := &verify.Watcher{Cache: n.cache, Log: n.log, Feeds: []verify.Feed{n.feed}, Logger: kwtest.Logger(t),
		Lease: o.Lease, Poll: o.Poll, CatchUpTimeout: o.CatchUpTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	n.feed.await()
	synctest.Wait()
	if !n.cache.Trusted() {
		t.Fatal("the cache is not trusted once the watcher has read the log's head")
	}
	return n
}

// get looks a key up on the node and reports whether it read the store.
func (n *node) get(t *testing.T, k *keyward.Key) (*keyward.Key, bool) {
	t.Helper()
	before := n.loads.Load()
	got, err := n.cache.Get(context.Background(), digestOf(k), n.env.Clock.Now(), func(ctx context.Context, d verify.Digest) (*keyward.Key, error) {
		n.loads.Add(1)
		return n.env.Store.GetKeyByDigest(ctx, d[:])
	})
	switch {
	case keyward.ErrorCode(err) == keyward.CodeNotFound: // the store hides revoked keys
		return &keyward.Key{RevokedAt: ptr(time.Now())}, n.loads.Load() != before
	case err != nil:
		t.Fatal(err)
	}
	return got, n.loads.Load() != before
}

// cached looks k up twice: the first lookup may load it, the second must
// answer from memory.
func (n *node) cached(t *testing.T, k *keyward.Key) {
	t.Helper()
	n.get(t, k)
	if _, read := n.get(t, k); read {
		t.Fatal("a cached key was read from the store again")
	}
}

func revoke(t *testing.T, env *kwtest.Env, p *keyward.Project, k *keyward.Key) int64 {
	t.Helper()
	if _, err := env.Service.RevokeKey(context.Background(), env.Owner(), service.Where{ProjectID: p.ID}, k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	seq, err := env.Store.LatestKeyChange(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func rename(t *testing.T, env *kwtest.Env, p *keyward.Project, k *keyward.Key, name string) {
	t.Helper()
	if _, err := env.Service.UpdateKey(context.Background(), env.Owner(), service.Where{ProjectID: p.ID}, k.ID, keyward.KeyPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherFollowsTheChangeLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const poll = time.Minute
		env := kwtest.NewEnv(t)
		p := env.MustProject(t, "P")
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		n := newNode(t, env, watching{Poll: poll})
		n.feed.up(true)
		synctest.Wait() // the catch-up a feed coming up asks for

		n.cached(t, k)
		// The key is revoked on "another node"; the announcement wakes us,
		// long before the next poll.
		revoke(t, env, p, k)
		n.feed.poke(0)
		synctest.Wait()
		if got, _ := n.get(t, k); got.RevokedAt == nil {
			t.Fatal("the revoked key is still answered once the wake-up's catch-up is done")
		}

		// A broken feed does not switch the cache off: the log is still
		// read, every poll.
		n.feed.up(false)
		if !n.cache.Trusted() {
			t.Fatal("the cache went off with the feed")
		}
		k2 := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		n.cached(t, k2)
		rename(t, env, p, k2, "renamed")
		time.Sleep(poll - time.Nanosecond)
		synctest.Wait()
		if got, _ := n.get(t, k2); got.Name == "renamed" {
			t.Fatal("the change was read before the poll, with no wake-up")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got, _ := n.get(t, k2); got.Name != "renamed" {
			t.Fatalf("after a poll with the feed down the key is still %q", got.Name)
		}

		rename(t, env, p, k2, "renamed again")
		n.feed.up(true) // back: it reads the log at once
		synctest.Wait()
		if got, _ := n.get(t, k2); got.Name != "renamed again" {
			t.Fatalf("once the feed is back the key is still %q", got.Name)
		}
	})
}

// The log hangs (a partition, a frozen database): the cache answers a
// revoked key for no longer than the lease after the last read that
// succeeded, and then reads the store.
func TestHungLogEndsCacheAnswersWithinTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = 50 * time.Millisecond
		env := kwtest.NewEnv(t)
		p := env.MustProject(t, "P")
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		n := newNode(t, env, watching{Lease: lease, CatchUpTimeout: 20 * time.Millisecond})

		n.cached(t, k)
		thaw := n.log.freeze()
		defer thaw()
		revoke(t, env, p, k)
		end := n.log.lastGoodRead().Add(lease)
		fromMemory := 0
		for time.Now().Before(end.Add(3 * lease)) {
			asked := time.Now()
			got, read := n.get(t, k)
			if !read && !asked.Before(end) {
				t.Fatalf("answered from memory %v after the lease ended", asked.Sub(end))
			}
			if read && got.RevokedAt == nil {
				t.Fatal("the store read missed the revocation")
			}
			if !read {
				fromMemory++
			}
			time.Sleep(time.Millisecond)
		}
		if fromMemory != int(lease/time.Millisecond) {
			t.Fatalf("answered from memory %d times in the lease's %v, want every millisecond", fromMemory, lease)
		}
		if _, read := n.get(t, k); !read {
			t.Fatalf("still answering from memory with the log frozen (lease held %v, reads %d, loads %d)", n.cache.LeaseHeld(), n.log.reads.Load(), n.loads.Load())
		}
	})
}

// Lookups that find the lease lapsed share one catch-up read, and answer
// from memory when it succeeds.
func TestLapsedLeaseSharesOneCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = 50 * time.Millisecond
		env := kwtest.NewEnv(t)
		p := env.MustProject(t, "P")
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		// The log's next read hangs until thawed, and is not timed out.
		n := newNode(t, env, watching{Lease: lease, CatchUpTimeout: time.Minute})
		n.cached(t, k)
		readsBefore := n.log.reads.Load()
		thaw := n.log.freeze()
		time.Sleep(lease) // the lease lapses; the watcher's read for its renewal hangs
		synctest.Wait()
		if n.cache.LeaseHeld() {
			thaw()
			t.Fatal("the lease is held L after its last read")
		}

		var wg sync.WaitGroup
		var fromStore atomic.Int32
		for range 50 {
			wg.Go(func() {
				loads := n.loads.Load()
				_, err := n.cache.Get(context.Background(), digestOf(k), env.Clock.Now(), func(ctx context.Context, d verify.Digest) (*keyward.Key, error) {
					n.loads.Add(1)
					return env.Store.GetKeyByDigest(ctx, d[:])
				})
				if err != nil || n.loads.Load() != loads {
					fromStore.Add(1)
				}
			})
		}
		synctest.Wait() // every lookup waits for a renewal
		if got := n.log.reads.Load() - readsBefore; got != 1 {
			thaw()
			t.Fatalf("%d log reads while 50 lookups waited, want 1 shared", got)
		}
		thaw()
		wg.Wait()
		if fromStore.Load() != 0 {
			t.Fatalf("%d lookups read the store after the shared catch-up succeeded", fromStore.Load())
		}
	})
}

// A wake-up carrying the number of a change this node has not applied
// stops cache answers before the change is read, even within the lease.
func TestWakeUpSuspendsAnswersUntilApplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := kwtest.NewEnv(t)
		p := env.MustProject(t, "P")
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		n := newNode(t, env, watching{Lease: time.Hour, Poll: time.Hour, CatchUpTimeout: 20 * time.Millisecond})
		n.cached(t, k)
		thaw := n.log.freeze()
		seq := revoke(t, env, p, k)
		n.feed.poke(seq)
		got, read := n.get(t, k)
		if !read || got.RevokedAt == nil {
			thaw()
			t.Fatalf("after the wake-up for change %d: answered from memory (%v) with the key as before the revocation", seq, !read)
		}
		if n.cache.LeaseHeld() {
			thaw()
			t.Fatal("the lease reopened while the log was frozen")
		}
		thaw()
		n.get(t, k) // asks for the catch-up the thaw allows
		synctest.Wait()
		if !n.cache.LeaseHeld() {
			t.Fatal("the lease stayed closed once the change was applied")
		}
	})
}

func ptr[T any](v T) *T { return &v }
