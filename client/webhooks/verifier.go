package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The headers of a delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a delivery's timestamp may be from now, in
// either direction, unless WithTolerance says otherwise.
const DefaultTolerance = 5 * time.Minute

// The kinds of refused delivery, for errors.Is. Verify's errors wrap one
// of them and say more; none holds the secret or a signature.
var (
	// ErrMissingHeader: webhook-id, webhook-timestamp or webhook-signature
	// is absent or empty.
	ErrMissingHeader = errors.New("webhooks: missing header")
	// ErrTimestamp: webhook-timestamp is not integer Unix seconds, or is
	// further from now than the tolerance (too old or too new).
	ErrTimestamp = errors.New("webhooks: bad timestamp")
	// ErrSignature: no v1 entry of webhook-signature matches the body
	// under the secret.
	ErrSignature = errors.New("webhooks: no matching signature")
	// ErrPayload: the signature matched but the body is not a keyward
	// event (a JSON object with a type and an RFC 3339 timestamp).
	ErrPayload = errors.New("webhooks: invalid payload")
)

// Event is a verified delivery.
type Event struct {
	// ID is the message id from webhook-id: the same on every retry and
	// redelivery of one event.
	ID string
	// Type is the event's type, e.g. "key.created". Types this package
	// does not know pass through.
	Type string
	// Timestamp is when the event happened (the body's timestamp).
	Timestamp time.Time
	// Data is the event's data as sent (nil when the body has none).
	Data json.RawMessage
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithTolerance sets how far a delivery's timestamp may be from now, in
// either direction (default DefaultTolerance). It is counted in whole
// seconds and must be at least one second.
func WithTolerance(d time.Duration) Option {
	return func(v *Verifier) { v.tolerance = d }
}

// WithClock sets where the Verifier reads the time (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) { v.now = now }
}

// Verifier checks deliveries signed with one signing secret. It is safe
// for concurrent use. Printing it does not print the secret.
type Verifier struct {
	key       []byte
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier for secret ("whsec_" and base64, or the
// base64 alone; white space around it is ignored). It returns ErrSecret
// for an empty or undecodable secret.
func NewVerifier(secret string, opts ...Option) (*Verifier, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	v := &Verifier{key: key, tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if v.tolerance < time.Second {
		return nil, errors.New("webhooks: the tolerance must be at least one second")
	}
	if v.now == nil {
		return nil, errors.New("webhooks: WithClock needs a function")
	}
	return v, nil
}

// String describes the Verifier without its secret.
func (Verifier) String() string { return "webhooks.Verifier" }

// GoString describes the Verifier without its secret (%#v).
func (Verifier) GoString() string { return "webhooks.Verifier{}" }

// Verify checks a delivery from its headers and raw body, in this order:
// the three headers are present, webhook-timestamp is within the tolerance
// of now, one v1 entry of webhook-signature matches (compared in constant
// time; entries of other versions are ignored), and only then is the body
// parsed. It returns the event, or an error that wraps ErrMissingHeader,
// ErrTimestamp, ErrSignature or ErrPayload.
func (v *Verifier) Verify(h http.Header, body []byte) (*Event, error) {
	id := headerValue(h, HeaderID)
	tsText := headerValue(h, HeaderTimestamp)
	sigs := strings.Join(headerValues(h, HeaderSignature), " ")
	for _, hv := range []struct{ name, value string }{{HeaderID, id}, {HeaderTimestamp, tsText}, {HeaderSignature, sigs}} {
		if strings.TrimSpace(hv.value) == "" {
			return nil, refused(ErrMissingHeader, "webhooks: missing %s header", hv.name)
		}
	}

	ts, err := v.checkTimestamp(tsText)
	if err != nil {
		return nil, err
	}

	var sum [sha256.Size]byte
	want := signature(sum[:0], v.key, id, ts, body)
	if err := matchSignature(sigs, want); err != nil {
		return nil, err
	}

	var p struct {
		Type      string          `json:"type"`
		Timestamp *time.Time      `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if !utf8.Valid(body) {
		return nil, refused(ErrPayload, "webhooks: the signed body is not UTF-8")
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, refused(ErrPayload, "webhooks: the signed body is not a keyward event: %v", err)
	}
	if p.Type == "" || p.Timestamp == nil {
		return nil, refused(ErrPayload, "webhooks: the signed body is not a keyward event: it needs a type and a timestamp")
	}
	return &Event{ID: id, Type: p.Type, Timestamp: *p.Timestamp, Data: p.Data}, nil
}

// checkTimestamp parses webhook-timestamp and checks it against the clock.
func (v *Verifier) checkTimestamp(s string) (int64, error) {
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strings.TrimLeft(s, "0123456789") != "" {
		return 0, refused(ErrTimestamp, "webhooks: %s is not integer Unix seconds", HeaderTimestamp)
	}
	tol := int64(v.tolerance / time.Second)
	age := v.now().Unix() - ts
	switch {
	case age > tol:
		return 0, refused(ErrTimestamp, "webhooks: %s is too old: %ds before now (tolerance %ds)", HeaderTimestamp, age, tol)
	case age < -tol:
		return 0, refused(ErrTimestamp, "webhooks: %s is too new: %ds after now (tolerance %ds)", HeaderTimestamp, -age, tol)
	}
	return ts, nil
}

// matchSignature reports whether one v1 entry of the webhook-signature
// value sigs is want. Entries of other versions are skipped.
func matchSignature(sigs string, want []byte) error {
	v1 := 0
	var got [sha256.Size + 1]byte // DecodedLen of 44 characters
	for _, entry := range strings.Fields(sigs) {
		// A Fetch-style join of repeated headers leaves a comma after an
		// entry; base64 has none.
		b64, ok := strings.CutPrefix(strings.TrimSuffix(entry, ","), "v1,")
		if !ok {
			continue
		}
		v1++
		if len(b64) != base64.StdEncoding.EncodedLen(sha256.Size) {
			continue
		}
		n, err := base64.StdEncoding.Decode(got[:], []byte(b64))
		if err == nil && hmac.Equal(got[:n], want) {
			return nil
		}
	}
	if v1 == 0 {
		return refused(ErrSignature, "webhooks: %s has no v1 entry", HeaderSignature)
	}
	return refused(ErrSignature, "webhooks: no v1 signature matches (a different secret, or a changed body)")
}

// headerValues returns a header's values, found case-insensitively even
// in a Header that was built without canonical keys.
func headerValues(h http.Header, name string) []string {
	if vs := h.Values(name); len(vs) > 0 {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// headerValue returns a header's first value, or "".
func headerValue(h http.Header, name string) string {
	if vs := headerValues(h, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// verifyError is a refused delivery: its own message, and its kind for
// errors.Is.
type verifyError struct {
	kind error
	msg  string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.kind }

// refused builds a verifyError of kind kind.
func refused(kind error, format string, args ...any) error {
	return &verifyError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
