package verify

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// BenchmarkCachedGetLeased is BenchmarkCachedGet under a held lease, as on
// a node of a shared store: each hit also reads the clock to check the
// lease. (The lease is an hour, renewed once, so that it holds throughout.)
func BenchmarkCachedGetLeased(b *testing.B) {
	c := New(Options{})
	c.UseLease(time.Hour, func(context.Context) error { panic("the lease lapsed") })
	c.SetTrusted(true)
	c.Renewed(c.Ticket())
	if !c.LeaseHeld() {
		b.Fatal("the lease is not held")
	}
	key := &keyward.Key{ID: "key_a"}
	load := func(ctx context.Context, d Digest) (*keyward.Key, error) { return key, nil }
	ctx := context.Background()
	_, _ = c.Get(ctx, digest(1), now, load)
	b.ReportAllocs()
	for b.Loop() {
		if k, _ := c.Get(ctx, digest(1), now, load); k != key {
			b.Fatal("wrong key")
		}
	}
	if c.misses.Load() != 1 {
		b.Fatalf("%d misses: the hits did not come from memory", c.misses.Load())
	}
}
