package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// maxKeyLen bounds a presented key; real keys are 40 characters, so longer
// values are rejected without a call to keyward.
const maxKeyLen = 256

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

// RequireScopes makes the middleware accept only keys that hold every one
// of scopes; other valid keys get 403 PERMISSION_DENIED.
func RequireScopes(scopes ...string) MiddlewareOption {
	return func(m *middleware) { m.scopes = append(m.scopes, scopes...) }
}

// WithClientIP sets how the caller's address is found, for keys with an IP
// allowlist. The default is the host of r.RemoteAddr; behind a trusted
// proxy, return the address it reports instead.
func WithClientIP(f func(r *http.Request) string) MiddlewareOption {
	return func(m *middleware) { m.clientIP = f }
}

// WithOrgVerify verifies keys with the client's org key (POST
// /v1/org/verify), accepting keys of any project of the org, instead of
// with its project key (POST /v1/verify, keys of that project only).
func WithOrgVerify() MiddlewareOption {
	return func(m *middleware) { m.org = true }
}

// WithLogger sets where the middleware logs calls to keyward that failed
// (default slog.Default()). Log lines never hold the presented key.
func WithLogger(l *slog.Logger) MiddlewareOption {
	return func(m *middleware) { m.log = l }
}

// WithLocalCache verifies keys through lc, from memory when it safely can
// (see LocalCache), instead of asking keyward for every request. lc's Org
// option, not WithOrgVerify, then says which endpoint is used.
func WithLocalCache(lc *LocalCache) MiddlewareOption {
	return func(m *middleware) { m.local = lc }
}

type middleware struct {
	c        *Client
	local    *LocalCache
	scopes   []string
	clientIP func(*http.Request) string
	org      bool
	log      *slog.Logger
}

type ctxKey struct{}

// KeyFromContext returns the verified key that Middleware put in ctx.
func KeyFromContext(ctx context.Context) (*keyward.Key, bool) {
	k, ok := ctx.Value(ctxKey{}).(*keyward.Key)
	return k, ok && k != nil
}

// ContextWithKey returns ctx carrying k, as Middleware does; handler tests
// can use it to stand in for the middleware.
func ContextWithKey(ctx context.Context, k *keyward.Key) context.Context {
	return context.WithValue(ctx, ctxKey{}, k)
}

// Middleware protects a handler with keyward keys. It reads the caller's
// key from x-api-key or "Authorization: Bearer", verifies it with keyward
// (passing the caller's address for IP allowlists), and calls next with the
// verified key in the request context (see KeyFromContext). Otherwise it
// answers with the error contract (README, Error codes): 400 AMBIGUOUS_CREDENTIALS,
// 401 API_KEY_MISSING, API_KEY_INVALID or API_KEY_EXPIRED, 403
// PERMISSION_DENIED or IP_NOT_ALLOWED, 429 RATE_LIMITED, and 503 UNAVAILABLE
// when keyward cannot be asked: it fails closed.
func Middleware(c *Client, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	m := &middleware{c: c, clientIP: remoteIP}
	for _, opt := range opts {
		opt(m)
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serve(next, w, r)
		})
	}
}

func (m *middleware) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	key, fail := presentedKey(r)
	if fail != nil {
		writeError(w, fail)
		return
	}
	if len(key) > maxKeyLen {
		writeError(w, verifyFailure(&keyward.VerifyResult{Code: keyward.VerifyInvalid}, nil, time.Time{}))
		return
	}
	in := keyward.VerifyInput{Key: key, Scopes: m.scopes, IP: m.clientIP(r)}
	var res *verifyAnswer
	var err error
	switch {
	case m.local != nil:
		res, err = m.local.verify(r.Context(), in)
	case m.org:
		res, err = m.c.verify(r.Context(), "/v1/org/verify", credOrg, in)
	default:
		res, err = m.c.verify(r.Context(), "/v1/verify", credProject, in)
	}
	if err != nil {
		m.log.LogAttrs(r.Context(), slog.LevelError, "keyward: verify failed; rejecting request",
			slog.String("error", err.Error()))
		writeError(w, &Error{Code: keyward.CodeUnavailable, Status: http.StatusServiceUnavailable,
			Message: "API key verification is temporarily unavailable"})
		return
	}
	// The caller learns its key's window as it would from keyward itself.
	setRateLimitHeaders(w.Header(), res.RateLimit)
	if res.Valid && res.Key != nil {
		next.ServeHTTP(w, r.WithContext(ContextWithKey(r.Context(), res.Key)))
		return
	}
	if res.Valid { // valid without a key breaks the contract: fail closed
		m.log.LogAttrs(r.Context(), slog.LevelError, "keyward: verify answered valid without a key; rejecting request")
		writeError(w, &Error{Code: keyward.CodeUnavailable, Status: http.StatusServiceUnavailable,
			Message: "API key verification is temporarily unavailable"})
		return
	}
	writeError(w, verifyFailure(res, m.scopes, time.Now()))
}

