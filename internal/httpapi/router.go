package httpapi

import (
	"net/http"
	"strings"
)

// router finds the handler of a request. A route without wildcards (every
// route an API behind keyward calls per request: GET /v1/whoami, POST
// /v1/verify) is found with one map lookup of the path; everything else
// goes to the ServeMux, which also handles HEAD, unclean or escaped paths,
// 405s and the fallback. Both set r.Pattern, which logs and metrics name routes by.
type router struct {
	exact map[string][]exactRoute // by path
	mux   *http.ServeMux
}

type exactRoute struct {
	method  string
	pattern string
	h       http.Handler
}

func newRouter(mux *http.ServeMux) *router {
	return &router{exact: map[string][]exactRoute{}, mux: mux}
}

// handle registers h for method and path, on the ServeMux and, when path
// has no wildcard, in the exact table.
func (rt *router) handle(method, path string, h http.Handler) {
	pattern := method + " " + path
	rt.mux.Handle(pattern, h)
	if !strings.Contains(path, "{") {
		rt.exact[path] = append(rt.exact[path], exactRoute{method: method, pattern: pattern, h: h})
	}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawPath != "" { // escapes: ServeMux decides (a %2F is not a slash)
		rt.mux.ServeHTTP(w, r)
		return
	}
	for _, e := range rt.exact[r.URL.Path] {
		if e.method == r.Method {
			r.Pattern = e.pattern
			e.h.ServeHTTP(w, r)
			return
		}
	}
	rt.mux.ServeHTTP(w, r)
}
