package httpapi

import (
	"github.com/keyward/keyward"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus series. Labels carry route patterns,
// statuses and result names: never ids or secrets.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	auth     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyward_http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyward_auth_results_total", Help: "Key authentication results.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.requests, m.duration, m.auth)
	return m
}

// authResult counts one authentication by its outcome.
func (m *metrics) authResult(code string) {
	result := map[string]string{
		"":                               "valid",
		keyward.CodeAPIKeyMissing:        "missing",
		keyward.CodeAPIKeyInvalid:        "invalid",
		keyward.CodeAPIKeyExpired:        "expired",
		keyward.CodeIPNotAllowed:         "ip_denied",
		keyward.CodeRateLimited:          "rate_limited",
		keyward.CodePermissionDenied:     "wrong_kind",
		keyward.CodeAmbiguousCredentials: "ambiguous",
		keyward.CodeUnavailable:          "unavailable",
	}[code]
	if result == "" && code != "" {
		result = "error"
	}
	m.auth.WithLabelValues(result).Inc()
}
