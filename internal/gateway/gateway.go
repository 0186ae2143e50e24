// Package gateway is `keyward proxy`: a reverse proxy that lets through
// only requests carrying a valid keyward key, for teams without a proxy of
// their own. Keys are verified in this process by the SDK's LocalCache
// (the change stream, the same rules as a keyward node, failing closed),
// through the SDK's Middleware (the same answers as any protected
// service: 401, 403, 429 with Retry-After and X-RateLimit-*, 503 when
// keyward cannot be asked). A request let through goes upstream without
// the key and with the key's identity in Keyward-* headers; headers of
// that name sent by the client are dropped first, so the upstream can
// trust them.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/clientaddr"
)

// Options build a Gateway.
type Options struct {
	Upstream *url.URL
	Routes   []Route // nil: DefaultRoutes
	Client   *client.Client
	Local    *client.LocalCache // verifies in process
	Logger   *slog.Logger
	Metrics  *Metrics // nil: not counted
	// Transport reaches the upstream; nil: a tuned http.Transport.
	Transport http.RoundTripper
	// Proxies in front of the gateway (a load balancer) whose
	// X-Forwarded-For or Forwarded name the client, for keys' IP
	// allowlists; zero: the TCP peer is the client.
	Proxies clientaddr.Proxies
}

// New returns the gateway's handler: routes, each behind the SDK's
// middleware with its scopes, in front of one reverse proxy.
func New(o Options) (http.Handler, error) {
	if o.Upstream == nil {
		return nil, errors.New("gateway: no upstream")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	routes := o.Routes
	if len(routes) == 0 {
		routes = DefaultRoutes
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(o.Upstream)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // the host the client asked for, as most proxies keep it
			prepare(pr.Out.Header, pr.In)
		},
		Transport: o.Transport,
		ErrorLog:  slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return // the client went away: nobody to answer, nothing wrong upstream
			}
			o.Logger.LogAttrs(r.Context(), slog.LevelWarn, "upstream failed", slog.String("path", r.URL.Path), slog.String("err", err.Error()))
			writeError(w, http.StatusBadGateway, keyward.CodeUnavailable, "The upstream service did not answer")
		},
	}
	if rp.Transport == nil {
		rp.Transport = upstreamTransport()
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		var h http.Handler = rp
		if !rt.Public {
			opts := []client.MiddlewareOption{client.WithLocalCache(o.Local), client.WithLogger(o.Logger), client.WithClientIP(o.clientIP)}
			if len(rt.Scopes) > 0 {
				opts = append(opts, client.RequireScopes(rt.Scopes...))
			}
			h = client.Middleware(o.Client, opts...)(rp)
		}
		if o.Metrics != nil {
			h = o.Metrics.count(rt.Match, h)
		}
		if err := register(mux, rt.Match, h); err != nil {
			return nil, err
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, http.StatusNotFound, keyward.CodeNotFound, "No route of this proxy matches the request")
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// clientIP is the address of the client behind r (see Options.Proxies).
func (o Options) clientIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return o.Proxies.Client(ap.Addr().Unmap(), r.Header).String()
}

// register adds a route, turning the ServeMux's panic on a bad or
// conflicting pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("gateway: route " + pattern + ": " + strings.TrimPrefix(toString(p), "http: "))
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func toString(v any) string {
	if e, ok := v.(error); ok {
		return e.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return "invalid route"
}

// prepare makes the outgoing headers: the client's key and every
// Keyward-* header it sent removed, then the verified key's identity (put
// in the request's context by the middleware) added.
func prepare(h http.Header, in *http.Request) {
	h.Del("X-Api-Key")
	if auth := h.Values("Authorization"); len(auth) > 0 {
		h.Del("Authorization")
		for _, v := range auth {
			if scheme, _, _ := strings.Cut(strings.TrimSpace(v), " "); !strings.EqualFold(scheme, "Bearer") {
				h.Add("Authorization", v) // Basic and others are the upstream's business
			}
		}
	}
	for name := range h {
		if strings.HasPrefix(name, "Keyward-") {
			delete(h, name)
		}
	}
	k, ok := client.KeyFromContext(in.Context())
	if !ok {
		return
	}
	h.Set(keyward.HeaderKeyID, k.ID)
	h.Set(keyward.HeaderProjectID, k.ProjectID)
	keyward.SetIdentityHeaders(h, k)
}

// upstreamTransport reaches the upstream: bounded connection set-up and
// response headers wait, no bound on bodies (streams, SSE, WebSockets).
func upstreamTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // the upstream is named; no HTTP_PROXY detour
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// writeError answers with keyward's error contract.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	id := keyward.NewID(keyward.PrefixRequest)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Request-Id", id)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]*keyward.Error{"error": {Code: code, Message: msg, Status: status, RequestID: id}})
}
