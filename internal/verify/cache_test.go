package verify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func digest(b byte) Digest { var d Digest; d[0] = b; return d }

func TestHitsMissesAndNegativeEntries(t *testing.T) {
	c := New(Options{})
	var loads atomic.Int32
	key := &keyward.Key{ID: "key_a"}
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		if d == digest(1) {
			return key, nil
		}
		return nil, keyward.NotFound("key")
	}
	for i := 0; i < 3; i++ {
		if k, err := c.Get(context.Background(), digest(1), now, load); err != nil || k != key {
			t.Fatalf("Get = %v, %v", k, err)
		}
		if _, err := c.Get(context.Background(), digest(2), now, load); keyward.ErrorCode(err) != keyward.CodeNotFound {
			t.Fatalf("unknown digest: %v", err)
		}
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2 (one per digest)", n)
	}
	// Entries expire: the negative one after 10 s, the positive after 60 s.
	_, _ = c.Get(context.Background(), digest(2), now.Add(11*time.Second), load)
	_, _ = c.Get(context.Background(), digest(1), now.Add(11*time.Second), load)
	if n := loads.Load(); n != 3 {
		t.Fatalf("%d loads, want 3", n)
	}
}

func TestInvalidateByIDAndDigest(t *testing.T) {
	c := New(Options{})
	key := &keyward.Key{ID: "key_a"}
	var loads atomic.Int32
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		return key, nil
	}
	_, _ = c.Get(context.Background(), digest(1), now, load)
	c.Invalidate([]string{"key_a"}, nil)
	_, _ = c.Get(context.Background(), digest(1), now, load)
	d := digest(1)
	c.Invalidate(nil, [][]byte{d[:]})
	_, _ = c.Get(context.Background(), digest(1), now, load)
	if n := loads.Load(); n != 3 {
		t.Fatalf("%d loads, want 3 (each invalidation forces one)", n)
	}
}

// A load that started before an invalidation must not put its (possibly
// stale) result into the cache.
func TestLoadRacingInvalidationIsNotCached(t *testing.T) {
	c := New(Options{})
	key := &keyward.Key{ID: "key_a"}
	inLoad, release := make(chan struct{}), make(chan struct{})
	var loads atomic.Int32
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		if loads.Add(1) == 1 {
			close(inLoad)
			<-release
		}
		return key, nil
	}
	done := make(chan struct{})
	go func() { _, _ = c.Get(context.Background(), digest(1), now, load); close(done) }()
	<-inLoad
	c.Invalidate([]string{"key_a"}, nil) // the revoke commits while the load is in flight
	close(release)
	<-done
	_, _ = c.Get(context.Background(), digest(1), now, load)
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads: the racing load's result was cached", n)
	}
}

func TestDistrustBypassesAndEmpties(t *testing.T) {
	c := New(Options{})
	var loads atomic.Int32
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		return &keyward.Key{ID: "key_a"}, nil
	}
	_, _ = c.Get(context.Background(), digest(1), now, load)
	c.SetTrusted(false)
	_, _ = c.Get(context.Background(), digest(1), now, load)
	_, _ = c.Get(context.Background(), digest(1), now, load)
	if n := loads.Load(); n != 3 || c.Stats().Entries != 0 {
		t.Fatalf("untrusted: %d loads, %d entries; want 3 and 0", n, c.Stats().Entries)
	}
	c.SetTrusted(true)
	_, _ = c.Get(context.Background(), digest(1), now, load)
	_, _ = c.Get(context.Background(), digest(1), now, load)
	if n := loads.Load(); n != 4 {
		t.Fatalf("trusted again: %d loads, want 4", n)
	}
}

func TestSingleFlight(t *testing.T) {
	c := New(Options{})
	var loads atomic.Int32
	gate := make(chan struct{})
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		<-gate
		return &keyward.Key{ID: "key_a"}, nil
	}
	var wg sync.WaitGroup
	var started sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			_, _ = c.Get(context.Background(), digest(1), now, load)
		}()
	}
	started.Wait()
	// Let the first load finish only once the others have had the chance to
	// join it. Any that missed before the load ended and start a flight of
	// their own after it find the entry there (this used to fail about
	// once in 30 runs with a second load). Either way: one load.
	close(gate)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for 16 concurrent misses, want 1", n)
	}
}

