package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/dashboard"
	"github.com/keyward/keyward/internal/feeds"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/verify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
)

// Server is a configured keyward server.
type Server struct {
	Store   keyward.Store
	Service *service.Service
	Handler http.Handler
	// Watcher keeps the cache in step with the store's change log: other
	// nodes' changes on PostgreSQL, and on SQLite this node's own, so that
	// change streams (GET /v1/key-changes) work the same on both.
	Watcher *verify.Watcher
	// Outbox sends webhook deliveries (every node runs one).
	Outbox *outbox.Worker
	api    *httpapi.API
	log    *slog.Logger
	// store and feed name the store ("sqlite", "postgres") and the
	// invalidation feed ("local", "postgres", "redis") for the start line.
	store, feed string
	proxies     clientaddr.Proxies
	closers     []func() error
	metricsAddr string // Config.MetricsAddr
	pprofAddr   string // Config.PprofAddr
}

// New opens the store and builds the service and API.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	proxies, err := clientaddr.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	var leakKeys httpapi.LeakReportKeys
	if cfg.LeakReportKeys != "" {
		b, err := os.ReadFile(cfg.LeakReportKeys)
		if err != nil {
			return nil, fmt.Errorf("--leak-report-keys: %w", err)
		}
		if leakKeys, err = httpapi.ParseLeakReportKeys(b); err != nil {
			return nil, fmt.Errorf("--leak-report-keys %s: %w", cfg.LeakReportKeys, err)
		}
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	srv := &Server{Store: st, log: log, store: "sqlite", feed: "local", metricsAddr: cfg.MetricsAddr, pprofAddr: cfg.PprofAddr, proxies: proxies}
	logTightened(log, st)
	scfg := service.Config{Store: st, Pepper: []byte(cfg.Pepper), Logger: log, PublicURL: cfg.publicURL(), UsageRetention: cfg.UsageRetention,
		WebhookAllowPrivate: cfg.Webhooks.AllowPrivate}
	// Every node of a PostgreSQL store hears PostgreSQL's NOTIFY, which
	// each key write sends in its own transaction; with --redis it also
	// hears Redis. Either wakes it, so fleets that mix both (as during a
	// rolling change to --redis) stay in step.
	var heard []verify.Feed
	var lease time.Duration
	if isPostgres(cfg.Database) {
		if lease, err = cfg.cacheLease(); err != nil {
			_ = st.Close() // the error below is the one to report
			return nil, err
		}
		heard = append(heard, &feeds.Postgres{URL: cfg.Database, Logger: log})
		srv.store, srv.feed = "postgres", "postgres"
		if cfg.Redis != "" {
			opts, err := redis.ParseURL(cfg.Redis)
			if err != nil {
				_ = st.Close() // the error below is the one to report
				return nil, fmt.Errorf("redis: the URL is not valid (redis://[:password@]host:port[/db])")
			}
			rf := &feeds.Redis{Client: redis.NewClient(feedOptions(opts)), Logger: log}
			heard, scfg.Announce = append(heard, rf), rf.Announce
			srv.feed = "postgres+redis"
			srv.closers = append(srv.closers, rf.Client.Close)
			rl := redis.NewClient(limiterOptions(opts))
			scfg.Limiter = ratelimit.NewRedis(rl, "")
			srv.closers = append(srv.closers, rl.Close)
		}
	} else {
		if cfg.Redis != "" {
			log.Warn("--redis is ignored with SQLite: a SQLite store has one node")
		}
		local := verify.NewLocalFeed()
		heard, scfg.Announce = append(heard, local), local.Announce
	}
	svc, err := service.New(scfg)
	if err != nil {
		_ = st.Close() // the error below is the one to report
		return nil, err
	}
	srv.Watcher = &verify.Watcher{Cache: svc.Cache(), Log: st, Feeds: heard, Lease: lease, Logger: log}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv.Outbox = outbox.New(outbox.Config{
		Store: st, Secret: svc.WebhookSecret, Logger: log, AllowPrivate: cfg.Webhooks.AllowPrivate,
		Timeout: cfg.Webhooks.Timeout, RetryWindow: cfg.Webhooks.RetryWindow, RetryBase: cfg.Webhooks.RetryBase,
		Observe: webhookMetrics(reg),
	})
	svc.OnWebhook(srv.Outbox.Nudge)
	dash := dashboard.New(dashboard.Config{Service: svc, Logger: log, Secure: cfg.SecureCookies})
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "keyward_invalidation_lag_seconds", Help: "Delay between a key change's commit and its application on this node (last change).",
	}, srv.Watcher.LagSeconds))
	for _, f := range heard {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyward_invalidation_feed_up", Help: "1 while the invalidation feed is proven alive (its heartbeat answers), else 0.",
			ConstLabels: prometheus.Labels{"feed": f.Name()},
		}, func() float64 { return b2f(srv.Watcher.FeedsUp()[f.Name()]) }))
	}
	if lease > 0 {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyward_change_log_read_age_seconds", Help: "How long ago the last successful read of the key change log began; the key cache answers from memory only while this is under the cache lease.",
		}, func() float64 {
			age, _ := svc.Cache().LeaseAge()
			return age.Seconds()
		}))
	}
	api := httpapi.New(httpapi.Config{Service: svc, Logger: log, Registry: reg, Fallback: dash, MetricsElsewhere: cfg.MetricsAddr != "",
		TrustedProxies: proxies, Feeds: srv.Watcher.FeedsUp, LeakReportKeys: leakKeys})
	srv.Service, srv.Handler, srv.api = svc, api, api
	return srv, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// feedOptions derives the invalidation feed's Redis client: its context
