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
	"strings"
	"sync"
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

	var raw [16]byte // 48-bit time | 16-bit hi | 64-bit lo
	binary.BigEndian.PutUint64(raw[0:8], ms<<16|uint64(hi))
	binary.BigEndian.PutUint64(raw[8:16], lo)
	return prefix + "_" + encodeBase32(raw)
}

// encodeBase32 writes 128 bits as 26 Crockford base32 digits, most
// significant first, with two leading zero bits (as ULIDs do).
func encodeBase32(raw [16]byte) string {
	var out [26]byte
	for i := range out {
		var v byte
		for j := 0; j < 5; j++ {
			p := 5*i + j - 2 // bit index in raw; negative = leading zero bit
			v <<= 1
			if p >= 0 {
				v |= raw[p/8] >> (7 - p%8) & 1
			}
		}
		out[i] = crockford[v]
	}
	return string(out[:])
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