// presentedKey reads the key from x-api-key or a Bearer Authorization
// header; two different keys are ambiguous, none is missing.
func presentedKey(r *http.Request) (string, *Error) {
	var keys []string
	for _, v := range r.Header.Values("X-Api-Key") {
		if v = strings.TrimSpace(v); v != "" {
			keys = append(keys, v)
		}
	}
	for _, v := range r.Header.Values("Authorization") {
		scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if token = strings.TrimSpace(token); token != "" {
				keys = append(keys, token)
			}
		}
	}
	if len(keys) == 0 {
		return "", &Error{Code: keyward.CodeAPIKeyMissing, Status: http.StatusUnauthorized,
			Message: "No API key provided: send it in the x-api-key header or as Authorization: Bearer"}
	}
	for _, k := range keys[1:] {
		if k != keys[0] {
			return "", &Error{Code: keyward.CodeAmbiguousCredentials, Status: http.StatusBadRequest,
				Message: "The request carries two different API keys; send one"}
		}
	}
	return keys[0], nil
}

// verifyFailure maps a verify result to the error the caller gets. Unknown
// codes are treated as invalid keys. A rate-limited caller is told to come
// back when its key's window resets.
func verifyFailure(res *verifyAnswer, scopes []string, now time.Time) *Error {
	switch res.Code {
	case keyward.VerifyExpired:
		return &Error{Code: keyward.CodeAPIKeyExpired, Status: http.StatusUnauthorized, Message: "The API key has expired"}
	case keyward.VerifyInsufficientScope:
		return &Error{Code: keyward.CodePermissionDenied, Status: http.StatusForbidden,
			Message: "The API key lacks a required scope (needs " + strings.Join(scopes, ", ") + ")"}
	case keyward.VerifyIPNotAllowed:
		return &Error{Code: keyward.CodeIPNotAllowed, Status: http.StatusForbidden,
			Message: "The API key may not be used from this address"}
	case keyward.VerifyRateLimited:
		wait := time.Second // keyward did not say: its shortest window
		if res.RateLimit != nil && res.RateLimit.Reset.After(now) {
			wait = res.RateLimit.Reset.Sub(now)
		}
		return &Error{Code: keyward.CodeRateLimited, Status: http.StatusTooManyRequests,
			Message: "Too many requests; retry later", RetryAfter: wait}
	default:
		return &Error{Code: keyward.CodeAPIKeyInvalid, Status: http.StatusUnauthorized, Message: "Invalid API key provided"}
	}
}

// writeError renders e as the error contract, with a fresh request id.
func writeError(w http.ResponseWriter, e *Error) {
	e.RequestID = keyward.NewID(keyward.PrefixRequest)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", e.RequestID)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="api"`)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: e})
}

// setRateLimitHeaders writes a key's window as keyward does: the reset as
// a Unix time, rounded up so that a client that waits until then finds a
// new window. Nothing when the key has no rate limit.
func setRateLimitHeaders(h http.Header, rl *keyward.RateLimitState) {
	if rl == nil {
		return
	}
	reset := rl.Reset.Unix()
	if rl.Reset.After(time.Unix(reset, 0)) {
		reset++
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(rl.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rl.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
}

// remoteIP returns the host part of r.RemoteAddr.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
