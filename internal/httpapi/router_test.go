package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRouterSameAsMux sends the same requests through a router and through
// a plain ServeMux with the same routes: the exact table must change
// nothing but speed (same handler, same status, same r.Pattern).
func TestRouterSameAsMux(t *testing.T) {
	routes := [][2]string{
		{"GET", "/v1/whoami"}, {"POST", "/v1/verify"}, {"GET", "/v1/keys"}, {"POST", "/v1/keys"},
		{"GET", "/v1/keys/{id}"}, {"POST", "/v1/keys/{id}/revoke"},
	}
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Handler", name)
			w.Header().Set("Pattern", r.Pattern)
		})
	}
	rt := newRouter(http.NewServeMux())
	plain := http.NewServeMux()
	for _, r := range routes {
		rt.handle(r[0], r[1], handler(r[0]+" "+r[1]))
		plain.Handle(r[0]+" "+r[1], handler(r[0]+" "+r[1]))
	}
	for _, h := range []*http.ServeMux{rt.mux, plain} {
		h.Handle("/", handler("fallback"))
	}
	if len(rt.exact) != 3 {
		t.Fatalf("exact table has %d paths, want the 3 without wildcards", len(rt.exact))
	}

	for _, c := range [][2]string{
		{"GET", "/v1/whoami"}, {"HEAD", "/v1/whoami"}, {"POST", "/v1/whoami"}, {"get", "/v1/whoami"},
		{"GET", "/v1/who%61mi"}, {"GET", "/v1%2Fwhoami"}, {"POST", "/v1%2Fverify"}, {"GET", "/v1//whoami"}, {"GET", "/v1/whoami/"}, {"GET", "/v1/./whoami"},
		{"POST", "/v1/verify"}, {"GET", "/v1/verify"}, {"GET", "/v1/keys"}, {"POST", "/v1/keys"},
		{"DELETE", "/v1/keys"}, {"GET", "/v1/keys/key_1"}, {"POST", "/v1/keys/key_1/revoke"}, {"GET", "/nope"},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		rt.ServeHTTP(got, httptest.NewRequest(c[0], c[1], nil))
		plain.ServeHTTP(want, httptest.NewRequest(c[0], c[1], nil))
		for _, h := range []string{"Handler", "Pattern", "Location", "Allow"} {
			if got.Header().Get(h) != want.Header().Get(h) {
				t.Errorf("%s %s: %s %q, ServeMux gives %q", c[0], c[1], h, got.Header().Get(h), want.Header().Get(h))
			}
		}
		if got.Code != want.Code {
			t.Errorf("%s %s: status %d, ServeMux gives %d", c[0], c[1], got.Code, want.Code)
		}
	}
}