func TestBounded(t *testing.T) {
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		if d[0]%2 == 0 {
			return nil, keyward.NotFound("key")
		}
		return &keyward.Key{ID: fmt.Sprintf("key_%x", d[:2])}, nil
	}
	for _, max := range []int{1, 50, 199, 1000} {
		c := New(Options{MaxEntries: max})
		for i := 0; i < 5000; i++ {
			var d Digest
			d[0], d[1] = byte(i), byte(i>>8)
			_, _ = c.Get(context.Background(), d, now, load)
		}
		if n := c.Stats().Entries; n > max {
			t.Fatalf("bound %d: %d entries", max, n)
		}
		checkIndex(t, c)
	}
}

// checkIndex checks that the eviction set holds exactly the digests the
// map holds, within the bound, and that the id index points at exactly the
// keys the map holds.
func checkIndex(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, keys := 0, 0
	c.entries.Range(func(k, v any) bool {
		d, e := k.(Digest), v.(*entry)
		entries++
		if i, ok := c.held.at[d]; !ok || c.held.list[i] != d {
			t.Fatalf("digest %x is cached but not in the eviction set", d[:4])
		}
		if e.key != nil {
			keys++
			if c.byID[e.key.ID] != d {
				t.Fatalf("the id index does not point at %s", e.key.ID)
			}
		}
		return true
	})
	if entries != c.held.len() || len(c.held.at) != c.held.len() || entries > c.opts.MaxEntries || len(c.byID) != keys {
		t.Fatalf("%d entries, %d in the eviction set (%d placed), bound %d; %d keys, %d ids",
			entries, c.held.len(), len(c.held.at), c.opts.MaxEntries, keys, len(c.byID))
	}
}

// Eviction picks entries at random, fresh ones no more often than old
// ones. The draws are seeded, so the counts are the same on every run.
func TestEvictionIsUniform(t *testing.T) {
	for seed := range uint64(3) {
		gone := freshEvicted(t, seed)
		// Puts past the bound evict 1% of the entries every 100 puts, so
		// a fresh entry meets 10 evictions on average and is gone with a
		// probability near 9.3% (1-0.99^k averaged over k from 0 to 20):
		// about 186 of 2,000. An
		// eviction that favoured fresh entries (or old ones) would land
		// far outside this band.
		if gone < 150 || gone > 235 {
			t.Fatalf("seed %d: %d of 2,000 fresh entries evicted, want about 186", seed, gone)
		}
		t.Logf("seed %d: %d of 2,000 fresh entries evicted", seed, gone)
	}
}

// freshEvicted fills a cache of 10,000 entries with 50,000 keys, then puts
// 2,000 fresh ones and counts how many of these are gone.
func freshEvicted(t *testing.T, seed uint64) int {
	const bound, churn, fresh = 10_000, 50_000, 2_000
	c := New(Options{MaxEntries: bound})
	c.held.rng = rand.New(rand.NewPCG(seed, 1))
	load := func(_ context.Context, d Digest) (*keyward.Key, error) {
		return &keyward.Key{ID: fmt.Sprintf("key_%x", d)}, nil
	}
	digestOf := func(i int) Digest { return sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i))) }
	for i := range churn + fresh {
		_, _ = c.Get(context.Background(), digestOf(i), now, load)
	}
	gone := 0
	for i := churn; i < churn+fresh; i++ {
		if !c.Holds(digestOf(i), now) {
			gone++
		}
	}
	checkIndex(t, c)
	return gone
}

// A key found again as no such key (say it was deleted while its entry
// expired) loses its place in the id index along with its entry.
func TestKeyFoundGoneLeavesTheIDIndex(t *testing.T) {
	c := New(Options{})
	key := &keyward.Key{ID: "key_a"}
	var gone atomic.Bool
	load := func(context.Context, Digest) (*keyward.Key, error) {
		if gone.Load() {
			return nil, keyward.NotFound("key")
		}
		return key, nil
	}
	if k, _ := c.Get(context.Background(), digest(1), now, load); k != key {
		t.Fatal("the key was not found")
	}
	gone.Store(true)
	later := now.Add(2 * c.opts.PositiveTTL)
	if k, err := c.Get(context.Background(), digest(1), later, load); k != nil || keyward.ErrorCode(err) != keyward.CodeNotFound {
		t.Fatalf("after expiry: %v, %v", k, err)
	}
	c.mu.Lock()
	_, held := c.byID["key_a"]
	c.mu.Unlock()
	if held {
		t.Fatal("the id index still points at the entry of a key that is no more")
	}
	checkIndex(t, c)
}