// deadlines bound every call, so a heartbeat published into a paused Redis
// fails when its deadline passes.
func feedOptions(o *redis.Options) *redis.Options {
	f := *o
	f.ContextTimeoutEnabled = true
	return &f
}

// limiterOptions derives the rate limiter's Redis client from the feed's:
// its own connections, short timeouts and no retries, since every request
// with a rate-limited key waits for it, and a Redis outage should cost one
// quick failure (after which the service stops asking for a few seconds).
func limiterOptions(feed *redis.Options) *redis.Options {
	o := *feed
	o.DialTimeout = time.Second
	o.ReadTimeout = 250 * time.Millisecond
	o.WriteTimeout = 250 * time.Millisecond
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	return &o
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
	// Event streams never end by themselves: close them when shutdown
	// begins, so that it waits only for ordinary requests.
	srv.RegisterOnShutdown(s.api.CloseStreams)
	metrics, err := s.listenMetrics()
	if err != nil {
		_ = ln.Close()
		_ = s.Store.Close()
		return err
	}
	profiles, err := s.listenPprof()
	if err != nil {
		if metrics != nil {
			_ = metrics.Close()
		}
		_ = ln.Close()
		_ = s.Store.Close()
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	usageDone := make(chan struct{})
	go func() { s.Service.Run(bg); close(usageDone) }()
	go s.Watcher.Run(bg)
	outboxDone := make(chan struct{})
	go func() { s.Outbox.Run(bg); close(outboxDone) }()
	go s.Service.RunNotices(bg)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.proxies.Empty() {
		s.log.Info("keyward listening", "addr", ln.Addr().String(), "store", s.store, "feed", s.feed)
	} else {
		s.log.Info("keyward listening", "addr", ln.Addr().String(), "store", s.store, "feed", s.feed, "trusted_proxies", s.proxies.String())
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		serveErr = srv.Shutdown(sctx)
		cancel()
	}
	if metrics != nil {
		_ = metrics.Close()
	}
	if profiles != nil {
		_ = profiles.Close()
	}
	stopBG()
	<-usageDone
	<-outboxDone
	if err := s.Store.Close(); err != nil {
		s.log.Error("closing the store", "err", err)
	}
	for _, c := range s.closers {
		_ = c()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}
