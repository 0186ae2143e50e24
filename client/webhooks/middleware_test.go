package webhooks_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/client/webhooks"
)

// A real server on loopback behind Middleware: a signed delivery reaches
// the handler with its event and raw body; refused ones are answered
// without calling it.
func TestMiddleware(t *testing.T) {
	secret := newSecret(t)
	v, err := webhooks.NewVerifier(secret) // the real clock: deliveries are signed now
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		event *webhooks.Event
		body  string
	}
	calls := make(chan call, 10)
	srv := httptest.NewServer(v.Middleware(func(w http.ResponseWriter, r *http.Request, e *webhooks.Event) {
		body, _ := io.ReadAll(r.Body)
		calls <- call{e, string(body)}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	post := func(ts int64, sig string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		req.Header.Set("webhook-id", "msg_1")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(text)
	}

	ts := time.Now().Unix()
	if code, _ := post(ts, refSign(t, secret, "msg_1", ts, eventBody), []byte(eventBody)); code != http.StatusNoContent {
		t.Fatalf("signed delivery: status %d", code)
	}
	select {
	case c := <-calls:
		if c.event.ID != "msg_1" || c.event.Type != "key.created" || c.body != eventBody {
			t.Errorf("handler got %+v and body %q", c.event, c.body)
		}
	default:
		t.Fatal("the handler was not called for a signed delivery")
	}

	tampered := strings.Replace(eventBody, "ci", "cj", 1)
	code, text := post(ts, refSign(t, secret, "msg_1", ts, eventBody), []byte(tampered))
	if code != http.StatusBadRequest || !strings.Contains(text, "no v1 signature matches") {
		t.Errorf("tampered delivery: %d %q", code, text)
	}
	old := ts - 3600
	if code, text := post(old, refSign(t, secret, "msg_1", old, eventBody), []byte(eventBody)); code != http.StatusBadRequest || !strings.Contains(text, "too old") {
		t.Errorf("old delivery: %d %q", code, text)
	}
	big := []byte(`{"type":"key.created","timestamp":"2026-03-04T05:06:00Z","data":"` + strings.Repeat("x", webhooks.MaxBodyBytes) + `"}`)
	if code, _ := post(ts, refSign(t, secret, "msg_1", ts, string(big)), big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: status %d", code)
	}
	if len(calls) != 0 {
		t.Errorf("the handler was called for %d refused deliveries", len(calls))
	}
}