func BenchmarkCachedGet(b *testing.B) {
	c := New(Options{})
	key := &keyward.Key{ID: "key_a"}
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) { return key, nil }
	ctx := context.Background()
	_, _ = c.Get(ctx, digest(1), now, load)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.Get(ctx, digest(1), now, load)
	}
}

// A request that arrives after an invalidation must not be answered by a
// load that began before it: that load may hold the key as it was before a
// revoke. In a synctest bubble, synctest.Wait tells a request that joined
// the old load (it waits) from one that read for itself (it is done).
func TestNoJoiningALoadFromBeforeAnInvalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(Options{})
		before := &keyward.Key{ID: "key_a", Name: "before the revoke"}
		after := &keyward.Key{ID: "key_a", Name: "after the revoke"}
		release := make(chan struct{})
		var loads atomic.Int32
		load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
			if loads.Add(1) == 1 {
				<-release
				return before, nil
			}
			return after, nil
		}
		first := make(chan *keyward.Key)
		go func() { k, _ := c.Get(context.Background(), digest(1), now, load); first <- k }()
		synctest.Wait()                      // the first load is under way
		c.Invalidate([]string{"key_a"}, nil) // the revoke commits and returns
		second := make(chan *keyward.Key, 1)
		go func() { k, _ := c.Get(context.Background(), digest(1), now, load); second <- k }()
		synctest.Wait()
		var got *keyward.Key
		select {
		case got = <-second:
		default: // it joined the old load: let it finish to show what it gets
		}
		close(release)
		if got == nil {
			got = <-second
		}
		<-first
		if got != after {
			t.Fatalf("after the invalidation Get = %+v; want the fresh load", got)
		}
	})
}

// A caller that goes away does not fail the others sharing its load.
func TestSharedLoadSurvivesACanceledCaller(t *testing.T) {
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return &keyward.Key{ID: "key_a"}, nil
	}
	if _, err := c.Get(ctx, digest(1), now, load); err != nil {
		t.Fatalf("load under a canceled caller: %v", err)
	}
}

// TestPositionSignals checks what change streams rely on: Changed is closed
// by every advance and every trust switch, and the position never goes
// back.
func TestPositionSignals(t *testing.T) {
	c := New(Options{})
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := c.Changed()
	c.Advance(5)
	if !closed(ch) {
		t.Fatal("Advance(5) did not signal")
	}
	ch = c.Changed()
	c.Advance(3)
	if seq, _ := c.Position(); seq != 5 || closed(ch) {
		t.Fatalf("after Advance(3): position %d, signalled %v; want 5, false", seq, closed(ch))
	}
	c.SetTrusted(false)
	if _, trusted := c.Position(); trusted || !closed(ch) {
		t.Fatalf("SetTrusted(false): trusted %v, signalled %v", trusted, closed(ch))
	}
	ch = c.Changed()
	c.SetTrusted(false)
	if closed(ch) {
		t.Fatal("SetTrusted(false) twice signalled twice")
	}
	c.SetTrusted(true)
	if _, trusted := c.Position(); !trusted || !closed(ch) {
		t.Fatalf("SetTrusted(true): trusted %v, signalled %v", trusted, closed(ch))
	}
}

