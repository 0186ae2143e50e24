// Package apikey implements keyward's key format (SPEC §2): generation from
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
	"hash/crc32"
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
		if !isBase62(s[i]) {
			return "", ErrMalformed
		}
	}
	var want [checksumLen]byte
	appendChecksum(want[:0], []byte(s[:Len-checksumLen]))
	if string(want[:]) != s[Len-checksumLen:] {
		return "", ErrMalformed
	}
	return prefix, nil
}

// appendChecksum appends the 6-char base62 CRC32 of body to dst.
func appendChecksum(dst, body []byte) []byte {
	sum := crc32.ChecksumIEEE(body)
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[sum%62]
		sum /= 62
	}
	return append(dst, out[:]...)
}

func isBase62(c byte) bool {
	return ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
}

// Digester computes the stored digest of a key: HMAC-SHA256 with the
// server's pepper when one is set, else SHA-256.
type Digester struct {
	pepper []byte
}

// NewDigester returns a Digester using pepper (may be empty).
func NewDigester(pepper []byte) *Digester {
	return &Digester{pepper: append([]byte(nil), pepper...)}
}

// Digest returns the 32-byte digest of key.
func (d *Digester) Digest(key string) []byte {
	if len(d.pepper) == 0 {
		sum := sha256.Sum256([]byte(key))
		return sum[:]
	}
	m := hmac.New(sha256.New, d.pepper)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// Hint returns the display form of a key: its prefix, an ellipsis and its
// last four characters, e.g. "kwp_…x7Qa".
func Hint(key string) string {
	if len(key) < 8 {
		return "…"
	}
	return key[:4] + "…" + key[len(key)-4:]
}
