package service

import (
	"net/netip"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// BenchmarkUsageNote notes uses of one key from every core with the real
// clock, as requests with the same key (a backend's own) do.
func BenchmarkUsageNote(b *testing.B) {
	u := newUsageRecorder(nil, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u.note("key_01M90XWVXJ62714VBW0FHX1AZ3", time.Now(), netip.AddrFrom4([4]byte{127, 0, 0, 1}), "bench/1.0")
		}
	})
}

// BenchmarkUsageCount counts uses of one key from every core with the real
// clock: the per-key, per-minute counter every authentication adds to.
func BenchmarkUsageCount(b *testing.B) {
	var c usageCounter
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.count("key_01M90XWVXJ62714VBW0FHX1AZ3", keyward.OutcomeValid, time.Now())
		}
	})
}
