package httpapi

import (
	"net/http"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/service"
)

// Forward authentication (docs/forward-auth.md): a reverse proxy (nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz)
// asks keyward about the key its client presented, before it lets the
// request through to the API behind it. keyward answers as POST /v1/verify
// does (the same service call, the same cache), in the form the proxies
// understand: 200 with the key's identity in headers, or the error
// contract with the status the client should get.
//
// Two keys take part. The proxy's own, a project key with keys:verify, comes
// in Keyward-Proxy-Key (the proxy's configuration sets it); the client's
// comes in the request headers the proxy copies, x-api-key or
// Authorization: Bearer.

// Request headers of forward authentication.
const (
	// HeaderProxyKey carries the proxy's own key.
	HeaderProxyKey = "Keyward-Proxy-Key"
	// HeaderRequiredScopes lists the scopes the proxied route requires,
	// separated by commas or spaces; given more than once, every list
	// counts.
	HeaderRequiredScopes = "Keyward-Required-Scopes"
)

// HeaderErrorCode is the error's code on every refusal of forward
// authentication, for proxies that drop the body (nginx). The identity
// headers of a 200 are keyward.HeaderKeyID and its siblings.
const HeaderErrorCode = "Keyward-Error-Code"

// forwardAuthRoutes are the forward-authentication routes: the path with
// any method, and the same path with anything after it, for proxies that
// append the client's path (Envoy's path_prefix).
func (a *API) forwardAuthRoutes() []route {
	base := route{
		Auth: authProxy, AnyQuery: true, Hot: true, Out: keyward.Whoami{}, Status: 200, Tag: tagForwardAuth,
		Headers:    []string{"x-api-key", HeaderRequiredScopes, "X-Forwarded-For", "Forwarded"},
		OutHeaders: []string{keyward.HeaderKeyID, keyward.HeaderProjectID, keyward.HeaderOwnerID, keyward.HeaderScopes, keyward.HeaderMetadata},
		Handle:     a.forwardAuth,
	}
	exact, rest := base, base
	exact.Path, exact.ID = "/v1/forward-auth", "forwardAuth"
	exact.Summary = "Forward authentication for a reverse proxy, any method: the client's key (x-api-key or Bearer) is checked as POST /v1/verify checks it, against the scopes in Keyward-Required-Scopes; 200 with the key in Keyward-* headers, or the error the client should get (docs/forward-auth.md)"
	rest.Path, rest.ID = "/v1/forward-auth/{path...}", "forwardAuthWithPath"
	rest.Summary = "The same, for proxies that append the client's path (Envoy's path_prefix); the path is not read"
	return []route{exact, rest}
}

// authenticateProxy resolves the proxy's key (Keyward-Proxy-Key) into
// *into. The proxy presents it, so it is checked against the TCP peer's
// address, not the forwarded client's, and no X-RateLimit-* headers of its
// own are set: they would read as the client's. Any refusal is the
// proxy's configuration at fault: PROXY_MISCONFIGURED, a 5xx, which
// proxies pass on as a failure rather than as the client's fault (only a
// store that cannot be read stays 503 UNAVAILABLE).
func (a *API) authenticateProxy(w http.ResponseWriter, r *http.Request, into *service.Actor) error {
	peer, peerText := peerOf(r.RemoteAddr)
	var k *keyward.Key
	secret, err := proxyCredential(r.Header)
	if err == nil {
		k, _, err = a.svc.AuthenticateClient(r.Context(), secret, keyward.KindProject, service.Client{IP: peer, UserAgent: userAgent(r.Header)})
	}
	a.metrics.authResult(keyward.ErrorCode(err))
	if err != nil {
		return refuse(w, proxyRefused(err, fixProxyKey))
	}
	if info := infoOf(w); info != nil {
		info.keyID = k.ID
	}
	if peerText == "" {
		peerText = clientaddr.Text(peer)
	}
	*into = *service.KeyActor(k, service.Origin{
		IP: peerText, UserAgent: truncate(r.Header.Get("User-Agent"), 300), RequestID: requestID(w),
	})
	return nil
}

// proxyCredential reads Keyward-Proxy-Key: exactly one, not blank.
func proxyCredential(h http.Header) (string, error) {
	vals := h[HeaderProxyKey]
	switch {
	case len(vals) > 1:
		return "", keyward.Errorf(keyward.CodeAmbiguousCredentials, "The %s header appears more than once", HeaderProxyKey)
	case len(vals) == 0 || strings.TrimSpace(vals[0]) == "":
		return "", keyward.Errorf(keyward.CodeAPIKeyMissing, "No %s header", HeaderProxyKey)
	}
	return strings.TrimSpace(vals[0]), nil
}

// What a proxy's configuration must get right, for PROXY_MISCONFIGURED.
const (
	fixProxyKey = "Its " + HeaderProxyKey + " must be a project key with the keys:verify scope, of the project whose keys it checks"
	fixScopes   = "Its " + HeaderRequiredScopes + " must list at most 50 scopes (resource:verb), separated by commas or spaces"
)

