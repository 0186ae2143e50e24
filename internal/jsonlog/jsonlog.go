// Package jsonlog is keyward's JSON log handler: slog.NewJSONHandler, on a
// writer that keeps lines whole when several goroutines log at once and
// that can hold request lines back to write many at a time (writer.go).
// The request line itself is written by hand, the same bytes faster
// (requestline.go).
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Handler is a slog.Handler writing what slog.NewJSONHandler(w, nil)
// writes; see the package comment.
type Handler struct {
	now     slog.Handler // writes each line at once
	batched slog.Handler // request lines, held back on a batching writer
	w       *lockedWriter
}

// NewHandler returns a handler writing JSON lines to w at level INFO and
// above, like slog.NewJSONHandler(w, nil).
func NewHandler(w io.Writer) *Handler {
	return newHandler(&lockedWriter{w: w})
}

// NewBatchingHandler is NewHandler, except that request lines below WARN
// (those written by HandleAttrs) are held back and written many at a time:
// when 64 KiB are waiting, when every has passed since the first of them,
// when any other line is written (they go first), and on Close. A crash
// loses at most that much of the request log; every other line is written
// at once.
func NewBatchingHandler(w io.Writer, every time.Duration) *Handler {
	return newHandler(&lockedWriter{w: w, every: every})
}

func newHandler(lw *lockedWriter) *Handler {
	return &Handler{
		now:     slog.NewJSONHandler(lw, nil),
		batched: slog.NewJSONHandler(batchedWriter{lw}, nil),
		w:       lw,
	}
}

// Close writes the request lines held back; those logged after it are
// written at once.
func (h *Handler) Close() error { return h.w.close() }

// Enabled reports whether level is INFO or above.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.now.Enabled(ctx, level)
}

// Handle writes r as one JSON line, at once.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	return h.now.Handle(ctx, r)
}

// WithAttrs returns slog's handler with attrs; its lines are written at
// once.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.now.WithAttrs(attrs) }

// WithGroup returns slog's handler in the group; see WithAttrs.
func (h *Handler) WithGroup(name string) slog.Handler { return h.now.WithGroup(name) }

// HandleAttrs writes a request line: the record made by slog.NewRecord(t,
// level, msg, 0) and AddAttrs(attrs...), held back with the other request
// lines on a batching handler when level is below WARN. It keeps no
// reference to attrs.
func (h *Handler) HandleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs []slog.Attr) error {
	bp := bufs.Get().(*[]byte)
	b, ok := appendRequestLine((*bp)[:0], t, level, msg, attrs)
	if !ok {
		bufs.Put(bp)
		r := slog.NewRecord(t, level, msg, 0)
		r.AddAttrs(attrs...)
		if level < slog.LevelWarn {
			return h.batched.Handle(ctx, r)
		}
		return h.now.Handle(ctx, r)
	}
	var err error
	if level < slog.LevelWarn {
		err = h.w.writeBatched(b)
	} else {
		_, err = h.w.Write(b)
	}
	if cap(b) <= 64<<10 { // keep the pool from holding on to huge lines
		*bp = b
		bufs.Put(bp)
	}
	return err
}

// batchedWriter is the lockedWriter's door for request lines. slog's
// handler writes each line in one Write and reuses the buffer after it;
// writeBatched copies what it holds back.
type batchedWriter struct{ lw *lockedWriter }

func (b batchedWriter) Write(p []byte) (int, error) {
	if err := b.lw.writeBatched(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
