// Package httpapi is keyward's JSON API (docs/openapi.json): routing, credential
// parsing, strict request decoding, the error contract (README, Error codes), request
// ids, logs, metrics and the OpenAPI document. It translates HTTP into
// service calls and decides nothing itself.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config holds what the API needs.
type Config struct {
	Service  *service.Service
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here and served at /metrics
	// Fallback, when set, serves every path outside the API (/v1/…,
	// /healthz, /readyz, /metrics, /openapi.json): the dashboard. It runs
	// behind the same request ids, logs and metrics.
	Fallback http.Handler
	// MetricsElsewhere, when set, leaves /metrics out of this handler (it
	// answers 404): the server serves MetricsHandler on a listener of its
	// own (--metrics-addr).
	MetricsElsewhere bool
	// TrustedProxies are the peers whose X-Forwarded-For and Forwarded
	// headers name the client (--trusted-proxies); none by default.
	TrustedProxies clientaddr.Proxies
	// Feeds, when set, reports each invalidation feed's health for
	// /readyz.
	Feeds func() map[string]bool
	// LeakReportKeys, when set, opens POST /v1/leak-reports to reports
	// signed by these keys.
	LeakReportKeys LeakReportKeys
}

// API is the HTTP handler of the JSON API.
type API struct {
	svc            *service.Service
	log            *slog.Logger
	metrics        *metrics
	handler        http.Handler
	metricsHandler http.Handler // GET /metrics: Prometheus' text format
	proxies        clientaddr.Proxies
	feeds          func() map[string]bool // Config.Feeds
	leakKeys       LeakReportKeys         // Config.LeakReportKeys
	closing        chan struct{}          // closed by CloseStreams
	closeMu        sync.Once
}

// New builds the API and its routes.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	a := &API{svc: cfg.Service, log: cfg.Logger, metrics: newMetrics(cfg.Registry), proxies: cfg.TrustedProxies, feeds: cfg.Feeds, leakKeys: cfg.LeakReportKeys, closing: make(chan struct{})}
	registerCacheMetrics(cfg.Registry, cfg.Service.Cache())
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range a.routes() {
		h := a.adapt(rt)
		if !rt.Hot && !rt.Stream {
			h = bounded(h)
		}
		if rt.Method == "" { // every method: no 405 for this path
			mux.Handle(rt.Path, h)
			continue
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	// The same paths with any other method: 405 in the error contract.
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, r, keyward.Errorf(keyward.CodeMethodNotAllowed, "Method %s is not allowed here; use %s", r.Method, allow))
		})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, keyward.Errorf(keyward.CodeNotFound, "No such route: %s %s", r.Method, truncate(r.URL.Path, 100)))
	}
	a.metricsHandler = promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})
	if cfg.MetricsElsewhere {
		mux.HandleFunc("GET /metrics", notFound)
	} else {
		mux.Handle("GET /metrics", a.metricsHandler)
	}
	mux.HandleFunc("/v1/", notFound)
	if cfg.Fallback != nil {
		mux.Handle("/", bounded(cfg.Fallback))
	} else {
		mux.HandleFunc("/", notFound)
	}
	a.handler = a.observe(mux)
	return a
}

// requestTimeout bounds every request but the hot routes' and the event
// streams': whatever the store does, a request ends, its store calls
// canceled, after this long. Writes that touch many keys (a project's
// deletion) fit well within it.
const requestTimeout = 10 * time.Second

// bounded runs h with requestTimeout as its request's deadline.
func bounded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// MetricsHandler serves the metrics (GET /metrics) on a listener of
// their own, for MetricsElsewhere; other paths and methods get 404.
func (a *API) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// CloseStreams ends every open event stream, so that a graceful shutdown
// need not wait for them (http.Server.RegisterOnShutdown).
func (a *API) CloseStreams() { a.closeMu.Do(func() { close(a.closing) }) }

// call is one request as a handler sees it. It lives in the request's
// state (see reqState), and holds the values the two per-request answers
// need, so that they cost no allocations of their own.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	actor *service.Actor // the key's actor (keyActor), for routes with a key

	keyActor service.Actor
	whoami   keyward.Whoami
	verifyIn keyward.VerifyInput
}

// adapt turns a route into an http.Handler: authenticate as the route
// requires, run the handler, render its result or error.
func (a *API) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *call
		if st := stateOf(w); st != nil {
			c = &st.call
		} else {
			c = new(call)
		}
		*c = call{w: w, r: r}
		if rt.Auth != authNone {
			var err error
			if rt.Auth == authProxy {
				err = a.authenticateProxy(w, r, &c.keyActor)
			} else {
				err = a.authenticate(w, r, rt.Auth.kind(), &c.keyActor)
			}
			if err != nil {
				writeError(w, r, err)
				return
			}
			c.actor = &c.keyActor
		}
		// After authentication, as a body is read: who may not call the
		// route learns nothing of what it takes. /healthz, /readyz and
		// /openapi.json answer whatever a probe or a tool appends.
		if r.URL.RawQuery != "" && strings.HasPrefix(rt.Path, "/v1/") && !rt.AnyQuery {
			if err := checkQuery(r.URL.RawQuery, rt.Query); err != nil {
				writeError(w, r, err)
				return
			}
		}
		out, err := rt.Handle(c)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if rt.Stream {
			return
		}
		if rt.Status == http.StatusNoContent {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ws, ok := out.(withStatus); ok {
			writeJSON(w, ws.status, ws.body)
			return
		}
		writeJSON(w, rt.Status, out)
	})
}

// withStatus is a handler's result answered with the route's AltStatus
// instead of its Status.
type withStatus struct {
	status int
	body   any
}
