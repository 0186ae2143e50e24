package jsonlog

import (
	"sync/atomic"
	"time"
)

// appendTime appends t as t.AppendFormat(b, time.RFC3339Nano) does, for a
// line's own time (appendHead; time attributes, which may be of any
// second, do not replace its stamp). Most lines of a busy server share
// their second with the line before: the date, the clock and the zone of
// that second are formatted once (in stamp) and only the fraction per
// line.
func appendTime(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	s := lastStamp.Load()
	if s == nil || s.sec != sec || s.loc != loc {
		s = newStamp(t, sec, loc)
		lastStamp.Store(s)
	}
	b = append(b, s.head...)
	if ns := t.Nanosecond(); ns != 0 {
		b = appendFraction(b, ns)
	}
	return append(b, s.zone...)
}

// stamp is one second in one location, formatted: head is
// "2006-01-02T15:04:05" and zone is "Z07:00". Both are a function of the
// second and the location, so a stamp is right for every time it matches.
type stamp struct {
	sec  int64
	loc  *time.Location
	head []byte
	zone []byte
}

// lastStamp is the stamp of the last second logged; it is replaced, never
// changed.
var lastStamp atomic.Pointer[stamp]

func newStamp(t time.Time, sec int64, loc *time.Location) *stamp {
	return &stamp{
		sec:  sec,
		loc:  loc,
		head: t.AppendFormat(nil, "2006-01-02T15:04:05"),
		zone: t.AppendFormat(nil, "Z07:00"),
	}
}

// appendFraction appends ".ddddddddd" for ns (1 to 999,999,999
// nanoseconds) without its trailing zeros, as ".999999999" formats it.
func appendFraction(b []byte, ns int) []byte {
	var d [10]byte
	d[0] = '.'
	for i := 9; i >= 1; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}
