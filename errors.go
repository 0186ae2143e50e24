package keyward

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes of the public error contract (README, Error codes). Only the HTTP layer
// maps them to statuses.
const (
	CodeInvalidRequest       = "INVALID_REQUEST"
	CodeAmbiguousCredentials = "AMBIGUOUS_CREDENTIALS"
	CodeAPIKeyMissing        = "API_KEY_MISSING"
	CodeAPIKeyInvalid        = "API_KEY_INVALID"
	CodeAPIKeyExpired        = "API_KEY_EXPIRED"
	CodeUnauthenticated      = "UNAUTHENTICATED"
	CodePermissionDenied     = "PERMISSION_DENIED"
	CodeIPNotAllowed         = "IP_NOT_ALLOWED"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeKeyLimitReached      = "KEY_LIMIT_REACHED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited          = "RATE_LIMITED"
	CodeInternal             = "INTERNAL"
	CodeUnavailable          = "UNAVAILABLE"
	// CodeProxyMisconfigured answers a proxy's forward-authentication
	// request that keyward cannot act on because of the proxy's own
	// configuration (its Keyward-Proxy-Key refused, a malformed
	// Keyward-Required-Scopes), never because of the client's key.
	CodeProxyMisconfigured = "PROXY_MISCONFIGURED"
)

// ErrorCodes are every code of the error contract.
var ErrorCodes = []string{
	CodeInvalidRequest, CodeAmbiguousCredentials, CodeAPIKeyMissing, CodeAPIKeyInvalid, CodeAPIKeyExpired,
	CodeUnauthenticated, CodePermissionDenied, CodeIPNotAllowed, CodeNotFound, CodeMethodNotAllowed,
	CodeKeyLimitReached, CodeConflict, CodePayloadTooLarge, CodeUnsupportedMediaType, CodeRateLimited,
	CodeInternal, CodeUnavailable, CodeProxyMisconfigured,
}

// Error is the one error type of keyward, on both sides of the wire: the
// service returns it, the HTTP API writes it as the error object of every
// error body ({"error": {code, message, status, request_id, details?}},
// README, Error codes), and the Go SDK (package client) returns it decoded
// from that body, so errors.As(err, &e) and ErrorCode work the same on
// either side.
//
// Message is public: it is shown to callers as is, so it never holds
// internals or secrets. Err, when set, is the internal cause for the
// operator's log and is never shown.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Status and RequestID are the HTTP status and the request's id; they
	// are set on an error read from (or written to) the wire.
	Status    int          `json:"status"`
	RequestID string       `json:"request_id"`
	Details   []FieldError `json:"details,omitempty"`
	Err       error        `json:"-"`
	// RetryAfter, for RATE_LIMITED (and a 503 that says), says when to try
	// again: the Retry-After header.
	RetryAfter time.Duration `json:"-"`
	// RateLimit is the state of the caller's rate-limit window, from the
	// X-RateLimit-* headers, when the answer carried them.
	RateLimit *RateLimitState `json:"-"`
}

// FieldError names one invalid field of a request and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Error implements error: "keyward: CODE: message", then the fields at
// fault when the message does not name them, the request id when known,
// and the cause (for logs) when set.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keyward: %s: %s", e.Code, e.Message)
	if len(e.Details) > 1 {
		for i, d := range e.Details {
			sep := "; "
			if i == 0 {
				sep = ": "
			}
			fmt.Fprintf(&b, "%s%s %s", sep, d.Field, d.Problem)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (%s)", e.RequestID)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an INVALID_REQUEST error listing the failed fields.
func Invalid(details ...FieldError) *Error {
	msg := "The request is invalid"
	if len(details) == 1 {
		msg = fmt.Sprintf("Invalid %s: %s", details[0].Field, details[0].Problem)
	}
	return &Error{Code: CodeInvalidRequest, Message: msg, Details: details}
}

// NotFound returns a NOT_FOUND error for the named kind of resource.
func NotFound(what string) *Error {
	return Errorf(CodeNotFound, "No such %s", what)
}

// Denied returns a PERMISSION_DENIED error with a public reason.
func Denied(format string, args ...any) *Error {
	return Errorf(CodePermissionDenied, format, args...)
}

// Unavailable wraps a storage failure: the caller sees only that the service
// is unavailable; the cause goes to the operator's log.
func Unavailable(cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: "The service is temporarily unavailable", Err: cause}
}

// ErrorCode returns the code of err, or INTERNAL when err is not an *Error.
// It returns "" for a nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns err as an *Error; any other error becomes INTERNAL with a
// generic public message and err as the hidden cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "An internal error occurred", Err: err}
}
