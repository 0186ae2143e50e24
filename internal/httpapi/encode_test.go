package httpapi

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// TestHandEncodersMatchEncodingJSON: the hand-written encoders write what
// encoding/json writes, for keys with every field set, none set, and
// random mixes, strings that need escaping included.
func TestHandEncodersMatchEncodingJSON(t *testing.T) {
	// A field added to these types must be added to encode.go too.
	for typ, fields := range map[reflect.Type]int{
		reflect.TypeFor[keyward.Key]():          25, // Digest and NoAccess are never encoded
		reflect.TypeFor[keyward.Whoami]():       6,
		reflect.TypeFor[keyward.VerifyResult](): 4,
		reflect.TypeFor[keyward.ActorRef]():     2,
		reflect.TypeFor[keyward.RateLimit]():    2,
	} {
		if typ.NumField() != fields {
			t.Errorf("%v has %d fields, encode.go knows %d: update appendKey/appendWhoami and this test", typ, typ.NumField(), fields)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "key_01J", "a b", `quote " and \ backslash`, "<script>&", "é ü 日本", "line\nbreak\ttab", "\u2028\u2029", "bad \xff utf8", "\x00\x1f", "kwp_…x7Qa", "\ufffd valid", "\b\f\x7f", "cut \xe2\x80"}
	str := func() string { return strs[rng.IntN(len(strs))] }
	maybe := func() bool { return rng.IntN(2) == 0 }
	strPtr := func() *string {
		if maybe() {
			return nil
		}
		s := str()
		return &s
	}
	list := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return []string{str(), str(), str()}
	}
	tm := func() time.Time {
		return time.Date(2020+rng.IntN(10), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(3)*123456789, time.UTC)
	}
	tmPtr := func() *time.Time {
		if maybe() {
			return nil
		}
		v := tm()
		return &v
	}
	for i := range 2000 {
		k := &keyward.Key{
			ID: str(), Kind: keyward.KeyKind(str()), Name: str(), Hint: str(), ProjectID: str(), OrgID: str(),
			Scopes: list(), Status: keyward.KeyStatus(str()), CreatedAt: tm(),
			CreatedBy: keyward.ActorRef{Type: str(), ID: str()}, OwnerUserID: strPtr(),
			ExpiresAt: tmPtr(), LastUsedAt: tmPtr(), LastUsedIP: strPtr(), LastUsedUserAgent: strPtr(), RevokedAt: tmPtr(), RevokeReason: strPtr(),
			IPAllowlist: list(), ReplacedBy: strPtr(), Secret: str(), Digest: []byte("never shown"),
		}
		if maybe() {
			k.RevokedBy = &keyward.ActorRef{Type: str(), ID: str()}
		}
		if maybe() {
			k.Metadata = map[string]string{}
			for range rng.IntN(5) {
				k.Metadata[str()] = str()
			}
		}
		if maybe() {
			k.RateLimit = &keyward.RateLimit{Limit: rng.IntN(10000), Window: keyward.Duration(time.Duration(rng.IntN(3600)) * time.Second)}
		}
		res := &keyward.VerifyResult{Valid: maybe(), Code: str()}
		if maybe() {
			res.Key = k
		}
		if maybe() {
			res.RateLimit = &keyward.RateLimitState{Limit: rng.IntN(10000), Remaining: rng.IntN(10000), Reset: tm()}
		}
		who := &keyward.Whoami{KeyID: str(), Kind: keyward.KeyKind(str()), ProjectID: str(), OrgID: str(), Scopes: list(), OwnerUserID: strPtr()}
		for _, v := range []any{res, who} {
			want := new(bytes.Buffer)
			if err := json.NewEncoder(want).Encode(v); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if !writeFast(rec, v) {
				t.Fatalf("%T is not hand-encoded", v)
			}
			if got := rec.Body.String(); got != want.String() {
				t.Fatalf("case %d, %T:\nhand:          %s\nencoding/json: %s", i, v, got, want)
			}
		}
	}
}

// TestVerifyAnswersFollowTheKey: an answer is kept the second time in a
// row its slot sees a key value, is reused only for that very value, costs
// no allocation when reused, and values seen once (fresh copies) or too
// large are never kept, nor copied.
func TestVerifyAnswersFollowTheKey(t *testing.T) {
	c := &answerCache{seed: maphash.MakeSeed()}
	k := &keyward.Key{ID: "key_answers", Kind: keyward.KindProject, Name: "first", Status: keyward.StatusActive, Metadata: map[string]string{"plan": "pro"}}
	slot := &c.slots[maphash.String(c.seed, k.ID)%answerSlots]
	kept := func(k *keyward.Key) bool { a := slot.kept.Load(); return a != nil && a.key == k }
	encode := func(k *keyward.Key) string {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(&keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: k}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	w := &bufferWriter{}
	w.body.Grow(8 << 10)
	answer := func(k *keyward.Key) string {
		w.body.Reset()
		c.write(w, &keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: k})
		return w.body.String()
	}
	for i, wantKept := range []bool{false, true, true} {
		if got, want := answer(k), encode(k); got != want {
			t.Fatalf("answer %d:\n got %s\nwant %s", i, got, want)
		}
		if kept(k) != wantKept {
			t.Fatalf("after answer %d kept = %v, want %v", i, kept(k), wantKept)
		}
	}
	res := &keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: k}
	if n := testing.AllocsPerRun(100, func() { w.body.Reset(); c.write(w, res) }); n != 0 {
		t.Errorf("a kept answer cost %v allocations, want 0", n)
	}

	renamed := *k // the service hands out a new value when a key changes
	renamed.Name = "second"
	for i := range 3 {
		if got, want := answer(&renamed), encode(&renamed); got != want {
			t.Fatalf("answer %d after a change:\n got %s\nwant %s", i, got, want)
		}
	}
	if got, want := answer(k), encode(k); got != want {
		t.Fatalf("answer for the first value again:\n got %s\nwant %s", got, want)
	}

	copies := make([]keyward.VerifyResult, 101) // a fresh value per verification
	for i := range copies {
		v := *k
		v.Status = keyward.StatusExpiring
		copies[i] = keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: &v}
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() { w.body.Reset(); c.write(w, &copies[i]); i++ }); n != 0 {
		t.Errorf("answers for values seen once cost %v allocations, want 0", n)
	}
	for i := range copies {
		if kept(copies[i].Key) {
			t.Fatalf("the answer for a value seen once (copy %d) was kept", i)
		}
	}

	big := *k
	big.Metadata = map[string]string{"blob": strings.Repeat("x", maxAnswer)}
	for range 3 {
		if got, want := answer(&big), encode(&big); got != want {
			t.Fatalf("large answer differs")
		}
	}
	if kept(&big) {
		t.Errorf("an answer of over %d bytes was kept", maxAnswer)
	}
}

// bufferWriter is a ResponseWriter that keeps the body and allocates
// nothing once its buffer has grown.
type bufferWriter struct {
	h    http.Header
	body bytes.Buffer
}

func (w *bufferWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *bufferWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *bufferWriter) WriteHeader(int)             {}
