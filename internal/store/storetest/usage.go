package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// minuteOf is the start of t's minute (base is not on one).
func minuteOf(t time.Time) time.Time { return t.Truncate(time.Minute) }

var usageTests = []test{
	{"AddUsageAddsAndSums", func(t *testing.T, e *env) {
		o := e.org()
		p, other := e.project(o), e.project(o)
		k1, k2, k3 := e.key(o, p), e.key(o, p), e.key(o, other)
		orgKey := e.key(o, nil)
		m := minuteOf(base)
		one := keyward.UsageCounts{Valid: 3, Invalid: 1, Expired: 2, InsufficientScope: 4, IPNotAllowed: 5, RateLimited: 6}
		mustNil(t, "AddUsage", e.s.AddUsage(e.ctx, []keyward.UsageDelta{
			{KeyID: k1.ID, Span: keyward.SpanMinute, Start: m, Counts: one},
			{KeyID: k2.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{Valid: 10}},
			{KeyID: k1.ID, Span: keyward.SpanMinute, Start: m.Add(time.Minute), Counts: keyward.UsageCounts{Valid: 1}},
			{KeyID: k1.ID, Span: keyward.SpanHour, Start: m.Truncate(time.Hour), Counts: one},
			{KeyID: k3.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{RateLimited: 7}},
			{KeyID: orgKey.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{Valid: 2}},
			{KeyID: keyward.NewID(keyward.PrefixKey), Span: keyward.SpanMinute, Start: m, Counts: one}, // unknown: skipped
		}))
		// A second batch (another node's) adds to the same bucket.
		mustNil(t, "AddUsage again", e.s.AddUsage(e.ctx, []keyward.UsageDelta{
			{KeyID: k1.ID, Span: keyward.SpanMinute, Start: m, Counts: one},
		}))
		mustNil(t, "AddUsage(empty)", e.s.AddUsage(e.ctx, nil))

		f := keyward.UsageFilter{KeyID: k1.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(2 * time.Minute)}
		got, err := e.s.Usage(e.ctx, f)
		mustNil(t, "Usage(key)", err)
		two := one
		two.Add(one)
		diff(t, "Usage(key)", []keyward.UsageRow{
			{Start: m, Counts: two},
			{Start: m.Add(time.Minute), Counts: keyward.UsageCounts{Valid: 1}},
		}, got)

		// Until is exclusive.
		got, err = e.s.Usage(e.ctx, keyward.UsageFilter{KeyID: k1.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Minute)})
		mustNil(t, "Usage(key, one minute)", err)
		diff(t, "Usage(key, one minute)", []keyward.UsageRow{{Start: m, Counts: two}}, got)

		proj := two
		proj.Add(keyward.UsageCounts{Valid: 10})
		got, err = e.s.Usage(e.ctx, keyward.UsageFilter{ProjectID: p.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Minute)})
		mustNil(t, "Usage(project)", err)
		diff(t, "Usage(project)", []keyward.UsageRow{{Start: m, Counts: proj}}, got)

		orgSum := proj
		orgSum.Add(keyward.UsageCounts{RateLimited: 7, Valid: 2})
		got, err = e.s.Usage(e.ctx, keyward.UsageFilter{OrgID: o.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Minute)})
		mustNil(t, "Usage(org)", err)
		diff(t, "Usage(org)", []keyward.UsageRow{{Start: m, Counts: orgSum}}, got)

		got, err = e.s.Usage(e.ctx, keyward.UsageFilter{KeyID: k1.ID, Span: keyward.SpanHour, Since: m.Add(-time.Hour), Until: m.Add(time.Hour)})
		mustNil(t, "Usage(key, hours)", err)
		diff(t, "Usage(key, hours)", []keyward.UsageRow{{Start: m.Truncate(time.Hour), Counts: one}}, got)

		byKey, err := e.s.UsageByKey(e.ctx, keyward.UsageFilter{ProjectID: p.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Hour)})
		mustNil(t, "UsageByKey", err)
		k1Sum := two
		k1Sum.Add(keyward.UsageCounts{Valid: 1})
		want := []keyward.UsageRow{{KeyID: k1.ID, Counts: k1Sum}, {KeyID: k2.ID, Counts: keyward.UsageCounts{Valid: 10}}}
		if k2.ID < k1.ID {
			want[0], want[1] = want[1], want[0]
		}
		diff(t, "UsageByKey", want, byKey)
	}},
	{"PruneUsageBySpan", func(t *testing.T, e *env) {
		o := e.org()
		k := e.key(o, nil)
		m := minuteOf(base)
		mustNil(t, "AddUsage", e.s.AddUsage(e.ctx, []keyward.UsageDelta{
			{KeyID: k.ID, Span: keyward.SpanMinute, Start: m.Add(-2 * time.Minute), Counts: keyward.UsageCounts{Valid: 1}},
			{KeyID: k.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{Valid: 2}},
			{KeyID: k.ID, Span: keyward.SpanHour, Start: m.Add(-2 * time.Hour).Truncate(time.Hour), Counts: keyward.UsageCounts{Valid: 3}},
		}))
		mustNil(t, "PruneUsage", e.s.PruneUsage(e.ctx, keyward.SpanMinute, m))
		got, err := e.s.Usage(e.ctx, keyward.UsageFilter{KeyID: k.ID, Span: keyward.SpanMinute, Since: m.Add(-time.Hour), Until: m.Add(time.Hour)})
		mustNil(t, "Usage(minutes)", err)
		diff(t, "minutes after prune", []keyward.UsageRow{{Start: m, Counts: keyward.UsageCounts{Valid: 2}}}, got)
		got, err = e.s.Usage(e.ctx, keyward.UsageFilter{KeyID: k.ID, Span: keyward.SpanHour, Since: m.Add(-5 * time.Hour), Until: m.Add(time.Hour)})
		mustNil(t, "Usage(hours)", err)
		if len(got) != 1 {
			t.Fatalf("hour buckets after pruning minutes: %+v, want the one kept", got)
		}
	}},
	{"AddUsageConcurrentIsExact", func(t *testing.T, e *env) {
		o := e.org()
		k := e.key(o, nil)
		m := minuteOf(base)
		const writers, batches = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches)
		for range writers {
			wg.Go(func() {
				for range batches {
					errs <- e.s.AddUsage(e.ctx, []keyward.UsageDelta{
						{KeyID: k.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{Valid: 2, Expired: 1}},
						{KeyID: k.ID, Span: keyward.SpanHour, Start: m.Truncate(time.Hour), Counts: keyward.UsageCounts{Valid: 2, Expired: 1}},
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			mustNil(t, "AddUsage", err)
		}
		got, err := e.s.Usage(e.ctx, keyward.UsageFilter{KeyID: k.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Minute)})
		mustNil(t, "Usage", err)
		diff(t, "sum of concurrent batches", []keyward.UsageRow{{Start: m, Counts: keyward.UsageCounts{Valid: 2 * writers * batches, Expired: writers * batches}}}, got)
	}},
	{"UsageGoesWithTheProject", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		k := e.key(o, p)
		m := minuteOf(base)
		mustNil(t, "AddUsage", e.s.AddUsage(e.ctx, []keyward.UsageDelta{{KeyID: k.ID, Span: keyward.SpanMinute, Start: m, Counts: keyward.UsageCounts{Valid: 1}}}))
		mustNil(t, "DeleteProject", e.s.DeleteProject(e.ctx, p.ID))
		got, err := e.s.Usage(e.ctx, keyward.UsageFilter{OrgID: o.ID, Span: keyward.SpanMinute, Since: m, Until: m.Add(time.Minute)})
		mustNil(t, "Usage", err)
		diff(t, "usage of a deleted project's key", []keyward.UsageRow{}, got)
	}},
}
