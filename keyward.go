// Package keyward holds the domain of the keyward API-key platform: the
// types every layer shares (organizations, projects, members, keys, audit
// events), the one error type with its codes, and the Store interface that
// the SQLite and PostgreSQL stores implement.
//
// Business rules live in internal/service; stores persist, handlers
// translate HTTP. The client package speaks the same types over HTTP.
package keyward

import (
	"crypto/rand"
	"encoding/binary"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ID prefixes. Every public id is a prefix, an underscore and a 26-character
// sortable identifier (48-bit millisecond time + 80 random bits, Crockford
// base32), so ids sort by creation time and serve as pagination cursors.
const (
	PrefixOrg     = "org"
	PrefixProject = "prj"
	PrefixUser    = "usr"
	PrefixKey     = "key"
	PrefixEvent   = "evt"
	PrefixRequest = "req"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes ids monotonic within one process: two ids made in the same
// millisecond still sort in the order they were made.
var idGen struct {
	sync.Mutex
	lastMS uint64
	hi     uint16
	lo     uint64
}

// NewID returns a new sortable id with the given prefix, e.g. "key_01J…".
func NewID(prefix string) string {
	ms := uint64(time.Now().UnixMilli())
	idGen.Lock()
	if ms <= idGen.lastMS {
		ms = idGen.lastMS
		idGen.lo++
		if idGen.lo == 0 {
			idGen.hi++
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		idGen.lastMS = ms
		idGen.hi = binary.BigEndian.Uint16(b[:2]) & 0x7fff // headroom for increments
		idGen.lo = binary.BigEndian.Uint64(b[2:])
	}
	hi, lo := idGen.hi, idGen.lo
	idGen.Unlock()
	return formatID(prefix, ms, hi, lo)
}

// NewSequentialID returns an id like NewID's without NewID's lock, for
// request ids, made on every request from many goroutines at once. Its
// time part is t's millisecond (the request's start, already read); its 80
// other bits are a random tag of this process and a counter that starts at
// a random value, so ids sort by time and then in the order this process
// made them, and ids of different processes differ. Unlike NewID's, they
// are predictable: use them for nothing a client could guess to its
// advantage.
func NewSequentialID(prefix string, t time.Time) string {
	ms := uint64(t.UnixMilli())
	for { // never back in time, as NewID: the wall clock can step back
		last := seqIDs.lastMS.Load()
		if ms <= last {
			ms = last
			break
		}
		if seqIDs.lastMS.CompareAndSwap(last, ms) {
			break
		}
	}
	return formatID(prefix, ms, seqIDs.tag, seqIDs.next.Add(1))
}

// seqIDs is NewSequentialID's state. The counter starts below 2^63: it
// cannot wrap around.
var seqIDs struct {
	tag    uint16
	next   atomic.Uint64
	lastMS atomic.Uint64
}

func init() {
	var b [10]byte
	_, _ = rand.Read(b[:])
	seqIDs.tag = binary.BigEndian.Uint16(b[:2])
	seqIDs.next.Store(binary.BigEndian.Uint64(b[2:]) >> 1)
}

// formatID writes prefix_ and the 26 digits of 48-bit ms | 16-bit hi |
// 64-bit lo, in one allocation.
func formatID(prefix string, ms uint64, hi uint16, lo uint64) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], ms<<16|uint64(hi))
	binary.BigEndian.PutUint64(raw[8:16], lo)
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + 26)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.Write(base32(raw))
	return sb.String()
}

// base32 writes 128 bits as 26 Crockford base32 digits, most significant
// first, with two leading zero bits (as ULIDs do).
func base32(raw [16]byte) []byte {
	hi, lo := binary.BigEndian.Uint64(raw[:8]), binary.BigEndian.Uint64(raw[8:])
	var out [26]byte
	for i := len(out) - 1; i >= 0; i-- { // least significant digit first
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return out[:]
}

// ValidID reports whether s looks like an id with the given prefix. Ids from
// URLs are checked before any storage lookup.
func ValidID(prefix, s string) bool {
	if len(s) != len(prefix)+27 || !strings.HasPrefix(s, prefix+"_") {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return true
}

// IDPattern is the regular expression of the ids ValidID accepts for
// prefix, for the OpenAPI document.
func IDPattern(prefix string) string {
	return "^" + regexp.QuoteMeta(prefix) + "_[" + crockford + "]{26}$"
}

// Clock tells the time. The service takes one so that expiry and grace
// periods can be tested; production uses SystemClock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC, truncated to microseconds so that
// times round-trip exactly through every store.
type SystemClock struct{}

// Now returns the current UTC time truncated to microseconds.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
