package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/redis/go-redis/v9"
)

// t0 is inside a window of a second (and of a minute): 12:00:00.250.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 250_000_000, time.UTC)

type limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (ratelimit.Decision, error)
}

// testFixedWindow checks the contract both limiters share.
func testFixedWindow(t *testing.T, l limiter) {
	ctx := context.Background()
	allow := func(key string, now time.Time) ratelimit.Decision {
		t.Helper()
		d, err := l.Allow(ctx, key, 3, time.Second, now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	reset := time.Date(2026, 11, 1, 12, 0, 1, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		d := allow("a", t0)
		want := ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 3 - i, Reset: reset}
		if !d.Reset.Equal(reset) || d.Allowed != want.Allowed || d.Remaining != want.Remaining || d.Limit != 3 {
			t.Fatalf("request %d: %+v, want %+v", i, d, want)
		}
	}
	d := allow("a", t0.Add(500*time.Millisecond))
	if d.Allowed || d.Remaining != 0 || d.RetryAfter(t0.Add(500*time.Millisecond)) != 250*time.Millisecond {
		t.Fatalf("4th request: %+v", d)
	}
	if d := allow("b", t0); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("another key: %+v", d)
	}
	if d := allow("a", reset); !d.Allowed || d.Remaining != 2 || !d.Reset.Equal(reset.Add(time.Second)) {
		t.Fatalf("next window: %+v", d)
	}
}

func TestMemory(t *testing.T) { testFixedWindow(t, ratelimit.NewMemory(0)) }

func TestMemoryIsBounded(t *testing.T) {
	m := ratelimit.NewMemory(100)
	ctx := context.Background()
	for i := range 1000 {
		if _, err := m.Allow(ctx, strconv.Itoa(i), 5, time.Minute, t0); err != nil {
			t.Fatal(err)
		}
		if m.Len() > 100 {
			t.Fatalf("%d counters after %d keys, want at most 100", m.Len(), i+1)
		}
	}
}

func TestMemoryAllowedPathDoesNotAllocate(t *testing.T) {
	m := ratelimit.NewMemory(0)
	ctx := context.Background()
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		if d, _ := m.Allow(ctx, "key_1", 1_000_000, time.Second, now); !d.Allowed {
			t.Fatal("refused")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per allowed request, want 0", allocs)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := ratelimit.NewMemory(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if d, _ := m.Allow(context.Background(), "k", 250, time.Minute, t0); d.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 250 {
		t.Fatalf("%d allowed, want exactly the limit (250)", allowed)
	}
}

// newRedis returns a Redis client for KEYWARD_TEST_REDIS and a key prefix
// no other test (or earlier run) uses.
func newRedis(t *testing.T) (*redis.Client, string) {
	url := os.Getenv("KEYWARD_TEST_REDIS")
	if url == "" {
		t.Skip("KEYWARD_TEST_REDIS not set (e.g. redis://127.0.0.1:6379/0): skipping the Redis limiter test")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("KEYWARD_TEST_REDIS: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	var b [8]byte
	rand.Read(b[:])
	return c, "keyward:test:rl:" + hex.EncodeToString(b[:]) + ":"
}

func TestRedis(t *testing.T) {
	c, prefix := newRedis(t)
	testFixedWindow(t, ratelimit.NewRedis(c, prefix))
	// A window's counter expires once the window is over.
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	for _, k := range keys {
		if ttl := c.PTTL(context.Background(), k).Val(); ttl <= 0 || ttl > 2*time.Second {
			t.Errorf("%s: TTL %v, want (0, 2s]", k, ttl)
		}
	}
}

// Two nodes (two limiters, two connections) share one budget.
func TestRedisSharedBetweenNodes(t *testing.T) {
	c1, prefix := newRedis(t)
	c2, _ := newRedis(t)
	nodes := []*ratelimit.Redis{ratelimit.NewRedis(c1, prefix), ratelimit.NewRedis(c2, prefix)}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for i := range 10 {
		wg.Go(func() {
			for range 10 {
				d, err := nodes[i%2].Allow(ctx, "key_shared", 42, time.Minute, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 42 {
		t.Fatalf("%d allowed over two nodes, want exactly the limit (42)", allowed)
	}
	d, err := nodes[1].Allow(ctx, "key_shared", 42, time.Minute, t0)
	if err != nil || d.Allowed || d.Remaining != 0 {
		t.Fatalf("node 2 after the budget is spent: %+v, %v", d, err)
	}
}

func TestRedisDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	if _, err := ratelimit.NewRedis(c, "").Allow(context.Background(), "k", 1, time.Second, t0); err == nil {
		t.Fatal("no error from an unreachable Redis")
	}
}

// carrier is a limiter that carries a budget to another key or window.
type carrier interface {
	limiter
	Carry(ctx context.Context, from string, fromWindow time.Duration, to string, toWindow time.Duration, now time.Time) error
}

// testCarry: what a key used in its window counts against the key that
// replaces it, and against the same key under a new window; more used by
// the target already is kept; nothing used carries nothing.
func testCarry(t *testing.T, l carrier) {
	ctx := context.Background()
	for range 2 {
		if _, err := l.Allow(ctx, "key_old", 3, time.Hour, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Carry(ctx, "key_old", time.Hour, "key_new", time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Allow(ctx, "key_new", 3, time.Hour, t0); !d.Allowed || d.Remaining != 0 {
		t.Errorf("the replacement's first request: %+v, want allowed with nothing left", d)
	}
	if d, _ := l.Allow(ctx, "key_new", 3, time.Hour, t0); d.Allowed {
		t.Errorf("the replacement went past the budget its predecessor used: %+v", d)
	}
	// The same key under a slightly longer window starts where it was.
	if err := l.Carry(ctx, "key_old", time.Hour, "key_old", time.Hour+time.Second, t0); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Allow(ctx, "key_old", 3, time.Hour+time.Second, t0); !d.Allowed || d.Remaining != 0 {
		t.Errorf("after a window change: %+v, want allowed with nothing left", d)
	}
	// A target that counted more keeps its count; an unused source is a no-op.
	if err := l.Carry(ctx, "key_unused", time.Hour, "key_new", time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Allow(ctx, "key_new", 3, time.Hour, t0); d.Allowed {
		t.Errorf("carrying nothing reset the target: %+v", d)
	}
}

func TestMemoryCarry(t *testing.T) { testCarry(t, ratelimit.NewMemory(0)) }

func TestRedisCarry(t *testing.T) {
	c, prefix := newRedis(t)
	testCarry(t, ratelimit.NewRedis(c, prefix))
}
