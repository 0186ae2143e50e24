package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward"
)

// The two answers every authenticated request of an API behind keyward
// produces, GET /v1/whoami and POST /v1/verify, are written by hand instead
// of through encoding/json's reflection: they are most of keyward's traffic.
// The output is byte for byte what encoding/json writes (encode_test.go
// checks it, and fails when a field is added to the types without being
// added here).

var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeFast writes v with appendTo if it is one of the hand-encoded types,
// and reports whether it did.
func writeFast(w http.ResponseWriter, v any) bool {
	switch v := v.(type) {
	case *keyward.Whoami:
		writeAppended(w, appendWhoami, v)
	case *keyward.VerifyResult:
		verifyAnswers.write(w, v)
	default:
		return false
	}
	return true
}

// writeAppended writes the JSON that appendTo produces for v, with the
// newline json.Encoder ends with.
func writeAppended[T any](w http.ResponseWriter, appendTo func([]byte, T) []byte, v T) {
	bp := encodeBuffers.Get().(*[]byte)
	b := append(appendTo((*bp)[:0], v), '\n')
	_, _ = w.Write(b)
	putEncodeBuffer(bp, b)
}

// putEncodeBuffer returns bp, which now holds b, to the pool, unless b has
// grown too large to keep.
func putEncodeBuffer(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*bp = b
		encodeBuffers.Put(bp)
	}
}

func appendWhoami(b []byte, w *keyward.Whoami) []byte {
	b = append(b, `{"key_id":`...)
	b = appendString(b, w.KeyID)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(w.Kind))
	if w.ProjectID != "" {
		b = append(b, `,"project_id":`...)
		b = appendString(b, w.ProjectID)
	}
	b = append(b, `,"org_id":`...)
	b = appendString(b, w.OrgID)
	b = append(b, `,"scopes":`...)
	b = appendStrings(b, w.Scopes)
	b = append(b, `,"owner_user_id":`...)
	b = appendStringPtr(b, w.OwnerUserID)
	return append(b, '}')
}

func appendVerifyResult(b []byte, r *keyward.VerifyResult) []byte {
	b = append(b, `{"valid":`...)
	b = strconv.AppendBool(b, r.Valid)
	b = append(b, `,"code":`...)
	b = appendString(b, r.Code)
	if r.Key != nil {
		b = append(b, `,"key":`...)
		b = appendKey(b, r.Key)
	}
	if w := r.RateLimit; w != nil {
		b = append(b, `,"rate_limit":{"limit":`...)
		b = strconv.AppendInt(b, int64(w.Limit), 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(w.Remaining), 10)
		b = append(b, `,"reset":`...)
		b = appendTime(b, w.Reset)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendKey(b []byte, k *keyward.Key) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, k.ID)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(k.Kind))
	b = append(b, `,"name":`...)
	b = appendString(b, k.Name)
	b = append(b, `,"hint":`...)
	b = appendString(b, k.Hint)
	if k.ProjectID != "" {
		b = append(b, `,"project_id":`...)
		b = appendString(b, k.ProjectID)
	}
	b = append(b, `,"org_id":`...)
	b = appendString(b, k.OrgID)
	b = append(b, `,"scopes":`...)
	b = appendStrings(b, k.Scopes)
	b = append(b, `,"status":`...)
	b = appendString(b, string(k.Status))
	b = append(b, `,"created_at":`...)
	b = appendTime(b, k.CreatedAt)
	b = append(b, `,"created_by":`...)
	b = appendActor(b, &k.CreatedBy)
	b = append(b, `,"owner_user_id":`...)
	b = appendStringPtr(b, k.OwnerUserID)
	b = append(b, `,"expires_at":`...)
	b = appendTimePtr(b, k.ExpiresAt)
	b = append(b, `,"last_used_at":`...)
	b = appendTimePtr(b, k.LastUsedAt)
	b = append(b, `,"last_used_ip":`...)
	b = appendStringPtr(b, k.LastUsedIP)
	b = append(b, `,"last_used_user_agent":`...)
	b = appendStringPtr(b, k.LastUsedUserAgent)
	b = append(b, `,"revoked_at":`...)
	b = appendTimePtr(b, k.RevokedAt)
	b = append(b, `,"revoked_by":`...)
	if k.RevokedBy == nil {
		b = append(b, "null"...)
	} else {
		b = appendActor(b, k.RevokedBy)
	}
	b = append(b, `,"revoke_reason":`...)
	b = appendStringPtr(b, k.RevokeReason)
	b = append(b, `,"ip_allowlist":`...)
	b = appendStrings(b, k.IPAllowlist)
	b = append(b, `,"metadata":`...)
	b = appendStringMap(b, k.Metadata)
	b = append(b, `,"replaced_by":`...)
	b = appendStringPtr(b, k.ReplacedBy)
	b = append(b, `,"rate_limit":`...)
	if k.RateLimit == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"limit":`...)
		b = strconv.AppendInt(b, int64(k.RateLimit.Limit), 10)
		b = append(b, `,"window":`...)
		b = appendString(b, k.RateLimit.Window.Human())
		b = append(b, '}')
	}
	if k.Secret != "" {
		b = append(b, `,"secret":`...)
		b = appendString(b, k.Secret)
	}
	return append(b, '}')
}

func appendActor(b []byte, a *keyward.ActorRef) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, a.Type)
	if a.ID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, a.ID)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Strings that need no escaping,
// which ids, kinds, scopes and key hints (with their "…") always are, are
// copied as they are; anything else goes through encoding/json, for its
// exact escaping (controls, quotes, HTML characters, U+2028/2029, invalid
// UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size > 1) && r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
		}
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainASCII marks the bytes encoding/json writes as they are: printable
// ASCII except the quote, the backslash and the HTML characters.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendStrings appends a list; a nil one is null, as encoding/json has it.
func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendStringMap appends a map with its keys sorted, as encoding/json
// does; a nil one is null.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, trailing zeros dropped).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}
