// Package jsonlog is keyward's JSON log handler. It writes exactly what
// slog.NewJSONHandler(w, nil) writes, byte for byte, and is faster for the
// common record: one with only flat string, number, bool, duration and time
// attributes, such as the request line the API writes for every request.
// Anything else (groups, WithAttrs, other kinds) goes to slog's own JSON
// handler, which shares the writer's lock, so lines never interleave.
// NewBatchingHandler also writes request lines many at a time (writer.go).
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Handler is a slog.Handler; see the package comment.
type Handler struct {
	w    *lockedWriter
	slow slog.Handler // slog's JSON handler on the same writer
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
	return &Handler{w: lw, slow: slog.NewJSONHandler(lw, nil)}
}

// Close writes the request lines held back; those logged after it are
// written at once.
func (h *Handler) Close() error { return h.w.close() }

// Enabled reports whether level is INFO or above.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.slow.Enabled(ctx, level)
}

// WithAttrs and WithGroup return slog's handler: records logged through
// them take the general path.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.slow.WithAttrs(attrs) }

// WithGroup returns slog's handler; see WithAttrs.
func (h *Handler) WithGroup(name string) slog.Handler { return h.slow.WithGroup(name) }

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r as one JSON line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	bp := bufs.Get().(*[]byte)
	b, ok := appendRecord((*bp)[:0], r)
	if !ok {
		bufs.Put(bp)
		return h.slow.Handle(ctx, r)
	}
	return h.write(bp, b)
}

// HandleAttrs writes the line Handle would write for the record made by
// slog.NewRecord(t, level, msg, 0) and AddAttrs(attrs...), without making
// the record: for the line the API writes on every request. It keeps no
// reference to attrs.
func (h *Handler) HandleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs []slog.Attr) error {
	bp := bufs.Get().(*[]byte)
	b, ok := appendHead((*bp)[:0], t, level, msg)
	for i := 0; ok && i < len(attrs); i++ {
		b, ok = appendAttr(b, attrs[i])
	}
	if !ok {
		bufs.Put(bp)
		r := slog.NewRecord(t, level, msg, 0)
		r.AddAttrs(attrs...)
		return h.slow.Handle(ctx, r)
	}
	b = append(b, '}', '\n')
	var err error
	if level < slog.LevelWarn {
		err = h.w.writeBatched(b)
	} else {
		_, err = h.w.Write(b)
	}
	h.putBuffer(bp, b)
	return err
}

// write writes the line b, built in the pooled buffer bp, and returns the
// buffer to the pool.
func (h *Handler) write(bp *[]byte, b []byte) error {
	_, err := h.w.Write(b)
	h.putBuffer(bp, b)
	return err
}

// putBuffer returns bp, which now holds b, to the pool.
func (h *Handler) putBuffer(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 { // keep the pool from holding on to huge lines
		*bp = b
		bufs.Put(bp)
	}
}

// appendRecord appends r as slog's JSON handler writes it, or reports false
// if r needs the general path.
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b, ok := appendHead(b, r.Time, r.Level, r.Message)
	if !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	if !ok {
		return b, false
	}
	return append(b, '}', '\n'), true
}

// appendHead appends the line's opening brace, time, level and message, or
// reports false if the time is one slog writes an error for.
func appendHead(b []byte, t time.Time, level slog.Level, msg string) ([]byte, bool) {
	b = append(b, '{')
	if !t.IsZero() {
		t = t.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false // slog writes an error here
		}
		b = append(b, `"time":"`...)
		b = appendTime(b, t)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendString(b, level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, msg)
	return b, true
}

// appendAttr appends ,"key":value for a, or reports false if a needs the
// general path.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // slog drops empty attributes and inlines groups
	}
	v := a.Value
	b = append(b, ',')
	b = appendString(b, a.Key)
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano) // not appendTime: its one stamp is for the lines' own times
		b = append(b, '"')
	default: // floats, errors, values, groups, LogValuers
		return b, false
	}
	return b, true
}

// appendString appends s as a JSON string the way slog does: no HTML
// escaping, control characters and invalid UTF-8 escaped, U+2028 and
// U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && plain[s[i]] { // most strings are all plain: one pass, one copy
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// plain marks the bytes appendString writes as they are: printable ASCII
// except the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
