package httpapi

import (
	"net/http"
	"strings"

	"github.com/keyward/keyward"
)

// maxClientRequestID bounds the client's X-Request-Id kept for the log.
const maxClientRequestID = 64

// clientRequestID is the client's X-Request-Id as the request log keeps
// it: at most 64 characters of letters, digits and "-_.:/+=@", the rest
// dropped. It is for correlating with the client's own logs only; the
// request's id (answers, audit events, the log's request_id) is always
// the server's.
func clientRequestID(h http.Header) string {
	v := h.Get("X-Request-Id")
	clean := len(v) <= maxClientRequestID
	for i := 0; clean && i < len(v); i++ {
		clean = requestIDByte(v[i])
	}
	if clean {
		return v // a part of the header's value: no copy
	}
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < maxClientRequestID; i++ {
		if requestIDByte(v[i]) {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

func requestIDByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.:/+=@", c) >= 0
}

// setChallenge sets WWW-Authenticate on a 401 answer with code (RFC 6750
// §3): a request without a key gets the bare challenge, a key that does
// not work the invalid_token error.
func setChallenge(h http.Header, code string) {
	switch code {
	case keyward.CodeAPIKeyInvalid, keyward.CodeAPIKeyExpired:
		h.Set("WWW-Authenticate", `Bearer realm="keyward", error="invalid_token"`)
	default:
		h.Set("WWW-Authenticate", `Bearer realm="keyward"`)
	}
}
