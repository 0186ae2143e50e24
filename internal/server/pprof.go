package server

import (
	"net/http"
	"net/http/pprof"
)

// listenPprof starts serving Go's profiles (net/http/pprof, under
// /debug/pprof/) on their own listener when --pprof-addr is set, and
// returns that server (nil without it). Profiles show the process's
// internals, never a secret it holds, but they cost CPU while taken:
// keep the address private (loopback), as for a debugger.
func (s *Server) listenPprof() (*http.Server, error) {
	if s.pprofAddr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return s.listenAlone(s.pprofAddr, mux, "profiles")
}