// TestUnkeptAndTrustResumed: an *Unkept load answers without being kept,
// and a load that began while the cache was off is not kept once it is
// back on.
func TestUnkeptAndTrustResumed(t *testing.T) {
	c := New(Options{})
	key := &keyward.Key{ID: "key_a"}
	var loads atomic.Int32
	unkept := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		return nil, &Unkept{Key: key}
	}
	for range 2 {
		if k, err := c.Get(context.Background(), digest(1), now, unkept); err != nil || k != key {
			t.Fatalf("Get with an Unkept load = %v, %v", k, err)
		}
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2 (nothing kept)", n)
	}

	c.SetTrusted(false)
	resumed := func(ctx context.Context, d Digest) (*keyward.Key, error) {
		loads.Add(1)
		c.SetTrusted(true) // trust comes back while this load is in flight
		return key, nil
	}
	_, _ = c.Get(context.Background(), digest(2), now, resumed)
	before := loads.Load()
	_, _ = c.Get(context.Background(), digest(2), now, resumed)
	if loads.Load() != before+1 {
		t.Fatal("a load that began while the cache was off was kept")
	}
}

// BenchmarkCachedGetRandom looks up random keys among 100,000 cached ones
// from every core: the CPU cache misses of a large cache, not one hot key.
func BenchmarkCachedGetRandom(b *testing.B) {
	const n = 100_000
	c := New(Options{MaxEntries: n})
	ctx := context.Background()
	keys := make([]*keyward.Key, n)
	digests := make([]Digest, n)
	for i := range keys {
		keys[i] = &keyward.Key{ID: fmt.Sprintf("key_%d", i)}
		digests[i] = sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i))) // spread as real digests are
		k := keys[i]
		_, _ = c.Get(ctx, digests[i], now, func(context.Context, Digest) (*keyward.Key, error) { return k, nil })
	}
	miss := func(context.Context, Digest) (*keyward.Key, error) { panic("a cached key was loaded") }
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			i := r.IntN(n)
			if k, _ := c.Get(ctx, digests[i], now, miss); k != keys[i] {
				b.Fatal("wrong key")
			}
		}
	})
}

// Readers on every core, a small bound (so puts evict again and again) and
// revokes one after another, by id, by digest or both, with the cache
// emptied and distrusted now and then: a Get that starts after Invalidate
// returned never answers with the revoked key.
func TestNoRevokedKeyThroughEvictions(t *testing.T) {
	const n = 2000
	c := New(Options{MaxEntries: 256})
	keys := make([]*keyward.Key, n)
	digests := make([]Digest, n)
	index := map[Digest]int{}
	var revoked, invalidated [n]atomic.Bool
	for i := range keys {
		keys[i] = &keyward.Key{ID: fmt.Sprintf("key_%d", i)}
		digests[i] = sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i)))
		index[digests[i]] = i
	}
	load := func(_ context.Context, d Digest) (*keyward.Key, error) {
		i := index[d]
		if revoked[i].Load() {
			return nil, keyward.NotFound("key")
		}
		return keys[i], nil
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wrong atomic.Int64
	var readers sync.WaitGroup
	for w := 0; w < 4; w++ {
		readers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := r.IntN(n)
				after := invalidated[i].Load()
				if k, _ := c.Get(ctx, digests[i], now, load); after && k != nil {
					wrong.Add(1)
				}
			}
		})
	}
	r := rand.New(rand.NewPCG(9, 9))
	atBound := 0
	for i := range n {
		revoked[i].Store(true)
		switch i % 3 { // the change feeds and the SDK name ids alone; a node's own writes name both
		case 0:
			c.Invalidate([]string{keys[i].ID}, nil)
		case 1:
			c.Invalidate(nil, [][]byte{digests[i][:]})
		case 2:
			c.Invalidate([]string{keys[i].ID}, [][]byte{digests[i][:]})
		}
		invalidated[i].Store(true)
		switch {
		case i%97 == 0:
			c.InvalidateAll()
		case i%131 == 0: // a feed that drops and comes back
			c.SetTrusted(false)
			c.SetTrusted(true)
		}
		for range 4 { // puts of its own, so that the cache fills however fast the readers run
			_, _ = c.Get(ctx, digests[r.IntN(n)], now, load)
		}
		if c.Stats().Entries >= 256-256/100 {
			atBound++
		}
	}
	close(stop)
	readers.Wait()
	if w := wrong.Load(); w > 0 {
		t.Fatalf("%d lookups after a revoke returned the revoked key", w)
	}
	if atBound == 0 {
		t.Fatal("the cache never reached its bound, so nothing was evicted: the test did not test that")
	}
	t.Logf("at the bound after %d of %d revokes", atBound, n)
	checkIndex(t, c)
}
