package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/client/webhooks"
)

// The Standard Webhooks specification's published example.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const eventBody = `{"type":"key.created","timestamp":"2026-03-04T05:06:00Z","data":{"key_id":"key_1","name":"ci"}}`

// refSign is the signature computed without the package: HMAC-SHA256 of
// "id.ts.body" under the base64-decoded part of secret.
func refSign(t *testing.T, secret, id string, ts int64, body string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal("test secret does not decode")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func verifier(t *testing.T, secret string, opts ...webhooks.Option) *webhooks.Verifier {
	t.Helper()
	v, err := webhooks.NewVerifier(secret, append([]webhooks.Option{webhooks.WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// newSecret returns a fresh whsec_ secret.
func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhooks.NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return s
}

// checkClean fails when err's message holds the secret, its key or a signature.
func checkClean(t *testing.T, err error, secret string, sigs ...string) {
	t.Helper()
	msg := err.Error()
	for _, s := range append([]string{secret, strings.TrimPrefix(secret, "whsec_")}, sigs...) {
		s = strings.TrimPrefix(strings.TrimSpace(s), "v1,")
		if len(s) >= 8 && strings.Contains(msg, s) {
			t.Errorf("an error message holds the secret or a signature")
		}
	}
}

func TestStandardWebhooksExample(t *testing.T) {
	if got := refSign(t, specSecret, specID, specTimestamp, specBody); got != specSignature {
		t.Fatalf("independent HMAC = %s, the specification says %s", got, specSignature)
	}
	for _, secret := range []string{specSecret, strings.TrimPrefix(specSecret, "whsec_")} {
		s, err := webhooks.NewSigner(secret)
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		if got := s.Sign(specID, time.Unix(specTimestamp, 0), []byte(specBody)); got != specSignature {
			t.Errorf("Sign = %s, want %s", got, specSignature)
		}
		// The signature matches; the body is no keyward event, which only
		// the step after the signature check can say.
		v, err := webhooks.NewVerifier(secret, webhooks.WithClock(func() time.Time { return time.Unix(specTimestamp+10, 0) }))
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		_, err = v.Verify(headers(specID, specTimestamp, specSignature), []byte(specBody))
		if !errors.Is(err, webhooks.ErrPayload) {
			t.Errorf("Verify(spec example) = %v, want ErrPayload (signature accepted)", err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := newSecret(t), newSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		rest, ok := strings.CutPrefix(s, "whsec_")
		key, err := base64.StdEncoding.DecodeString(rest)
		if !ok || err != nil || len(key) != 32 {
			t.Errorf("secret is not whsec_ and the base64 of 32 bytes (prefix %v, %d bytes, %v)", ok, len(key), err)
		}
	}
}

func TestSignKnownAnswer(t *testing.T) {
	secret := newSecret(t)
	s, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	ts := now.Add(-3 * time.Second)
	want := refSign(t, secret, "msg_1", ts.Unix(), eventBody)
	if got := s.Sign("msg_1", ts, []byte(eventBody)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	// A long id exercises the path past Sign's stack buffer.
	long := "msg_" + strings.Repeat("x", 200)
	if got, want := s.Sign(long, ts, nil), refSign(t, secret, long, ts.Unix(), ""); got != want {
		t.Errorf("Sign(long id, empty body) = %s, want %s", got, want)
	}
}

func TestVerifyAccepts(t *testing.T) {
	secret := newSecret(t)
	other := newSecret(t)
	ts := now.Unix()
	good := refSign(t, secret, "msg_1", ts, eventBody)
	cases := []struct {
		name string
		h    http.Header
	}{
		{"one signature", headers("msg_1", ts, good)},
		{"several, one valid", headers("msg_1", ts, refSign(t, other, "msg_1", ts, eventBody)+" "+good+" v1,AAAA")},
		{"unknown versions beside v1", headers("msg_1", ts, "v1a,"+strings.TrimPrefix(good, "v1,")+" v2,xyz "+good)},
		{"header lines repeated", func() http.Header {
			h := headers("msg_1", ts, refSign(t, other, "msg_1", ts, eventBody))
			h.Add("webhook-signature", good)
			return h
		}()},
		{"joined as Fetch joins", headers("msg_1", ts, refSign(t, other, "msg_1", ts, eventBody)+", "+good)},
		{"keys not canonical", http.Header{"webhook-id": {"msg_1"}, "WEBHOOK-TIMESTAMP": {strconv.FormatInt(ts, 10)}, "webhook-Signature": {good}}},
		{"timestamp at the old edge", headers("msg_1", ts-300, refSign(t, secret, "msg_1", ts-300, eventBody))},
		{"timestamp at the new edge", headers("msg_1", ts+300, refSign(t, secret, "msg_1", ts+300, eventBody))},
	}
	for _, secretForm := range []string{secret, strings.TrimPrefix(secret, "whsec_")} {
		v := verifier(t, secretForm)
		for _, c := range cases {
			e, err := v.Verify(c.h, []byte(eventBody))
			if err != nil {
				t.Errorf("%s: Verify: %v", c.name, err)
				continue
			}
			if e.ID != "msg_1" || e.Type != "key.created" || !e.Timestamp.Equal(time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)) ||
				string(e.Data) != `{"key_id":"key_1","name":"ci"}` {
				t.Errorf("%s: event = %+v", c.name, e)
			}
		}
	}
}

func TestVerifyPassesUnknownTypesAndData(t *testing.T) {
	secret := newSecret(t)
	v := verifier(t, secret)
	for _, body := range []string{
		`{"type":"something.new","timestamp":"2026-03-04T05:06:07.123456789+01:00","data":[1,2]}`,
		`{"type":"webhook.test","timestamp":"2026-03-04T05:06:07Z"}`,
	} {
		e, err := v.Verify(headers("msg_2", now.Unix(), refSign(t, secret, "msg_2", now.Unix(), body)), []byte(body))
		if err != nil {
			t.Errorf("Verify(%s): %v", body, err)
			continue
		}
		if e.Type == "" || e.Timestamp.IsZero() {
			t.Errorf("event = %+v", e)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret := newSecret(t)
	other := newSecret(t)
	ts := now.Unix()
	good := refSign(t, secret, "msg_1", ts, eventBody)
	sign := func(ts int64, body string) string { return refSign(t, secret, "msg_1", ts, body) }
	without := func(name string) http.Header {
		h := headers("msg_1", ts, good)
		h.Del(name)
		return h
	}
	withTS := func(value string) http.Header {
		h := headers("msg_1", ts, good)
		h.Set("webhook-timestamp", value)
		return h
	}
	cases := []struct {
		name string
		h    http.Header
		body string
		kind error
		says string
	}{
		{"no webhook-id", without("webhook-id"), eventBody, webhooks.ErrMissingHeader, "webhook-id"},
		{"no webhook-timestamp", without("webhook-timestamp"), eventBody, webhooks.ErrMissingHeader, "webhook-timestamp"},
		{"no webhook-signature", without("webhook-signature"), eventBody, webhooks.ErrMissingHeader, "webhook-signature"},
		{"empty webhook-signature", headers("msg_1", ts, " "), eventBody, webhooks.ErrMissingHeader, "webhook-signature"},
		{"non-numeric timestamp", withTS("yesterday"), eventBody, webhooks.ErrTimestamp, "not integer"},
		{"fractional timestamp", withTS(strconv.FormatInt(ts, 10) + ".5"), eventBody, webhooks.ErrTimestamp, "not integer"},
		{"signed timestamp", withTS("+" + strconv.FormatInt(ts, 10)), eventBody, webhooks.ErrTimestamp, "not integer"},
		{"huge timestamp", withTS("99999999999999999999999"), eventBody, webhooks.ErrTimestamp, "not integer"},
		{"too old", headers("msg_1", ts-301, sign(ts-301, eventBody)), eventBody, webhooks.ErrTimestamp, "too old"},
		{"too new", headers("msg_1", ts+301, sign(ts+301, eventBody)), eventBody, webhooks.ErrTimestamp, "too new"},
		{"tampered body", headers("msg_1", ts, good), strings.Replace(eventBody, "ci", "cj", 1), webhooks.ErrSignature, "no v1 signature matches"},
		{"another id", headers("msg_2", ts, good), eventBody, webhooks.ErrSignature, "no v1 signature matches"},
		{"timestamp changed", headers("msg_1", ts-1, good), eventBody, webhooks.ErrSignature, "no v1 signature matches"},
		{"wrong secret", headers("msg_1", ts, refSign(t, other, "msg_1", ts, eventBody)), eventBody, webhooks.ErrSignature, "no v1 signature matches"},
		{"only other versions", headers("msg_1", ts, "v1a,"+strings.TrimPrefix(good, "v1,")+" v2,"+strings.TrimPrefix(good, "v1,")), eventBody, webhooks.ErrSignature, "no v1 entry"},
		{"v1 without comma", headers("msg_1", ts, "v1"+strings.TrimPrefix(good, "v1,")), eventBody, webhooks.ErrSignature, "no v1 entry"},
		{"not base64", headers("msg_1", ts, "v1,"+strings.Repeat("!", 44)), eventBody, webhooks.ErrSignature, "no v1 signature matches"},
		{"truncated", headers("msg_1", ts, good[:len(good)-4]), eventBody, webhooks.ErrSignature, "no v1 signature matches"},
		{"bad JSON, valid signature", headers("msg_1", ts, sign(ts, `{"type":`)), `{"type":`, webhooks.ErrPayload, "not a keyward event"},
		{"JSON array", headers("msg_1", ts, sign(ts, `[1]`)), `[1]`, webhooks.ErrPayload, "not a keyward event"},
		{"no type", headers("msg_1", ts, sign(ts, `{"timestamp":"2026-03-04T05:06:00Z"}`)), `{"timestamp":"2026-03-04T05:06:00Z"}`, webhooks.ErrPayload, "type"},
		{"no timestamp", headers("msg_1", ts, sign(ts, `{"type":"key.created"}`)), `{"type":"key.created"}`, webhooks.ErrPayload, "timestamp"},
		{"timestamp not RFC 3339", headers("msg_1", ts, sign(ts, `{"type":"a","timestamp":"2026-03-04 05:06:00"}`)), `{"type":"a","timestamp":"2026-03-04 05:06:00"}`, webhooks.ErrPayload, "not a keyward event"},
		{"not UTF-8", headers("msg_1", ts, sign(ts, "{\"type\":\"a\xff\",\"timestamp\":\"2026-03-04T05:06:00Z\"}")), "{\"type\":\"a\xff\",\"timestamp\":\"2026-03-04T05:06:00Z\"}", webhooks.ErrPayload, "UTF-8"},
	}
	v := verifier(t, secret)
	kinds := []error{webhooks.ErrMissingHeader, webhooks.ErrTimestamp, webhooks.ErrSignature, webhooks.ErrPayload}
	for _, c := range cases {
		e, err := v.Verify(c.h, []byte(c.body))
		if err == nil {
			t.Errorf("%s: Verify accepted: %+v", c.name, e)
			continue
		}
		for _, k := range kinds {
			if want := errors.Is(k, c.kind); errors.Is(err, k) != want {
				t.Errorf("%s: errors.Is(%v, %v) = %v", c.name, err, k, !want)
			}
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.says)
		}
		checkClean(t, err, secret, good, c.h.Get("webhook-signature"))
	}
}

func TestTolerance(t *testing.T) {
	secret := newSecret(t)
	v := verifier(t, secret, webhooks.WithTolerance(time.Minute))
	for _, c := range []struct {
		offset int64
		ok     bool
	}{{-60, true}, {60, true}, {-61, false}, {61, false}} {
		ts := now.Unix() + c.offset
		_, err := v.Verify(headers("msg_1", ts, refSign(t, secret, "msg_1", ts, eventBody)), []byte(eventBody))
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, webhooks.ErrTimestamp)) {
			t.Errorf("offset %ds with a 1m tolerance: %v", c.offset, err)
		}
	}
	if _, err := webhooks.NewVerifier(secret, webhooks.WithTolerance(500*time.Millisecond)); err == nil {
		t.Error("NewVerifier accepted a tolerance under a second")
	}
	if _, err := webhooks.NewVerifier(secret, webhooks.WithClock(nil)); err == nil {
		t.Error("NewVerifier accepted a nil clock")
	}
}

func TestBadSecrets(t *testing.T) {
	for _, s := range []string{"", "  ", "whsec_", "whsec_not base64!", "whsec_c2VjcmV0LQ", "c2VjcmV0LQ", "whsec_c2Vj\ncmV0LXNlY3JldA==", "whsec_-_-_"} {
		_, errS := webhooks.NewSigner(s)
		_, errV := webhooks.NewVerifier(s)
		for _, err := range []error{errS, errV} {
			if !errors.Is(err, webhooks.ErrSecret) {
				t.Errorf("secret #%d: err = %v, want ErrSecret", len(s), err)
				continue
			}
			if rest := strings.TrimSpace(strings.TrimPrefix(s, "whsec_")); rest != "" && strings.Contains(err.Error(), rest) {
				t.Errorf("secret #%d: the error holds the secret", len(s))
			}
		}
	}
	// Surrounding spaces (a secret read from a file) are not the secret's.
	v := verifier(t, " "+specSecret+"\n")
	_, err := v.Verify(headers(specID, specTimestamp, specSignature), []byte(specBody))
	if !errors.Is(err, webhooks.ErrTimestamp) {
		t.Errorf("Verify with a padded secret: %v (the clock is years after the example)", err)
	}
}

func TestPrintingHidesSecret(t *testing.T) {
	secret := newSecret(t)
	s, err := webhooks.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, secret)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	keyText := strings.Trim(fmt.Sprintf("%d", key[:8]), "[]") // how %v shows a []byte
	for _, x := range []any{s, v, *s, *v} {
		out := fmt.Sprintf("%v %+v %#v %s", x, x, x, x)
		if strings.Contains(out, keyText) || strings.Contains(out, fmt.Sprintf("%x", key[:8])) || strings.Contains(out, strings.TrimPrefix(secret, "whsec_")) {
			t.Errorf("printing a %T shows its key", x)
		}
	}
}
