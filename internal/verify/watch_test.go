package verify_test

import (
	"context"
	"sync"
	"testing"
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
	wake   func()
	health func(bool)
	ready  chan struct{}
}

func (f *handFeed) Run(ctx context.Context, wake func(), health func(up bool)) {
	f.mu.Lock()
	f.wake, f.health = wake, health
	f.mu.Unlock()
	close(f.ready)
	<-ctx.Done()
}

func (f *handFeed) up(v bool) { f.mu.Lock(); h := f.health; f.mu.Unlock(); h(v) }
func (f *handFeed) poke()     { f.mu.Lock(); w := f.wake; f.mu.Unlock(); w() }

// waitFor polls cond: the watcher's state changes have no signal of their
// own, and the hang guard is generous.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatcherFollowsTheChangeLog(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})

	// A second node's cache over the same store: it only learns of changes
	// through the watcher.
	cache := verify.New(verify.Options{})
	feed := &handFeed{ready: make(chan struct{})}
	w := &verify.Watcher{Cache: cache, Log: env.Store, Feed: feed, Poll: time.Hour, Logger: kwtest.Logger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	<-feed.ready
	if cache.Trusted() {
		t.Fatal("trusted before the feed was up")
	}
	feed.up(true)
	waitFor(t, "the cache is trusted", cache.Trusted)

	var d verify.Digest
	copy(d[:], k.Digest)
	loads := 0
	load := func(ctx context.Context, dg verify.Digest) (*keyward.Key, error) {
		loads++
		return env.Store.GetKeyByDigest(ctx, dg[:])
	}
	now := env.Clock.Now()
	if _, err := cache.Get(ctx, d, now, load); err != nil {
		t.Fatal(err)
	}

	// The key is revoked on "another node"; the announcement wakes us.
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	feed.poke()
	waitFor(t, "the revoked key leaves the cache", func() bool {
		_, err := cache.Get(ctx, d, now, load)
		return keyward.ErrorCode(err) == keyward.CodeNotFound
	})

	// The feed breaks: the cache is off at once.
	feed.up(false)
	if cache.Trusted() {
		t.Fatal("still trusted with the feed down")
	}
	// A change made while the feed is down is caught up when it returns.
	k2 := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	var d2 verify.Digest
	copy(d2[:], k2.Digest)
	feed.up(true)
	waitFor(t, "trusted again", cache.Trusted)
	if _, err := cache.Get(ctx, d2, now, load); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.UpdateKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, k2.ID, keyward.KeyPatch{Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	feed.poke()
	waitFor(t, "the renamed key is reloaded", func() bool {
		got, err := cache.Get(ctx, d2, now, load)
		return err == nil && got.Name == "renamed"
	})
}

func ptr[T any](v T) *T { return &v }
