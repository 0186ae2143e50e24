// Package hotcount has the histogram of request durations, which every
// core bumps on every request. Prometheus's histogram takes four atomic
// steps (one a compare-and-swap loop) on lines that every core shares; this
// one takes two, on one of 16 stripes picked at random, and reading adds
// the stripes up. Plain counters stay Prometheus's: one atomic add on a
// shared line costs less than spreading it (BenchmarkCounter).
package hotcount

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// stripes is how many copies of a histogram there are: with two cores
// bumping at once, they meet on one stripe once in 16 bumps.
const stripes = 16

// stripe picks a stripe. rand's top-level functions use the runtime's
// per-thread generator: no shared state.
func stripe() uint32 { return rand.Uint32() % stripes } //nolint:gosec // G404: spreads writes over stripes; no secret

// MaxBounds is how many bucket bounds a Histogram can have.
const MaxBounds = 15

// Histogram counts durations into buckets. Reading it while it is bumped
// may see the sum without the latest few observations, never a bucket
// count that disagrees with the total.
type Histogram struct {
	bounds []time.Duration // upper bounds, ascending
	rows   [stripes]row
}

// row is one stripe of a histogram: a count per bucket (the last one for
// durations above every bound) and the sum, on cache lines of their own.
//
// The sum is in microseconds, each duration rounded: in nanoseconds it
// would wrap after 292 years of observed time, which thousands of
// hours-long streams reach within days.
type row struct {
	counts [MaxBounds + 1]atomic.Uint64
	sum    atomic.Int64
	_      [56]byte
}

// NewHistogram returns a histogram with these upper bounds, ascending (at
// most MaxBounds).
func NewHistogram(bounds []time.Duration) *Histogram {
	if len(bounds) > MaxBounds {
		panic("hotcount: too many bounds")
	}
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("hotcount: bounds must ascend")
		}
	}
	return &Histogram{bounds: bounds}
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	r := &h.rows[stripe()]
	r.counts[i].Add(1)
	r.sum.Add(int64((d + time.Microsecond/2) / time.Microsecond))
}

// Snapshot is a histogram's state: Cumulative[i] counts the durations at
// most Bounds[i]; Count counts them all; Sum adds them up, each rounded to
// the microsecond.
type Snapshot struct {
	Bounds     []time.Duration
	Cumulative []uint64
	Count      uint64
	Sum        time.Duration
}

// Snapshot reads the histogram.
func (h *Histogram) Snapshot() Snapshot {
	var counts [MaxBounds + 1]uint64
	var sum int64
	for s := range h.rows {
		r := &h.rows[s]
		for i := 0; i <= len(h.bounds); i++ {
			counts[i] += r.counts[i].Load()
		}
		sum += r.sum.Load()
	}
	snap := Snapshot{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds)), Sum: time.Duration(sum) * time.Microsecond}
	var run uint64
	for i := range h.bounds {
		run += counts[i]
		snap.Cumulative[i] = run
	}
	snap.Count = run + counts[len(h.bounds)]
	return snap
}
