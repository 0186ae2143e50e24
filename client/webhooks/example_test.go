package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/client/webhooks"
)

// A delivery signed as keyward signs it, then verified as a receiver
// verifies it. The clock is fixed so that the example's output is too.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from the endpoint's page
	sent := time.Unix(1767225600, 0)                        // 2026-01-01T00:00:00Z
	body := []byte(`{"type":"key.revoked","timestamp":"2026-01-01T00:00:00Z","data":{"key_id":"key_123"}}`)

	// keyward's side.
	signer, err := webhooks.NewSigner(secret)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_2Jx9")
	h.Set("webhook-timestamp", strconv.FormatInt(sent.Unix(), 10))
	h.Set("webhook-signature", signer.Sign("msg_2Jx9", sent, body))

	// The receiver's side, a minute later.
	v, err := webhooks.NewVerifier(secret, webhooks.WithClock(func() time.Time { return sent.Add(time.Minute) }))
	if err != nil {
		panic(err)
	}
	e, err := v.Verify(h, body)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(e.ID, e.Type, e.Timestamp.Format(time.RFC3339), string(e.Data))

	// The same delivery ten minutes later is refused.
	late, _ := webhooks.NewVerifier(secret, webhooks.WithClock(func() time.Time { return sent.Add(10 * time.Minute) }))
	_, err = late.Verify(h, body)
	fmt.Println("refused:", err)
	// Output:
	// msg_2Jx9 key.revoked 2026-01-01T00:00:00Z {"key_id":"key_123"}
	// refused: webhooks: webhook-timestamp is too old: 600s before now (tolerance 300s)
}

// Middleware hands verified events to a handler and answers 400 for the rest.
func ExampleVerifier_Middleware() {
	v, err := webhooks.NewVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	h := v.Middleware(func(w http.ResponseWriter, _ *http.Request, e *webhooks.Event) {
		fmt.Println("handling", e.Type, e.ID)
		w.WriteHeader(http.StatusNoContent)
	})

	// An unsigned request never reaches the handler.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hooks/keyward", strings.NewReader(`{}`)))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// 400 webhooks: missing webhook-id header
}
