package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus series. Labels carry route patterns,
// statuses and result names: never ids or secrets.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	auth     *prometheus.CounterVec
	// authByCode holds auth's series for each error code ("" = valid).
	authByCode map[string]prometheus.Counter

	// children caches the series of each route and status: looking a
	// series up by label values hashes them on every request.
	children sync.Map // routeStatus -> *routeSeries
}

type routeStatus struct {
	route  string
	status int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one request of route that ended with status after d.
func (m *metrics) observe(route string, status int, d time.Duration) {
	key := routeStatus{route, status}
	v, ok := m.children.Load(key)
	if !ok {
		v, _ = m.children.LoadOrStore(key, &routeSeries{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	rs := v.(*routeSeries)
	rs.requests.Inc()
	rs.duration.Observe(d.Seconds())
}

// registerCacheMetrics exposes the verification cache's state, read when
// Prometheus scrapes.
func registerCacheMetrics(reg prometheus.Registerer, c *verify.Cache) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyward_key_cache_entries", Help: "Keys (and known-unknown digests) in the verification cache.",
		}, func() float64 { return float64(c.Stats().Entries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyward_key_cache_hits_total", Help: "Verifications answered from the cache.",
		}, func() float64 { return float64(c.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyward_key_cache_misses_total", Help: "Verifications that read the store.",
		}, func() float64 { return float64(c.Stats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyward_key_cache_trusted", Help: "1 once this node follows the key change log (its cache may answer), else 0.",
		}, func() float64 {
			if c.Trusted() {
				return 1
			}
			return 0
		}),
	)
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
	m.authByCode = map[string]prometheus.Counter{authOther: m.auth.WithLabelValues("error")}
	for code, result := range authResults {
		m.authByCode[code] = m.auth.WithLabelValues(result)
	}
	return m
}

// authResults names each authentication outcome for the metric's label.
var authResults = map[string]string{
	"":                               "valid",
	keyward.CodeAPIKeyMissing:        "missing",
	keyward.CodeAPIKeyInvalid:        "invalid",
	keyward.CodeAPIKeyExpired:        "expired",
	keyward.CodeIPNotAllowed:         "ip_denied",
	keyward.CodeRateLimited:          "rate_limited",
	keyward.CodePermissionDenied:     "wrong_kind",
	keyward.CodeAmbiguousCredentials: "ambiguous",
	keyward.CodeUnavailable:          "unavailable",
}

// authResult counts one authentication by its outcome.
func (m *metrics) authResult(code string) {
	c, ok := m.authByCode[code]
	if !ok {
		c = m.authByCode[authOther]
	}
	c.Inc()
}

// authOther stands for codes without a result name of their own.
const authOther = "\x00other"
