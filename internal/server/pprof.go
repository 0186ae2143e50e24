package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
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
	ln, err := net.Listen("tcp", s.pprofAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for profiles: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() { _ = srv.Serve(ln) }()
	s.log.Info("profiles listening", "addr", ln.Addr().String())
	return srv, nil
}
