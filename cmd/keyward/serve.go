package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/server"
	"github.com/keyward/keyward/internal/service"
	"github.com/spf13/cobra"
)

// pepperEnv holds the digest pepper. It has no flag: a flag's value shows in
// process lists.
const pepperEnv = "KEYWARD_KEY_PEPPER"

func newServeCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the keyward server",
		Long: `Run the keyward server. Every flag can also be set with KEYWARD_<FLAG>,
e.g. KEYWARD_ADDR, KEYWARD_DATABASE. The digest pepper is read from
KEYWARD_KEY_PEPPER only, never from a flag, so it stays out of process lists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			cfg.Pepper = os.Getenv(pepperEnv)
			log, closeLog := newLogger(cmd.ErrOrStderr(), cfg.LogFormat)
			defer closeLog()
			ctx := cmd.Context()
			srv, err := server.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				_ = srv.Store.Close() // the listen error is the one to report
				return fmt.Errorf("listen: %w", err)
			}
			if token, err := srv.Service.NewSetupToken(ctx); err == nil && token != "" {
				base := cfg.PublicURL
				if base == "" {
					base = "http://" + ln.Addr().String()
				}
				// The setup link is for the person starting keyward: it goes to
				// the terminal, not into the structured log.
				// The database is not repeated here: its URL may hold a
				// password, and stderr is often the log.
				fmt.Fprintf(cmd.ErrOrStderr(), "\nkeyward has no organization yet. Open this one-time link within an hour to create the first owner:\n\n    %s/setup?token=%s\n\n(or, for automation, run `keyward bootstrap --org NAME --email EMAIL` with the same --database or KEYWARD_DATABASE as serve)\n\n", base, token)
			}
			if cfg.Pepper == "" {
				log.Warn("KEYWARD_KEY_PEPPER is not set: key digests are plain SHA-256; set a pepper before issuing production keys")
			}
			return srv.Serve(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on (KEYWARD_ADDR)")
	f.StringVar(&cfg.Database, "database", "sqlite:keyward.db", "database URL: sqlite:PATH, or postgres://… for several nodes (KEYWARD_DATABASE)")
	f.StringVar(&cfg.Redis, "redis", "", "Redis URL for multi-node features (KEYWARD_REDIS); optional")
	f.BoolVar(&cfg.SecureCookies, "secure-cookies", false, "mark dashboard cookies Secure; set when users reach keyward over HTTPS (KEYWARD_SECURE_COOKIES)")
	f.StringVar(&cfg.PublicURL, "public-url", "", "URL users reach keyward at, for printed links (KEYWARD_PUBLIC_URL); default http://ADDR")
	f.StringVar(&cfg.LeakReportKeys, "leak-report-keys", "", "a file of the public keys that sign leak reports from secret-scanning services, as they publish them (KEYWARD_LEAK_REPORT_KEYS); default none: POST /v1/leak-reports answers 404")
	f.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve Go's profiles (/debug/pprof/) on this address, for finding where CPU goes; keep it private (KEYWARD_PPROF_ADDR); default: off")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve /metrics on this address alone, not on --addr (KEYWARD_METRICS_ADDR); default: on --addr")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxies", nil, "CIDRs of reverse proxies whose X-Forwarded-For/Forwarded name the client, comma-separated (KEYWARD_TRUSTED_PROXIES); default none: headers ignored")
	durationVar(f, &cfg.CacheLease, "cache-lease", server.DefaultCacheLease, "PostgreSQL: the key cache answers only this long after its last read of the change log, so every node refuses a revoked key within it, whatever fails (KEYWARD_CACHE_LEASE)")
	durationVar(f, &cfg.UsageRetention.Minute, "usage-minute-retention", service.DefaultMinuteRetention, "how long per-minute usage counts are kept (KEYWARD_USAGE_MINUTE_RETENTION)")
	durationVar(f, &cfg.UsageRetention.Hour, "usage-hour-retention", service.DefaultHourRetention, "how long per-hour usage counts are kept (KEYWARD_USAGE_HOUR_RETENTION)")
	durationVar(f, &cfg.UsageRetention.Day, "usage-day-retention", service.DefaultDayRetention, "how long per-day usage counts are kept (KEYWARD_USAGE_DAY_RETENTION)")
	f.BoolVar(&cfg.Webhooks.AllowPrivate, "webhook-allow-private", false, "let webhook endpoints be loopback, private or link-local addresses (KEYWARD_WEBHOOK_ALLOW_PRIVATE); default: refused, so webhooks cannot probe your network")
	durationVar(f, &cfg.Webhooks.Timeout, "webhook-timeout", 10*time.Second, "how long one webhook delivery attempt may take (KEYWARD_WEBHOOK_TIMEOUT)")
	durationVar(f, &cfg.Webhooks.RetryWindow, "webhook-retry-window", outbox.DefaultRetryWindow, "how long a failing webhook delivery is retried before it is marked failed (KEYWARD_WEBHOOK_RETRY_WINDOW)")
	f.StringVar(&cfg.LogFormat, "log-format", "", "log format: json or text (KEYWARD_LOG_FORMAT); default json, text on a terminal")
	return cmd
}
