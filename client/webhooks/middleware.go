package webhooks

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// MaxBodyBytes is the largest body Middleware reads.
const MaxBodyBytes = 1 << 20

// Middleware returns a handler that verifies each delivery and calls next
// with the event. It reads at most MaxBodyBytes of body (a larger one is
// answered 413) and answers 400, with the reason as text, a delivery that
// Verify refuses; next is not called then. next can read the raw body
// again from r.Body.
func (v *Verifier) Middleware(next func(http.ResponseWriter, *http.Request, *Event)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
				http.Error(w, "webhooks: body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "webhooks: could not read the body", http.StatusBadRequest)
			return
		}
		e, err := v.Verify(r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r, e)
	})
}
