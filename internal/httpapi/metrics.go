package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/hotcount"
	"github.com/keyward/keyward/internal/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus series. Labels carry route patterns,
// statuses and result names: never ids or secrets.
type metrics struct {
	requests *prometheus.CounterVec
	duration *durations
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
	duration *hotcount.Histogram
}

// observe counts one request of route that ended with status after d.
func (m *metrics) observe(route string, status int, d time.Duration) {
	key := routeStatus{route, status}
	v, ok := m.children.Load(key)
	if !ok {
		v, _ = m.children.LoadOrStore(key, &routeSeries{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.duration.of(route),
		})
	}
	rs := v.(*routeSeries)
	rs.requests.Inc()
	rs.duration.Observe(d)
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
		duration: newDurations(),
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

// durationBounds are the request duration histogram's buckets.
var durationBounds = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
}

// durations is keyward_http_request_duration_seconds: a histogram per
// route, kept by hotcount (every request observes one) and handed to
// Prometheus when it scrapes.
type durations struct {
	desc    *prometheus.Desc
	byRoute sync.Map // route -> *hotcount.Histogram
}

func newDurations() *durations {
	return &durations{desc: prometheus.NewDesc("keyward_http_request_duration_seconds",
		"HTTP request duration by route pattern.", []string{"route"}, nil)}
}

// of returns route's histogram.
func (d *durations) of(route string) *hotcount.Histogram {
	h, ok := d.byRoute.Load(route)
	if !ok {
		h, _ = d.byRoute.LoadOrStore(route, hotcount.NewHistogram(durationBounds))
	}
	return h.(*hotcount.Histogram)
}

func (d *durations) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *durations) Collect(ch chan<- prometheus.Metric) {
	d.byRoute.Range(func(route, h any) bool {
		s := h.(*hotcount.Histogram).Snapshot()
		buckets := make(map[float64]uint64, len(s.Bounds))
		for i, b := range s.Bounds {
			buckets[b.Seconds()] = s.Cumulative[i]
		}
		ch <- prometheus.MustNewConstHistogram(d.desc, s.Count, s.Sum.Seconds(), buckets, route.(string))
		return true
	})
}
