package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/keyward/keyward"
)

// BenchmarkGateway is one request through the gateway's handler (a valid
// key answered from memory, a route with a scope) against the same
// request through a bare httputil.ReverseProxy, both to the same upstream
// over loopback.
func BenchmarkGateway(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer upstream.Close()
	upURL, _ := url.Parse(upstream.URL)
	s := newBenchSetup(b, upURL)
	k := s.kw.MustKey(b, nil, s.pid, keyward.CreateKeyInput{Name: "bench", Scopes: []string{"orders:read"}})
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(upURL); pr.SetXForwarded() }}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"gateway", s.handler}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/orders/1", nil)
				req.Header.Set("x-api-key", k.Secret)
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body.String())
				}
			}
		})
	}
}
