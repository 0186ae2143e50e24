package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/keyward/keyward"
	"github.com/prometheus/client_golang/prometheus"
)

// listenMetrics starts serving /metrics on its own listener when
// --metrics-addr is set, and returns that server (nil without it). Metrics
// describe the whole node (request counts per route and status, runtime):
// an operator may keep them off the address clients reach, for a scraper
// on a private network.
func (s *Server) listenMetrics() (*http.Server, error) {
	return s.listenAlone(s.metricsAddr, s.api.MetricsHandler(), "metrics")
}

// listenAlone serves h on a listener of its own at addr (nothing when addr
// is empty), with the main server's timeouts, and logs "<what> listening".
func (s *Server) listenAlone(addr string, h http.Handler, what string) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for %s: %w", what, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // room for a 60 s CPU profile
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() { _ = srv.Serve(ln) }()
	s.log.Info(what+" listening", "addr", ln.Addr().String())
	return srv, nil
}

// logTightened warns about database files that others could read, which
// the store made 0600 on opening (SQLite only).
func logTightened(log *slog.Logger, st keyward.Store) {
	if t, ok := st.(interface{ Tightened() []string }); ok {
		for _, f := range t.Tightened() {
			log.Warn("the database file could be read by other users; made it 0600", "file", f)
		}
	}
}

// webhookMetrics registers the webhook attempt metrics on reg and returns
// the function the delivery worker reports each attempt to.
func webhookMetrics(reg *prometheus.Registry) func(eventType string, ok bool, latency time.Duration) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyward_webhook_attempts_total", Help: "Webhook delivery attempts made by this node, by event type and result (success: a 2xx answer).",
	}, []string{"event_type", "result"})
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "keyward_webhook_attempt_seconds", Help: "How long webhook delivery attempts took, answer or not.",
		Buckets: prometheus.DefBuckets,
	})
	reg.MustRegister(attempts, seconds)
	return func(eventType string, ok bool, latency time.Duration) {
		result := "failure"
		if ok {
			result = "success"
		}
		attempts.WithLabelValues(eventType, result).Inc()
		seconds.Observe(latency.Seconds())
	}
}
