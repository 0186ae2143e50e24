package service

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
)

// usageCounter counts requests per key, minute and outcome in memory; flush
// hands the counts to the store, which adds them to its buckets. Counting
// only adds to atomic counters in a map entry made once per key and minute,
// so the hot path allocates nothing and takes no lock.
type usageCounter struct {
	m sync.Map // countKey → *minuteCounts
}

// countKey is a key id and a minute (Unix seconds / 60).
type countKey struct {
	id     string
	minute int64
}

// minuteCounts are one key's counts in one minute. in counts the writers
// adding to it right now, plus countRetired once flush has taken it out of
// the map: a writer that finds it retired counts in a new entry instead,
// and flush reads the counts only once no writer is left, so no count is
// lost or counted twice.
type minuteCounts struct {
	in atomic.Int64
	n  [keyward.NumOutcomes]atomic.Int64
}

const countRetired = 1 << 40

// count adds one request with outcome o of key id at now.
func (c *usageCounter) count(id string, o keyward.Outcome, now time.Time) {
	c.add(countKey{id: id, minute: unixMinute(now)}, o, 1)
}

func (c *usageCounter) add(k countKey, o keyward.Outcome, n int64) {
	for {
		v, ok := c.m.Load(k)
		if !ok {
			v, _ = c.m.LoadOrStore(k, new(minuteCounts))
		}
		mc := v.(*minuteCounts)
		if mc.in.Add(1)&countRetired != 0 {
			mc.in.Add(-1)
			runtime.Gosched() // flush is deleting it from the map
			continue
		}
		mc.n[o].Add(n)
		mc.in.Add(-1)
		return
	}
}

// unixMinute is t's minute since the Unix epoch.
func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 59) / 60
	}
	return s / 60
}

// take removes the counts noted so far: every entry's counts are swapped
// out, and the entries of minutes before now's are retired, so the map
// holds only the current minute's keys.
func (c *usageCounter) take(now time.Time) map[countKey][keyward.NumOutcomes]int64 {
	cur := unixMinute(now)
	out := map[countKey][keyward.NumOutcomes]int64{}
	c.m.Range(func(k, v any) bool {
		key, mc := k.(countKey), v.(*minuteCounts)
		if key.minute < cur {
			mc.in.Add(countRetired)
			c.m.CompareAndDelete(k, v)
			for mc.in.Load() != countRetired {
				runtime.Gosched()
			}
		}
		var n [keyward.NumOutcomes]int64
		nonzero := false
		for i := range mc.n {
			n[i] = mc.n[i].Swap(0)
			nonzero = nonzero || n[i] != 0
		}
		if nonzero {
			out[key] = n
		}
		return true
	})
	return out
}

// giveBack adds counts that could not be written back, for the next flush.
func (c *usageCounter) giveBack(counts map[countKey][keyward.NumOutcomes]int64) {
	for k, n := range counts {
		for o, v := range n {
			if v != 0 {
				c.add(k, keyward.Outcome(o), v)
			}
		}
	}
}

// usageSpans are the bucket lengths every count is added to.
var usageSpans = [...]time.Duration{keyward.SpanMinute, keyward.SpanHour, keyward.SpanDay}

// deltas turns minute counts into the store's deltas: each minute's counts
// are added to its minute, its hour and its day (UTC), in a stable order.
func deltas(counts map[countKey][keyward.NumOutcomes]int64) []keyward.UsageDelta {
	type bucket struct {
		id    string
		span  time.Duration
		start int64 // Unix seconds
	}
	sums := map[bucket][keyward.NumOutcomes]int64{}
	for k, n := range counts {
		for _, span := range usageSpans {
			sec := int64(span / time.Second)
			start := k.minute * 60
			start -= ((start % sec) + sec) % sec
			b := bucket{k.id, span, start}
			s := sums[b]
			for i := range s {
				s[i] += n[i]
			}
			sums[b] = s
		}
	}
	out := make([]keyward.UsageDelta, 0, len(sums))
	for b, n := range sums {
		out = append(out, keyward.UsageDelta{KeyID: b.id, Span: b.span, Start: time.Unix(b.start, 0).UTC(), Counts: keyward.CountsOf(n)})
	}
	slices.SortFunc(out, func(a, b keyward.UsageDelta) int {
		if c := strings.Compare(a.KeyID, b.KeyID); c != 0 {
			return c
		}
		if a.Span != b.Span {
			return int(a.Span/time.Second - b.Span/time.Second)
		}
		return a.Start.Compare(b.Start)
	})
	return out
}

// flushCounts writes the counts noted so far; on failure they are kept for
// the next try.
func (s *Service) flushCounts(ctx context.Context) error {
	counts := s.counts.take(s.clock.Now())
	if len(counts) == 0 {
		return nil
	}
	if err := s.store.AddUsage(ctx, deltas(counts)); err != nil {
		s.counts.giveBack(counts)
		return err
	}
	return nil
}

// UsageRetention says how long usage counts are kept in each bucket size.
// Zero fields take the defaults: minutes for a day, hours for 90 days,
// days for two years.
type UsageRetention struct {
	Minute, Hour, Day time.Duration
}

// Usage retention defaults.
const (
	DefaultMinuteRetention = 24 * time.Hour
	DefaultHourRetention   = 90 * 24 * time.Hour
	DefaultDayRetention    = 730 * 24 * time.Hour
)

func (r UsageRetention) withDefaults() UsageRetention {
	if r.Minute <= 0 {
		r.Minute = DefaultMinuteRetention
	}
	if r.Hour <= 0 {
		r.Hour = DefaultHourRetention
	}
	if r.Day <= 0 {
		r.Day = DefaultDayRetention
	}
	return r
}

// of is the retention of span.
func (r UsageRetention) of(span time.Duration) time.Duration {
	switch span {
	case keyward.SpanMinute:
		return r.Minute
	case keyward.SpanHour:
		return r.Hour
	}
	return r.Day
}

// PruneUsage deletes the usage buckets older than their retention, by the
// service's clock. Run calls it once an hour.
func (s *Service) PruneUsage(ctx context.Context) error {
	now := s.clock.Now()
	for _, span := range usageSpans {
		if err := s.store.PruneUsage(ctx, span, now.Add(-s.retention.of(span)).Truncate(span)); err != nil {
			return err
		}
	}
	return nil
}

// FlushUsage writes the pending last-used times and usage counts now (Run
// does so every second, and once more when it ends).
func (s *Service) FlushUsage(ctx context.Context) error {
	err := s.usage.flush(ctx)
	if cerr := s.flushCounts(ctx); err == nil {
		err = cerr
	}
	return err
}

// usagePruneEvery is how often Run prunes old usage buckets.
const usagePruneEvery = time.Hour

// Run writes last-used times and usage counts behind in batches until ctx
// ends, then flushes once more, and prunes old usage buckets once an hour.
// The server runs it in the background.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(usageFlushEvery)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			// A last flush with a fresh context: the server is shutting down.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.FlushUsage(fctx); err != nil {
				s.log.Error("usage: final flush of last-used times and counts failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.FlushUsage(ctx); err != nil {
				s.log.Warn("usage: flush of last-used times and counts failed; will retry", "err", err)
			}
			if now := time.Now(); now.Sub(lastPrune) >= usagePruneEvery {
				lastPrune = now
				if err := s.PruneUsage(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("usage: pruning old counts failed; will retry", "err", err)
				}
			}
		}
	}
}