// proxyRefused turns a refusal of what the proxy sent into
// PROXY_MISCONFIGURED naming the refusal's code and reason (never a key)
// and what to fix, with the refusal as the cause for the log. UNAVAILABLE
// stays as it is.
func proxyRefused(err error, fix string) error {
	e := keyward.AsError(err)
	if e.Code == keyward.CodeUnavailable {
		return err
	}
	return &keyward.Error{
		Code:    keyward.CodeProxyMisconfigured,
		Message: "The proxy in front of this API is misconfigured: keyward refused what it sent (" + e.Code + ": " + e.Message + "). " + fix,
		Err:     err,
	}
}

// refuse marks err, an answer of the forward-authentication route, with
// its code in Keyward-Error-Code, and returns it.
func refuse(w http.ResponseWriter, err error) error {
	w.Header().Set(HeaderErrorCode, keyward.ErrorCode(err))
	return err
}

// forwardAuth answers a proxy about its client's key.
func (a *API) forwardAuth(c *call) (any, error) {
	scopes, err := requiredScopes(c.r.Header)
	if err != nil {
		return nil, refuse(c.w, err)
	}
	secret, err := clientCredential(c.r.Header)
	if err != nil {
		return nil, refuse(c.w, err)
	}
	in := &c.verifyIn
	*in = keyward.VerifyInput{Key: secret, Scopes: scopes}
	if addr := ClientAddr(c.w, c.r); addr.IsValid() { // no address: no allowlist admits it
		in.IP = addr.String()
	}
	// No Keyward-Min-Change-Seq here, unlike /v1/verify: the proxy copies
	// its client's headers, and a client must not make every answer a
	// store read. The cache's own rules hold (docs/revocation.md).
	res, err := a.svc.Verify(c.r.Context(), c.actor, c.actor.Key.ProjectID, *in)
	if err != nil {
		return nil, refuse(c.w, verifyRefused(err))
	}
	h := c.w.Header()
	if w := res.RateLimit; w != nil {
		setRateLimitHeaders(h, ratelimit.Decision{Limit: w.Limit, Remaining: w.Remaining, Reset: w.Reset})
	}
	if res.Valid && res.Key != nil {
		keyward.SetIdentityHeaders(h, res.Key)
		c.whoami = *a.svc.Whoami(&service.Actor{Key: res.Key})
		return &c.whoami, nil
	}
	return nil, refuse(c.w, a.refusal(res, scopes))
}

// verifyRefused maps an error of the verification itself: a too long
// client key is the client's invalid key; the proxy's key without
// keys:verify, or too many required scopes, the proxy's configuration.
func verifyRefused(err error) error {
	e := keyward.AsError(err)
	switch e.Code {
	case keyward.CodeInvalidRequest:
		if len(e.Details) > 0 && e.Details[0].Field == "key" {
			return errClientKeyInvalid
		}
		return proxyRefused(err, fixScopes)
	case keyward.CodePermissionDenied:
		return proxyRefused(err, fixProxyKey)
	}
	return err
}

var errClientKeyInvalid = keyward.Errorf(keyward.CodeAPIKeyInvalid, "Invalid API key provided")

// refusal is the error a client gets for a key the verification refused:
// the error a request with that key would get from keyward itself.
func (a *API) refusal(res *keyward.VerifyResult, scopes []string) error {
	switch res.Code {
	case keyward.VerifyInvalid:
		return errClientKeyInvalid
	case keyward.VerifyExpired:
		return keyward.Errorf(keyward.CodeAPIKeyExpired, "This API key has expired")
	case keyward.VerifyInsufficientScope:
		return keyward.Denied("This API key lacks a scope this route requires (it requires %s)", strings.Join(scopes, ", "))
	case keyward.VerifyIPNotAllowed:
		return keyward.Errorf(keyward.CodeIPNotAllowed, "This API key may not be used from this address")
	case keyward.VerifyRateLimited:
		e := keyward.Errorf(keyward.CodeRateLimited, "This API key is over its rate limit; try again later")
		if w := res.RateLimit; w != nil {
			e.RetryAfter = max(w.Reset.Sub(a.svc.Now()), 0)
		}
		return e
	}
	// A code this version does not know: fail closed.
	return keyward.Errorf(keyward.CodeInternal, "unknown verify result %q", res.Code)
}

// requiredScopes reads Keyward-Required-Scopes: names separated by commas
// or spaces, in any number of header lines. A name that cannot be a scope
// (keyward.ValidScopeName) is the proxy's mistake, refused rather than left
// to fail every client.
func requiredScopes(h http.Header) ([]string, error) {
	var scopes []string
	for _, line := range h[HeaderRequiredScopes] {
		for name := range strings.FieldsFuncSeq(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if !keyward.ValidScopeName(name) {
				return nil, proxyRefused(keyward.Invalid(keyward.FieldError{Field: HeaderRequiredScopes,
					Problem: "names a scope that cannot exist: " + truncate(strings.ToValidUTF8(name, "?"), 60)}), fixScopes)
			}
			scopes = append(scopes, name)
		}
	}
	return scopes, nil
}
