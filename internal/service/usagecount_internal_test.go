package service

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// TestUsageCounterExactUnderFlushes counts from several goroutines whose
// times cross minute boundaries while take runs again and again, retiring
// the past minutes' entries: every count is taken exactly once.
func TestUsageCounterExactUnderFlushes(t *testing.T) {
	var c usageCounter
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var minute atomic.Int64 // the minute the writers are in
	const writers, perWriter = 4, 20000
	got := map[countKey]int64{}
	collect := func(m map[countKey][keyward.NumOutcomes]int64) {
		for k, n := range m {
			for _, v := range n {
				got[k] += v
			}
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if i%5000 == 0 && w == 0 {
					minute.Add(1)
				}
				now := start.Add(time.Duration(minute.Load()) * time.Minute)
				c.count([]string{"a", "b"}[i%2], keyward.Outcome(i%keyward.NumOutcomes), now)
			}
		})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				collect(c.take(start.Add(time.Duration(minute.Load()) * time.Minute)))
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	collect(c.take(start.Add(time.Hour)))
	var total int64
	for _, v := range got {
		total += v
	}
	if total != writers*perWriter {
		t.Fatalf("took %d counts, want %d", total, writers*perWriter)
	}
	n := 0
	c.m.Range(func(_, _ any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d entries left after taking every past minute", n)
	}
}

// TestUsageDeltasBuckets: a minute's counts go to its minute, hour and day.
func TestUsageDeltasBuckets(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ds := deltas(map[countKey][keyward.NumOutcomes]int64{{id: "k", minute: unixMinute(at)}: {2, 0, 0, 0, 0, 1}})
	want := []time.Time{at.Truncate(time.Minute), at.Truncate(time.Hour), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}
	if len(ds) != 3 {
		t.Fatalf("%d deltas, want 3", len(ds))
	}
	for i, d := range ds {
		if !d.Start.Equal(want[i]) || d.Counts != (keyward.UsageCounts{Valid: 2, RateLimited: 1}) {
			t.Errorf("delta %d: %+v, want start %v", i, d, want[i])
		}
	}
}
