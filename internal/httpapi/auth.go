package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/service"
)

// Credential headers (README, The API in one screen).
const (
	headerAPIKey    = "X-Api-Key"
	headerOrgAPIKey = "X-Org-Api-Key"
)

// credSource records which headers carried the request's key.
type credSource uint8

const (
	fromAPIKeyHeader credSource = 1 << iota // x-api-key
	fromOrgKeyHeader                        // x-org-api-key
	fromBearer                              // Authorization: Bearer
)

// credential finds the one key a request presents in x-api-key,
// x-org-api-key or Authorization: Bearer, and the headers it came in. Two
// different keys are AMBIGUOUS_CREDENTIALS; none is API_KEY_MISSING.
func credential(h http.Header) (string, credSource, error) {
	return credentialIn(h, credentialHeaders[:])
}

// credentialHeaders are the key headers besides Authorization, in their
// canonical form (as net/http stores them); a client's key for an API
// behind a proxy comes in the first only (see clientCredential).
var credentialHeaders = [...]string{headerAPIKey, headerOrgAPIKey}

// clientCredential finds the key a client presented to an API behind a
// proxy (forward authentication): x-api-key or Authorization: Bearer,
// with credential's rules.
func clientCredential(h http.Header) (string, error) {
	secret, _, err := credentialIn(h, credentialHeaders[:1])
	return secret, err
}

// credentialIn is credential reading the key headers names and
// Authorization.
func credentialIn(h http.Header, names []string) (string, credSource, error) {
	var found string
	var src credSource
	add := func(v string, from credSource) error {
		if v == "" {
			return nil
		}
		if found != "" && found != v {
			return keyward.Errorf(keyward.CodeAmbiguousCredentials, "The request carries two different API keys; send exactly one")
		}
		found = v
		src |= from
		return nil
	}
	for _, name := range names {
		vals := h[name] // the names are canonical, as net/http stores them
		if len(vals) > 1 {
			return "", 0, keyward.Errorf(keyward.CodeAmbiguousCredentials, "The %s header appears more than once", strings.ToLower(name))
		}
		if len(vals) == 1 {
			from := fromAPIKeyHeader
			if name == headerOrgAPIKey {
				from = fromOrgKeyHeader
			}
			if err := add(strings.TrimSpace(vals[0]), from); err != nil {
				return "", 0, err
			}
		}
	}
	if auth := h["Authorization"]; len(auth) > 0 {
		if len(auth) > 1 {
			return "", 0, keyward.Errorf(keyward.CodeAmbiguousCredentials, "The Authorization header appears more than once")
		}
		token, ok := bearer(auth[0])
		if !ok {
			return "", 0, keyward.Errorf(keyward.CodeAPIKeyInvalid, "Invalid API key provided: use Authorization: Bearer <key>")
		}
		if err := add(token, fromBearer); err != nil {
			return "", 0, err
		}
	}
	if found == "" {
		return "", 0, keyward.Errorf(keyward.CodeAPIKeyMissing, "No API key provided: send it in the x-api-key header or as Authorization: Bearer <key>")
	}
	return found, src, nil
}

// Keys in the other family's header: a key of the right kind sent in the
// header of the other endpoint family is refused like a key of the wrong
// kind, with a message naming the right header.
var (
	errProjectKeyHeader = keyward.Denied("Project endpoints take the key in the x-api-key header (or Authorization: Bearer); x-org-api-key is for org keys (kwo_) on /v1/org endpoints")
	errOrgKeyHeader     = keyward.Denied("Org endpoints (/v1/org) take the key in the x-org-api-key header (or Authorization: Bearer); x-api-key is for project keys (kwp_) on project endpoints")
)

// wrongHeader reports the error for a key of kind want that came in the
// other family's header, or nil.
func wrongHeader(src credSource, want keyward.KeyKind) error {
	if want == keyward.KindOrg && src&fromAPIKeyHeader != 0 {
		return errOrgKeyHeader
	}
	if want != keyward.KindOrg && src&fromOrgKeyHeader != 0 {
		return errProjectKeyHeader
	}
	return nil
}

// bearer parses "Bearer <token>" with a case-insensitive scheme.
func bearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate resolves the request's key into the actor *into, for routes
// that need a key of kind want. For a key with a rate limit it sets the
// X-RateLimit-* headers, on success and on RATE_LIMITED alike.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, want keyward.KeyKind, into *service.Actor) error {
	secret, src, err := credential(r.Header)
	if err != nil {
		a.metrics.authResult(keyward.ErrorCode(err))
		return err
	}
	if herr := wrongHeader(src, want); herr != nil {
		// The key is answered for first (an unknown key is
		// API_KEY_INVALID, a key of the other kind names its header), but
		// a request refused for its header spends none of the key's budget
		// and is not a use of it.
		_, err := a.svc.Identify(r.Context(), secret, want, ClientAddr(w, r))
		if err == nil {
			err = herr
		}
		a.metrics.authResult(keyward.ErrorCode(err))
		return err
	}
	k, d, err := a.svc.AuthenticateClient(r.Context(), secret, want, service.Client{IP: ClientAddr(w, r), UserAgent: userAgent(r.Header)})
	a.metrics.authResult(keyward.ErrorCode(err))
	setRateLimitHeaders(w.Header(), d)
	if err != nil {
		return err
	}
	ip := ""
	if info := infoOf(w); info != nil {
		info.keyID = k.ID
		ip = info.clientString()
	} else {
		ip = clientaddr.Text(ClientAddr(w, r))
	}
	*into = *service.KeyActor(k, service.Origin{
		IP: ip, UserAgent: truncate(r.Header.Get("User-Agent"), 300), RequestID: requestID(w),
	})
	return nil
}

// setRateLimitHeaders describes a key's rate limit window; nothing when no
// limit applied.
func setRateLimitHeaders(h http.Header, d ratelimit.Decision) {
	if d.Limit == 0 {
		return
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	// Rounded up: a client that waits until then finds a new window.
	reset := d.Reset.Unix()
	if d.Reset.After(time.Unix(reset, 0)) {
		reset++
	}
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
}

// userAgent is the request's User-Agent, read without allocating.
func userAgent(h http.Header) string {
	if v := h["User-Agent"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}
