package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// slogLine is what slog's own JSON handler writes for r.
func slogLine(t testing.TB, r slog.Record) string {
	var buf bytes.Buffer
	if err := slog.NewJSONHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// line is what HandleAttrs writes for the record r would be.
func line(t testing.TB, when time.Time, level slog.Level, msg string, attrs []slog.Attr) string {
	var buf bytes.Buffer
	if err := NewHandler(&buf).HandleAttrs(context.Background(), when, level, msg, attrs); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// pieces of strings that need escaping one way or another.
var pieces = []string{"a", "Z", " ", "\"", "\\", "/", "<", ">", "&", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
	"é", "日本", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "\ufffd", "key_01", "="}

func randString(rng *rand.Rand) string {
	var sb strings.Builder
	for range rng.IntN(8) {
		sb.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return sb.String()
}

func randAttr(rng *rand.Rand) slog.Attr {
	key := randString(rng)
	switch rng.IntN(10) {
	case 0:
		return slog.Int64(key, rng.Int64()-rng.Int64())
	case 1:
		return slog.Uint64(key, rng.Uint64())
	case 2:
		return slog.Bool(key, rng.IntN(2) == 0)
	case 3:
		return slog.Duration(key, time.Duration(rng.Int64N(1<<40)))
	case 4:
		return slog.Time(key, time.Unix(rng.Int64N(1<<35)-(1<<34), rng.Int64N(1e9)).In(time.FixedZone("x", 3600*rng.IntN(24)-43200)))
	case 5: // kinds the fast path leaves to slog
		return slog.Float64(key, rng.Float64())
	case 6:
		return slog.Group(key, slog.String("in", randString(rng)))
	case 7:
		return slog.Any(key, []int{1, 2})
	default:
		return slog.String(key, randString(rng))
	}
}

// requestAttrs are the attributes of a typical request line.
func requestAttrs() []slog.Attr {
	return []slog.Attr{slog.String("method", "GET"), slog.String("route", "GET /v1/whoami"), slog.Int("status", 200),
		slog.Duration("duration", 12345), slog.String("request_id", "req_01KAW2X4D5E6F7G8H9J0KMNPQR"),
		slog.String("client", "127.0.0.1"), slog.String("key_id", "key_01KAW2X4D5E6F7G8H9J0KMNPQR"),
		slog.String("note", "quote \" backslash \\ newline \n <html> \u2028")}
}

// TestSameAsSlog: Handle and HandleAttrs write what slog's JSON handler writes.
func TestSameAsSlog(t *testing.T) {
	when := time.Date(2026, 12, 6, 7, 8, 9, 123456789, time.UTC)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		r := slog.NewRecord(when, level, "request", 0)
		r.AddAttrs(requestAttrs()...)
		var want bytes.Buffer
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		var byHandle, byAttrs bytes.Buffer
		if err := NewHandler(&byHandle).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := NewHandler(&byAttrs).HandleAttrs(context.Background(), when, level, "request", requestAttrs()); err != nil {
			t.Fatal(err)
		}
		if byHandle.String() != want.String() || byAttrs.String() != want.String() {
			t.Fatalf("%v:\n Handle      %q\n HandleAttrs %q\n slog        %q", level, byHandle.String(), byAttrs.String(), want.String())
		}
	}
}

// TestRequestLinesSameAsSlog compares HandleAttrs's lines with slog's on
// random records, the hand path and the fallback alike.
func TestRequestLinesSameAsSlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	byHand := 0
	for i := range 5000 {
		var when time.Time
		if i%10 != 0 {
			when = time.Unix(rng.Int64N(1<<33), rng.Int64N(1e9))
		}
		level, msg := slog.Level(rng.IntN(16)-8), randString(rng)
		var attrs []slog.Attr
		for range rng.IntN(12) {
			attrs = append(attrs, randAttr(rng))
		}
		r := slog.NewRecord(when, level, msg, 0)
		r.AddAttrs(attrs...)
		if _, ok := appendRequestLine(nil, when, level, msg, attrs); ok {
			byHand++
		}
		if got, want := line(t, when, level, msg, attrs), slogLine(t, r); got != want {
			t.Fatalf("record %d:\n got %q\nwant %q", i, got, want)
		}
	}
	if byHand < 500 {
		t.Fatalf("only %d of 5000 records were written by hand", byHand)
	}
}

// FuzzString checks the hand path's string escaping against slog's on any
// bytes.
func FuzzString(f *testing.F) {
	for _, p := range pieces {
		f.Add(p, p)
	}
	f.Fuzz(func(t *testing.T, msg, val string) {
		attrs := []slog.Attr{slog.String(val, msg), slog.String("v", val)}
		r := slog.NewRecord(time.Unix(1, 2), slog.LevelInfo, msg, 0)
		r.AddAttrs(attrs...)
		if got, want := line(t, time.Unix(1, 2), slog.LevelInfo, msg, attrs), slogLine(t, r); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	})
}

// TestConcurrentLines logs through every door from many goroutines: every
// line must come out whole.
func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	h := NewBatchingHandler(&buf, time.Hour)
	log := slog.New(h)
	withAttrs := log.With("node", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				log.Info("plain", "g", g, "i", i, "s", strings.Repeat("x", i))
				withAttrs.Info("with", "g", g, "i", i)
				_ = h.HandleAttrs(context.Background(), time.Now(), slog.LevelInfo, "request", requestAttrs())
			}
		})
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*200*3 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200*3)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
}

func BenchmarkRequestLine(b *testing.B) {
	b.Run("slog", func(b *testing.B) {
		h := slog.NewJSONHandler(discard{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
			r.AddAttrs(requestAttrs()...)
			_ = h.Handle(context.Background(), r)
		}
	})
	b.Run("HandleAttrs", func(b *testing.B) {
		h := NewHandler(discard{})
		b.ReportAllocs()
		for b.Loop() {
			_ = h.HandleAttrs(context.Background(), time.Now(), slog.LevelInfo, "request", requestAttrs())
		}
	})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
