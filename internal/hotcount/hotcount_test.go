package hotcount

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestHistogramBuckets(t *testing.T) {
	h := NewHistogram([]time.Duration{time.Millisecond, 10 * time.Millisecond})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 10 * time.Millisecond, time.Second} {
				h.Observe(d)
			}
		})
	}
	wg.Wait()
	want := Snapshot{
		Bounds:     []time.Duration{time.Millisecond, 10 * time.Millisecond},
		Cumulative: []uint64{8, 16}, // bounds are inclusive, as Prometheus's "le"
		Count:      20,
		Sum:        4 * (2*time.Millisecond + 10*time.Millisecond + time.Second), // 1 ns rounds to 0 µs
	}
	if diff := cmp.Diff(want, h.Snapshot()); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
}

func TestHistogramRejectsBadBounds(t *testing.T) {
	for _, bounds := range [][]time.Duration{
		{2, 1},
		{1, 1},
		make([]time.Duration, MaxBounds+1),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("bounds %v: want a panic", bounds)
				}
			}()
			NewHistogram(bounds)
		}()
	}
}

// BenchmarkCounter is why counters are not striped: one word that both
// cores add to, against 16 stripes picked at random (each bump then
// likely finds its line on the other core).
func BenchmarkCounter(b *testing.B) {
	b.Run("striped", func(b *testing.B) {
		var cells [stripes]struct {
			n atomic.Uint64
			_ [56]byte
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cells[stripe()].n.Add(1)
			}
		})
	})
	b.Run("prometheus", func(b *testing.B) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
}

// BenchmarkHistogram observes into one histogram from every core, against
// a Prometheus histogram.
func BenchmarkHistogram(b *testing.B) {
	bounds := []time.Duration{500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond}
	observe := func(b *testing.B, f func(time.Duration)) {
		b.RunParallel(func(pb *testing.PB) {
			d := time.Duration(0)
			for pb.Next() {
				d = (d + 700*time.Microsecond) % (20 * time.Millisecond)
				f(d)
			}
		})
	}
	b.Run("hotcount", func(b *testing.B) {
		observe(b, NewHistogram(bounds).Observe)
	})
	b.Run("prometheus", func(b *testing.B) {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: []float64{.0005, .001, .005, .01}})
		observe(b, func(d time.Duration) { h.Observe(d.Seconds()) })
	})
}
