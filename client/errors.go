package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keyward/keyward"
)

// Error is an error answered by the keyward API: keyward's one error type,
// decoded from the error body (README, Error codes), with the HTTP status and
// request id, Retry-After and the X-RateLimit-* headers. Status is set even
// when the body was not the contract's JSON (a proxy's HTML page, say), with
// a Code that fits the status. Messages come from the server and never
// include a key. Because it is *keyward.Error, errors.As with either name
// and keyward.ErrorCode work on every error the SDK returns.
type Error = keyward.Error

// HasCode reports whether err is, or wraps, an *Error with the given code
// (one of the keyward.Code… constants).
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Errors returned before any request is made.
var (
	// ErrNoAPIKey is returned by project calls when the client has no
	// project key.
	ErrNoAPIKey = errors.New("keyward: no project API key: set " + EnvAPIKey + " or use client.WithAPIKey")
	// ErrNoOrgAPIKey is returned by org calls when the client has no org key.
	ErrNoOrgAPIKey = errors.New("keyward: no org API key: set " + EnvOrgAPIKey + " or use client.WithOrgAPIKey")
	// ErrEmptyID is returned when a call that names a resource gets "" for
	// its id (which would otherwise address a different route).
	ErrEmptyID = errors.New("keyward: empty id")
)

// errorBody is the error envelope of every non-2xx response.
type errorBody struct {
	Error *Error `json:"error"`
}

// decodeError turns a non-2xx response into an *Error. body is what was
// read of the response (possibly truncated).
func decodeError(resp *http.Response, body []byte) *Error {
	var eb errorBody
	e := &Error{}
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		e = eb.Error
	} else {
		e.Code = codeForStatus(resp.StatusCode)
		e.Message = fmt.Sprintf("unexpected response from keyward: %s", statusText(resp.StatusCode))
	}
	if e.Status == 0 {
		e.Status = resp.StatusCode
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	e.RateLimit = parseRateLimit(resp.Header)
	return e
}

// codeForStatus picks the contract's code for a status whose body did not
// say: server-side and gateway failures are UNAVAILABLE when they are
// temporary, INTERNAL otherwise.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return keyward.CodeUnavailable
	case http.StatusTooManyRequests:
		return keyward.CodeRateLimited
	case http.StatusNotFound:
		return keyward.CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return keyward.CodePayloadTooLarge
	case http.StatusUnauthorized:
		return keyward.CodeUnauthenticated
	case http.StatusForbidden:
		return keyward.CodePermissionDenied
	default:
		return keyward.CodeInternal
	}
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return fmt.Sprintf("%d %s", status, t)
	}
	return fmt.Sprintf("status %d", status)
}

// parseRateLimit reads the X-RateLimit-* headers; nil when the answer had
// none (the key has no rate limit) or they do not parse.
func parseRateLimit(h http.Header) *keyward.RateLimitState {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	return &keyward.RateLimitState{Limit: limit, Remaining: remaining, Reset: time.Unix(reset, 0)}
}
