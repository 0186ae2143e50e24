package jsonlog

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTime compares appendTime with AppendFormat(RFC3339Nano) on
// times that reuse, and times that must not reuse, the last stamp: the
// same second in other locations, whole and trailing-zero fractions, and
// zones whose offsets have seconds.
func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	locs := []*time.Location{time.UTC, time.Local, time.FixedZone("", 0), time.FixedZone("a", 3600),
		time.FixedZone("b", -(5*3600 + 30*60)), time.FixedZone("c", 17*60+30), time.FixedZone("d", -45)}
	fracs := []int64{0, 1, 10, 100_000_000, 120_000_000, 999_999_999, 500}
	base := time.Date(2026, 12, 5, 16, 20, 43, 0, time.UTC).Unix()
	for i := range 20000 {
		sec := base + rng.Int64N(3) // mostly the same few seconds
		if i%50 == 0 {
			sec = rng.Int64N(253402300799) // any second of years 1970-9999
		}
		ns := rng.Int64N(1e9)
		if i%3 == 0 {
			ns = fracs[rng.IntN(len(fracs))]
		}
		tm := time.Unix(sec, ns).In(locs[rng.IntN(len(locs))])
		want := tm.AppendFormat(nil, time.RFC3339Nano)
		if got := appendTime([]byte("x"), tm); string(got) != "x"+string(want) {
			t.Fatalf("%v: got %q, want %q", tm, got[1:], want)
		}
	}
}

func BenchmarkAppendTime(b *testing.B) {
	tm := time.Now()
	buf := make([]byte, 0, 64)
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = tm.AppendFormat(buf[:0], time.RFC3339Nano)
		}
	})
	b.Run("appendTime", func(b *testing.B) {
		for b.Loop() {
			buf = appendTime(buf[:0], tm)
		}
	})
}
