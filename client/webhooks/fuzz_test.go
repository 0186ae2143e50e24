package webhooks_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/client/webhooks"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it never
// panics, it accepts a delivery only when webhook-signature holds the
// body's signature, every refusal is one of the four kinds and holds
// neither the secret nor the signature; and the same body, correctly
// signed, is refused for nothing but a missing id or its payload.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, err := webhooks.NewSigner(secret)
	if err != nil {
		f.Fatal(err)
	}
	at := time.Unix(1767225600, 0)
	v, err := webhooks.NewVerifier(secret, webhooks.WithClock(func() time.Time { return at }))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("msg_1", "1767225600", signer.Sign("msg_1", at, []byte(eventBody)), []byte(eventBody))
	f.Add("msg_1", "1767225600", "v1a,abc v1,"+strings.Repeat("A", 43)+"=", []byte(`{"type":"a","timestamp":"2026-01-01T00:00:00Z","data":null}`))
	f.Add("", "-1", "", []byte(`[`))
	f.Add("msg_2", "1767225000", "v1,, v1", []byte("\xff"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		e, err := v.Verify(h, body)
		sec, perr := strconv.ParseInt(ts, 10, 64)
		want := ""
		if perr == nil {
			want = strings.TrimPrefix(signer.Sign(id, time.Unix(sec, 0), body), "v1,")
		}
		if err == nil {
			if want == "" || !strings.Contains(sig, want) || e.ID != id || e.Type == "" {
				t.Fatalf("accepted %q %q %q: %+v", id, ts, sig, e)
			}
		} else {
			checkKind(t, err, webhooks.ErrMissingHeader, webhooks.ErrTimestamp, webhooks.ErrSignature, webhooks.ErrPayload)
			if strings.Contains(err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") || (want != "" && strings.Contains(err.Error(), want)) {
				t.Fatalf("the error holds the secret or the signature")
			}
		}

		h.Set("Webhook-Timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("Webhook-Signature", signer.Sign(id, at, body))
		if _, err := v.Verify(h, body); err != nil {
			if strings.TrimSpace(id) == "" {
				checkKind(t, err, webhooks.ErrMissingHeader)
			} else {
				checkKind(t, err, webhooks.ErrPayload)
			}
		}
	})
}

// checkKind fails unless err is one of kinds.
func checkKind(t *testing.T, err error, kinds ...error) {
	t.Helper()
	for _, k := range kinds {
		if errors.Is(err, k) {
			return
		}
	}
	t.Fatalf("error of no expected kind: %v", err)
}
