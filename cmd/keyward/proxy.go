package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/gateway"
)

// proxyFlags are `keyward proxy`'s settings.
type proxyFlags struct {
	listen, upstream, config, adminAddr, logFormat string
	trustedProxies                                 []string
}

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run a reverse proxy that lets through only requests with a valid key",
		Long: `Run a gateway in front of your API: every request must carry a valid
keyward key (x-api-key or Authorization: Bearer) with the scopes its route
requires; the key is verified in this process (the SDK's local cache,
following keyward's change stream; when keyward cannot be asked the
proxy refuses with 503). The key is removed before the request goes
upstream, and the key's identity is added in Keyward-Key-Id,
Keyward-Project-Id, Keyward-Owner-Id, Keyward-Scopes and Keyward-Metadata
(any such header the client sent is dropped).

The proxy verifies with the project key in KEYWARD_API_KEY (it needs the
keys:verify scope) at KEYWARD_URL. Routes, their scopes and public paths
come from --config, a JSON file checked at start (errors name the line):

  {"routes": [
    {"match": "GET /orders/", "scopes": ["orders:read"]},
    {"match": "POST /orders", "scopes": ["orders:write"]},
    {"match": "GET /status", "public": true}
  ]}

Without --config every path needs a valid key and no scope; with it, a
path no route matches is refused (404). /healthz, /readyz (200 while
keys are verified from memory) and /metrics are served on --admin-addr.
Every flag can also be set with KEYWARD_<FLAG>.`,
		Example: `  KEYWARD_API_KEY=kwp_… keyward proxy --upstream http://127.0.0.1:3000
  keyward proxy --listen 0.0.0.0:9000 --upstream http://app:3000 --config routes.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			log, closeLog := newLogger(cmd.ErrOrStderr(), f.logFormat)
			defer closeLog()
			return runProxy(cmd.Context(), f, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9000", "address to listen on (KEYWARD_LISTEN)")
	fl.StringVar(&f.upstream, "upstream", "", "the API to protect, http://HOST:PORT (KEYWARD_UPSTREAM); overrides the config file's")
	fl.StringVar(&f.config, "config", "", "routes, scopes and public paths, a JSON file (KEYWARD_CONFIG)")
	fl.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9001", "address of /healthz, /readyz and /metrics (KEYWARD_ADMIN_ADDR); empty: none")
	fl.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "CIDRs of load balancers in front of the proxy whose X-Forwarded-For/Forwarded name the client, for keys' IP allowlists (KEYWARD_TRUSTED_PROXIES); default none")
	fl.StringVar(&f.logFormat, "log-format", "", "log format: json or text (KEYWARD_LOG_FORMAT); default json, text on a terminal")
	return cmd
}

// runProxy checks everything it can before it listens (the file, the
// upstream, the verifier key and its scope), then serves until ctx ends
// and shuts down gracefully.
func runProxy(ctx context.Context, f proxyFlags, log *slog.Logger) error {
	cfg := &gateway.Config{}
	if f.config != "" {
		var err error
		if cfg, err = gateway.LoadConfig(f.config); err != nil {
			return err
		}
	}
	if f.upstream != "" {
		cfg.Upstream = f.upstream
	}
	if cfg.Upstream == "" {
		return errors.New("no upstream: pass --upstream http://HOST:PORT (or KEYWARD_UPSTREAM, or \"upstream\" in --config)")
	}
	up, err := url.Parse(cfg.Upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return fmt.Errorf("upstream %q: want http://HOST[:PORT] or https://…", cfg.Upstream)
	}
	proxies, err := clientaddr.ParseProxies(f.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	c, err := client.New()
	if err != nil {
		return err
	}
	lc := client.NewLocalCache(c, client.LocalCacheOptions{Logger: log})
	runCtx, stopCache := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCache()
	if err := lc.Start(runCtx); err != nil { // names KEYWARD_API_KEY or the keys:verify scope
		return err
	}
	metrics := gateway.NewMetrics()
	h, err := gateway.New(gateway.Options{Upstream: up, Routes: cfg.Routes, Client: c, Local: lc, Logger: log, Metrics: metrics, Proxies: proxies})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var admin *http.Server
	if f.adminAddr != "" {
		if admin, err = listenAdmin(f.adminAddr, lc, metrics, log); err != nil {
			_ = ln.Close()
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("keyward proxy listening", "addr", ln.Addr().String(), "upstream", up.String(), "routes", max(len(cfg.Routes), 1))

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		serveErr = srv.Shutdown(sctx)
		cancel()
	}
	if admin != nil {
		_ = admin.Close()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// listenAdmin serves /healthz (the process is up), /readyz (keys are
// verified from memory: the change stream is live) and /metrics.
func listenAdmin(addr string, lc *client.LocalCache, m *gateway.Metrics, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for /healthz and /metrics: %w", err)
	}
	mux := http.NewServeMux()
	status := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		status(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if lc.Live() {
			status(w, http.StatusOK, map[string]any{"status": "ok", "cache": "live"})
			return
		}
		// Still serving, asking keyward for every key: not ready for a
		// load balancer that can choose a better instance.
		status(w, http.StatusServiceUnavailable, map[string]any{"status": "degraded", "cache": "asking keyward for every key"})
	})
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Info("admin listening", "addr", ln.Addr().String())
	return srv, nil
}
