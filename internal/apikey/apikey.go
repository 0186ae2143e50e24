// Package apikey implements keyward's key format (README, Architecture): generation from
// crypto/rand, parsing with checksum validation, the stored digest and the
// display hint. It is pure: no storage, no clock.
//
// A key is "<prefix>_<30 random base62 chars><6 char checksum>", 40 chars in
// all; the checksum is CRC32 (IEEE) of everything before it, base62-encoded
// and left-padded with '0'.
package apikey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash"
	"hash/crc32"
	"sync"
	"unsafe"
)

// Prefixes of the two kinds of key.
const (
	PrefixProject = "kwp"
	PrefixOrg     = "kwo"
)

const (
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen   = 30
	checksumLen = 6
	// Len is the length of every key.
	Len = 3 + 1 + randomLen + checksumLen
)

// ErrMalformed is returned for any string that is not a well-formed key with
// a valid checksum. It says nothing about which part was wrong.
var ErrMalformed = errors.New("apikey: malformed key")

// Generate returns a new key with the given prefix (PrefixProject or
// PrefixOrg). It panics only if the system's random source fails.
func Generate(prefix string) string {
	buf := make([]byte, 0, Len)
	buf = append(buf, prefix...)
	buf = append(buf, '_')
	// Rejection sampling keeps every base62 digit uniform: bytes >= 248
	// (= 4*62) are discarded so no digit is favoured.
	var rnd [64]byte
	for len(buf) < 4+randomLen {
		if _, err := rand.Read(rnd[:]); err != nil {
			panic("apikey: crypto/rand failed: " + err.Error())
		}
		for _, b := range rnd {
			if b >= 248 || len(buf) == 4+randomLen {
				continue
			}
			buf = append(buf, alphabet[b%62])
		}
	}
	return string(appendChecksum(buf, buf))
}

// Parse checks that s is a well-formed key of either kind with a valid
// checksum and returns its prefix. It never touches storage.
func Parse(s string) (prefix string, err error) {
	if len(s) != Len || s[3] != '_' {
		return "", ErrMalformed
	}
	prefix = s[:3]
	if prefix != PrefixProject && prefix != PrefixOrg {
		return "", ErrMalformed
	}
	for i := 4; i < Len; i++ {
		if !base62[s[i]] {
			return "", ErrMalformed
		}
	}
	var want [checksumLen]byte
	encodeChecksum(&want, crcString(s[:Len-checksumLen]))
	if string(want[:]) != s[Len-checksumLen:] {
		return "", ErrMalformed
	}
	return prefix, nil
}

// crcString is crc32.ChecksumIEEE of a string, without copying it into a
// byte slice (which would allocate on the verification hot path): crc32
// only reads its input, so it reads the string's bytes in place.
func crcString(s string) uint32 {
	return crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(s), len(s))) //nolint:gosec // G103: read-only view, see above
}

// appendChecksum appends the 6-char base62 CRC32 of body to dst.
func appendChecksum(dst, body []byte) []byte {
	var out [checksumLen]byte
	encodeChecksum(&out, crc32.ChecksumIEEE(body))
	return append(dst, out[:]...)
}

// encodeChecksum writes sum as 6 base62 digits, left-padded with '0'.
func encodeChecksum(out *[checksumLen]byte, sum uint32) {
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[sum%62]
		sum /= 62
	}
}

// base62 marks the bytes of the alphabet.
var base62 = func() (t [256]bool) {
	for i := range len(alphabet) {
		t[alphabet[i]] = true
	}
	return t
}()

// Digester computes the stored digest of a key: HMAC-SHA256 with the
// server's pepper when one is set, else SHA-256.
type Digester struct {
	pepper []byte
	macs   sync.Pool // of *mac: HMAC set-up is not free
}

// mac is a pooled HMAC with scratch buffers, so that hashing a key through
// the hash.Hash interface allocates nothing.
type mac struct {
	h   hash.Hash
	in  []byte
	out []byte
}

// NewDigester returns a Digester using pepper (may be empty).
func NewDigester(pepper []byte) *Digester {
	d := &Digester{pepper: append([]byte(nil), pepper...)}
	d.macs.New = func() any {
		return &mac{h: hmac.New(sha256.New, d.pepper), in: make([]byte, 0, Len), out: make([]byte, 0, sha256.Size)}
	}
	return d
}

// Digest returns the 32-byte digest of key.
func (d *Digester) Digest(key string) []byte {
	sum := d.Sum(key)
	return sum[:]
}

// Sum returns the digest of key as an array, without allocating: this is
// the verification hot path.
func (d *Digester) Sum(key string) [32]byte {
	var out [32]byte
	if len(d.pepper) == 0 {
		return sha256.Sum256([]byte(key))
	}
	m := d.macs.Get().(*mac)
	m.h.Reset()
	m.in = append(m.in[:0], key...)
	m.h.Write(m.in)
	m.out = m.h.Sum(m.out[:0])
	copy(out[:], m.out)
	d.macs.Put(m)
	return out
}

// Hint returns the display form of a key: its prefix, an ellipsis and its
// last four characters, e.g. "kwp_…x7Qa".
func Hint(key string) string {
	if len(key) < 8 {
		return "…"
	}
	return key[:4] + "…" + key[len(key)-4:]
}
