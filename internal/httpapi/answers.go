package httpapi

import (
	"bytes"
	"hash/maphash"
	"net/http"
	"sync/atomic"

	"github.com/keyward/keyward"
)

// verifyAnswers keeps the encoded answers of the keys verified last, so
// that a key verified again is answered without encoding it again.
//
// It is right because of how the service answers: a valid key is answered
// with the verification cache's own *keyward.Key, a value nobody modifies,
// for as long as its status holds. A key that is changed, revoked, expires
// or is loaded again comes back as another value, so an answer is reused
// only for the very value it was encoded from. (A key whose status changed
// since it was loaded is answered as a fresh copy each time, and so is
// every key while the cache is not trusted: those are encoded each time.)
var verifyAnswers answerCache

// answerSlots bounds the cache: each slot holds one answer, of at most
// maxAnswer bytes.
const (
	answerSlots = 1024
	maxAnswer   = 4 << 10
)

type answerCache struct {
	seed  maphash.Seed
	slots [answerSlots]atomic.Pointer[answer]
}

type answer struct {
	key  *keyward.Key
	body []byte // the JSON with encoding/json's final newline
}

func init() { verifyAnswers.seed = maphash.MakeSeed() }

// write writes the answer r, from the cache when it holds one for r.Key.
// Only the answer "valid" is kept: it is the one with a key, and all of it
// follows from the key.
func (c *answerCache) write(w http.ResponseWriter, r *keyward.VerifyResult) {
	if !r.Valid || r.Code != keyward.VerifyValid || r.Key == nil {
		writeAppended(w, appendVerifyResult, r)
		return
	}
	slot := &c.slots[maphash.String(c.seed, r.Key.ID)%answerSlots]
	if a := slot.Load(); a != nil && a.key == r.Key {
		_, _ = w.Write(a.body)
		return
	}
	bp := encodeBuffers.Get().(*[]byte)
	b := append(appendVerifyResult((*bp)[:0], r), '\n')
	if len(b) <= maxAnswer {
		slot.Store(&answer{key: r.Key, body: bytes.Clone(b)})
	}
	_, _ = w.Write(b)
	putEncodeBuffer(bp, b)
}
