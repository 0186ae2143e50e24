package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestAttrs are the attributes of a typical request line.
func requestAttrs() []slog.Attr {
	return []slog.Attr{slog.String("method", "GET"), slog.String("route", "GET /v1/whoami"), slog.Int("status", 200),
		slog.Duration("duration", 12345), slog.String("request_id", "req_01KAW2X4D5E6F7G8H9J0KMNPQR"),
		slog.String("client", "127.0.0.1"), slog.String("key_id", "key_01KAW2X4D5E6F7G8H9J0KMNPQR"),
		slog.String("note", "quote \" backslash \\ newline \n <html> \u2028")}
}

// TestSameAsSlog: both doors write what slog's JSON handler writes.
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
