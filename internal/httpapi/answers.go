package httpapi

import (
	"bytes"
	"hash/maphash"
	"net/http"
	"sync/atomic"

	"github.com/keyward/keyward"
)

// verifyAnswers keeps the encoded answers of keys verified again and
// again, so that they are not encoded on every verification.
//
// It is right because of how the service answers: a valid key is answered
// with the verification cache's own *keyward.Key, a value nobody modifies,
// for as long as its status holds. A key that is changed, revoked, expires
// or is loaded again comes back as another value, so an answer is reused
// only for the very value it was encoded from.
//
// An answer is kept the second time in a row its slot sees the same value.
// Values answered once (a key whose status changed since it was loaded is
// answered as a fresh copy each time, and so is every key while the cache
// is not trusted), and keys too many to fit, are encoded each time in a
// pooled buffer, as without this cache, instead of being copied into it
// only to be pushed out.
var verifyAnswers = &answerCache{seed: maphash.MakeSeed()}

// answerSlots bounds the cache: each slot holds one answer, of at most
// maxAnswer bytes.
const (
	answerSlots = 1024
	maxAnswer   = 4 << 10
)

type answerCache struct {
	seed  maphash.Seed
	slots [answerSlots]answerSlot
}

type answerSlot struct {
	kept atomic.Pointer[answer]
	seen atomic.Pointer[keyward.Key] // the key the slot last encoded without keeping it
}

type answer struct {
	key  *keyward.Key
	body []byte // the JSON with encoding/json's final newline
}

// write writes the answer r, from the cache when it holds one for r.Key.
// Only the answer "valid" for a key without a rate limit is kept: it is
// the one with a key, and all of it follows from the key (a rate-limited
// key's answer carries its window, which moves with every request).
func (c *answerCache) write(w http.ResponseWriter, r *keyward.VerifyResult) {
	if !r.Valid || r.Code != keyward.VerifyValid || r.Key == nil || r.RateLimit != nil {
		writeAppended(w, appendVerifyResult, r)
		return
	}
	s := &c.slots[maphash.String(c.seed, r.Key.ID)%answerSlots]
	if a := s.kept.Load(); a != nil && a.key == r.Key {
		_, _ = w.Write(a.body)
		return
	}
	bp := encodeBuffers.Get().(*[]byte)
	b := append(appendVerifyResult((*bp)[:0], r), '\n')
	if s.seen.Swap(r.Key) == r.Key && len(b) <= maxAnswer {
		s.kept.Store(&answer{key: r.Key, body: bytes.Clone(b)})
	}
	_, _ = w.Write(b)
	putEncodeBuffer(bp, b)
}
