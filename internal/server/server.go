package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/dashboard"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Server is a configured keyward server.
type Server struct {
	Store   keyward.Store
	Service *service.Service
	Handler http.Handler
	log     *slog.Logger
}

// New opens the store and builds the service and API.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	svc, err := service.New(service.Config{Store: st, Pepper: []byte(cfg.Pepper), Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dash := dashboard.New(dashboard.Config{Service: svc, Logger: log, Secure: cfg.SecureCookies})
	api := httpapi.New(httpapi.Config{Service: svc, Logger: log, Registry: reg, Fallback: dash})
	return &Server{Store: st, Service: svc, Handler: api, log: log}, nil
}

// Serve answers on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (up to 10 s), flushes pending
// last-used times and closes the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	usageDone := make(chan struct{})
	go func() { s.Service.Run(bg); close(usageDone) }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("keyward listening", "addr", ln.Addr().String())

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		serveErr = srv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	<-usageDone
	if err := s.Store.Close(); err != nil {
		s.log.Error("closing the store", "err", err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}
