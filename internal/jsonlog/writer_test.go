package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is the writer under a handler: it keeps every write separately.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(b))
	r.mu.Unlock()
	return len(b), nil
}

func (r *recorder) all() (writes int, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes), strings.Join(r.writes, "")
}

// requestLine writes the request line number i the way the API does.
func requestLine(t testing.TB, h *Handler, level slog.Level, i int) {
	t.Helper()
	attrs := []slog.Attr{slog.String("method", "GET"), slog.String("route", "GET /v1/whoami"), slog.Int("status", 200), slog.Int("i", i)}
	if err := h.HandleAttrs(context.Background(), time.Unix(1, 0), level, "request", attrs); err != nil {
		t.Fatal(err)
	}
}

// TestBatchingKeepsOrder: request lines wait until another line is
// written, then go out with it, first, in one write; the text is what the
// unbatched handler writes for the same calls.
func TestBatchingKeepsOrder(t *testing.T) {
	rec := newRecorder()
	var plain bytes.Buffer
	batching, unbatched := NewBatchingHandler(rec, time.Hour), NewHandler(&plain)
	for _, h := range []*Handler{batching, unbatched} {
		for i := range 3 {
			requestLine(t, h, slog.LevelInfo, i)
		}
	}
	if n, _ := rec.all(); n != 0 {
		t.Fatalf("%d writes before any other line, want 0", n)
	}
	ctx := context.Background()
	started := slog.NewRecord(time.Unix(2, 0), slog.LevelInfo, "started", 0)
	started.AddAttrs(slog.String("addr", "127.0.0.1:8080"))
	slow := slog.NewRecord(time.Unix(3, 0), slog.LevelWarn, "slow path", 0)
	for _, h := range []*Handler{batching, unbatched} {
		if err := h.Handle(ctx, started); err != nil { // this package's path: written at once
			t.Fatal(err)
		}
		if err := h.WithAttrs([]slog.Attr{slog.Int("node", 1)}).Handle(ctx, slow); err != nil { // slog's: at once
			t.Fatal(err)
		}
		requestLine(t, h, slog.LevelError, 3) // a request that failed: written at once
	}
	n, got := rec.all()
	if n != 3 {
		t.Errorf("%d writes, want 3 (request lines with the first other line, then one each)", n)
	}
	if got != plain.String() {
		t.Fatalf("batched:\n%s\nunbatched:\n%s", got, plain.String())
	}
}

// TestBatchingWritesWhenFull: a batching writer writes once it holds 64 KiB,
// without waiting for its timer.
func TestBatchingWritesWhenFull(t *testing.T) {
	rec := newRecorder()
	h := NewBatchingHandler(rec, time.Hour)
	var i int
	for ; i < 10_000; i++ {
		requestLine(t, h, slog.LevelInfo, i)
		if n, _ := rec.all(); n > 0 {
			break
		}
	}
	_, text := rec.all()
	if len(text) < batchBytes || len(text) > batchBytes+200 {
		t.Fatalf("first write after %d lines: %d bytes, want 64 KiB and one line at most", i+1, len(text))
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, text = rec.all(); strings.Count(text, "\n") != i+1 {
		t.Fatalf("%d lines written after Close, want %d", strings.Count(text, "\n"), i+1)
	}
	requestLine(t, h, slog.LevelInfo, i+1)
	if _, after := rec.all(); strings.Count(after, "\n") != i+2 {
		t.Fatalf("a request line after Close was held back")
	}
}

// TestBatchingWritesInTime: a request line held back is written when the
// interval has passed, not a moment before, with nothing else logged. It
// runs in a synctest bubble: time moves only when every goroutine waits,
// so "the interval has passed" is exact.
func TestBatchingWritesInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 20 * time.Millisecond
		rec := newRecorder()
		h := NewBatchingHandler(rec, every)
		for round := range 2 { // the timer works again after a write
			requestLine(t, h, slog.LevelInfo, round)
			time.Sleep(every - time.Nanosecond)
			synctest.Wait()
			if n, _ := rec.all(); n != round {
				t.Fatalf("round %d: %d writes a nanosecond before the interval, want %d", round, n, round)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait() // the timer's write
			if n, _ := rec.all(); n != round+1 {
				t.Fatalf("round %d: %d writes once the interval passed, want %d", round, n, round+1)
			}
		}
		if _, text := rec.all(); strings.Count(text, "\n") != 2 {
			t.Fatalf("written: %q", text)
		}
	})
}

// TestBatchingConcurrent: lines logged from many goroutines through every
// path, to a slow writer, with writes on size, on time and on other lines
// overlapping, all come out whole, once each, and in each goroutine's order.
func TestBatchingConcurrent(t *testing.T) {
	rec := newRecorder()
	slow := writerFunc(func(b []byte) (int, error) {
		time.Sleep(50 * time.Microsecond) // a slow disk: writes overlap new lines and timer flushes
		return rec.Write(b)
	})
	h := NewBatchingHandler(slow, time.Millisecond)
	log := slog.New(h).With("node", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				requestLine(t, h, slog.LevelInfo, g*1000+i)
				if i%100 == 0 {
					log.Info("other", "g", g, "after", g*1000+i)
				}
			}
		})
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	_, text := rec.all()
	last := map[int]int{} // per goroutine, the last request line seen
	requests := 0
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var v struct {
			Msg      string
			I, After *int
			G        int
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		switch v.Msg {
		case "request":
			requests++
			g := *v.I / 1000
			if prev, ok := last[g]; ok && *v.I != prev+1 {
				t.Fatalf("request line %d follows %d", *v.I, prev)
			}
			last[g] = *v.I
		case "other":
			if last[v.G] != *v.After {
				t.Fatalf("goroutine %d's other line after request %d, but the last of its request lines written is %d", v.G, *v.After, last[v.G])
			}
		}
	}
	if requests != 8000 {
		t.Fatalf("%d request lines, want 8000", requests)
	}
}

// TestBatchingCloseWaits: Close returns only once a write the timer
// started has finished, so serve's last lines are out when it exits.
func TestBatchingCloseWaits(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var done atomic.Int32
	blocking := writerFunc(func(b []byte) (int, error) {
		close(entered)
		<-release
		done.Add(1)
		return len(b), nil
	})
	h := NewBatchingHandler(blocking, time.Millisecond)
	requestLine(t, h, slog.LevelInfo, 0)
	<-entered // the timer's write is under way, and blocked
	closed := make(chan int32)
	go func() {
		_ = h.Close()
		closed <- done.Load()
	}()
	select {
	case n := <-closed: // a Close that does not wait returns at once
		t.Fatalf("Close returned before the write under way finished (%d writes done)", n)
	case <-time.After(100 * time.Millisecond): // then let the write finish
	}
	close(release)
	if n := <-closed; n != 1 {
		t.Fatalf("%d writes done when Close returned, want 1", n)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// BenchmarkBatching writes request lines to a real file, one write per
// line or in batches.
func BenchmarkBatching(b *testing.B) {
	for _, batched := range []bool{false, true} {
		b.Run(fmt.Sprintf("batched=%v", batched), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			h := NewHandler(f)
			if batched {
				h = NewBatchingHandler(f, 100*time.Millisecond)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					requestLine(b, h, slog.LevelInfo, i)
				}
			})
			b.StopTimer()
			if err := h.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
