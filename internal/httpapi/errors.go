package httpapi

import (
	"math"
	"net/http"
	"strconv"

	"github.com/keyward/keyward"
)

// StatusOf maps an error code to its HTTP status (README, Error codes). This is the
// only place codes meet statuses; the dashboard uses it too.
func StatusOf(code string) int {
	switch code {
	case keyward.CodeInvalidRequest, keyward.CodeAmbiguousCredentials:
		return http.StatusBadRequest
	case keyward.CodeAPIKeyMissing, keyward.CodeAPIKeyInvalid, keyward.CodeAPIKeyExpired, keyward.CodeUnauthenticated:
		return http.StatusUnauthorized
	case keyward.CodePermissionDenied, keyward.CodeIPNotAllowed:
		return http.StatusForbidden
	case keyward.CodeNotFound:
		return http.StatusNotFound
	case keyward.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case keyward.CodeKeyLimitReached, keyward.CodeConflict:
		return http.StatusConflict
	case keyward.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case keyward.CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case keyward.CodeRateLimited:
		return http.StatusTooManyRequests
	case keyward.CodeUnavailable:
		return http.StatusServiceUnavailable
	case keyward.CodeProxyMisconfigured:
		// A 5xx, so that the proxy fails closed and the client is not
		// told its own key is at fault.
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error object (README, Error codes).
type ErrorDetail struct {
	Code      string               `json:"code"`
	Message   string               `json:"message"`
	Status    int                  `json:"status"`
	RequestID string               `json:"request_id"`
	Details   []keyward.FieldError `json:"details,omitempty"`
}

// writeError renders err as the error contract. Internal causes go to the
// log (by the caller), never to the body.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := keyward.AsError(err)
	status := StatusOf(e.Code)
	msg := e.Message
	if e.Code == keyward.CodeInternal {
		msg = "An internal error occurred"
	}
	if e.Code == keyward.CodeRateLimited {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	if status == http.StatusUnauthorized {
		setChallenge(w.Header(), e.Code)
	}
	info := infoOf(w)
	if info != nil {
		info.err = e
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{
		Code: e.Code, Message: msg, Status: status, RequestID: requestID(w), Details: e.Details,
	}})
}
