package service_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestLastUsedWrittenBehind authenticates keys from many goroutines while
// the clock moves and the recorder flushes, and checks that each key's
// last_used_at ends at the latest time it was used: no use noted during a
// flush is lost, and an earlier time never overwrites a later one.
func TestLastUsedWrittenBehind(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "usage")
	keys := make([]*keyward.Key, 3) // the per-user limit in a project
	for i := range keys {
		keys[i] = env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { env.Service.Run(ctx); close(ran) }()

	ip := netip.MustParseAddr("127.0.0.1")
	lastUse := map[string]time.Time{}
	// Rounds go on until a flush (one a second) has written a time, and
	// as long again after it, so that notes meet flushes mid-run.
	flushedAt := -1
	for round := 0; flushedAt < 0 || round < 2*flushedAt; round++ {
		if flushedAt < 0 && round%20 == 0 {
			k, err := env.Store.GetKey(ctx, keys[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if k.LastUsedAt != nil {
				flushedAt = round
			}
		}
		env.Clock.Advance(time.Millisecond)
		now := env.Clock.Now()
		// Key round%3 is not used this round: its time must stay behind.
		var wg sync.WaitGroup
		for i, k := range keys {
			if i == round%len(keys) {
				continue
			}
			lastUse[k.ID] = now
			for range 4 {
				wg.Go(func() {
					if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, ip); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
	}
	stop()
	<-ran // Run flushes what is pending before it returns

	for _, k := range keys {
		got, err := env.Store.GetKey(context.Background(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(lastUse[k.ID]) {
			t.Errorf("key %s: last_used_at %v, want %v", k.ID, got.LastUsedAt, lastUse[k.ID])
		}
	}
}
