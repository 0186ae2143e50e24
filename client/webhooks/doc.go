// Package webhooks signs and verifies keyward's webhook deliveries, which
// follow the Standard Webhooks scheme (https://www.standardwebhooks.com).
//
// Each delivery is a POST of a JSON event,
//
//	{"type": "key.created", "timestamp": "2026-01-02T03:04:05Z", "data": {…}}
//
// with three headers: webhook-id (the message id, the same on every retry
// of one event, for deduplication), webhook-timestamp (Unix seconds of this
// attempt) and webhook-signature (space-separated "v1,<base64>" entries,
// each an HMAC-SHA256 of id + "." + timestamp + "." + body under the
// endpoint's signing secret).
//
// A receiver builds one [Verifier] from the endpoint's signing secret
// ("whsec_" and base64, as keyward shows it) and either calls
// [Verifier.Verify] with the request's headers and raw body, or wraps its
// handler with [Verifier.Middleware]:
//
//	v, err := webhooks.NewVerifier(os.Getenv("KEYWARD_WEBHOOK_SECRET"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/hooks/keyward", v.Middleware(func(w http.ResponseWriter, r *http.Request, e *webhooks.Event) {
//		// e.ID, e.Type, e.Timestamp and e.Data are verified
//	}))
//
// Verify refuses a delivery whose timestamp is more than the tolerance
// (default 5 minutes) from now, in either direction, which bounds replays;
// a receiver that must not act twice on one event remembers the ids it
// has handled. The signature is checked over the raw body before any of
// it is parsed. Errors say what was wrong and never hold the secret or a
// signature.
//
// The sender (keyward) uses [NewSecret] and [Signer]. The package uses the
// standard library only.
package webhooks
