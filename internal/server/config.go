// Package server wires keyward together: configuration, the store, the
// service, the HTTP API, and an http.Server with graceful shutdown.
package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/postgres"
	"github.com/keyward/keyward/internal/store/sqlite"
)

// Config is the server's configuration. Every field has a flag and a
// KEYWARD_* environment variable (see cmd/keyward).
type Config struct {
	Addr      string // listen address, default 127.0.0.1:8080
	Database  string // sqlite:PATH (default sqlite:keyward.db) or postgres://…
	Redis     string // optional redis:// URL (used from the multi-node release on)
	Pepper    string // KEYWARD_KEY_PEPPER: HMAC key for key digests
	LogFormat string // "json", "text" or "" (json unless stderr is a terminal)
	// SecureCookies marks session cookies Secure: set it when users reach
	// keyward over HTTPS (directly or through a TLS-terminating proxy).
	SecureCookies bool
	// PublicURL is the address users reach keyward at, for links keyward
	// prints and shows (the first-start setup link, password reset and
	// invitation links); default http://ADDR. Links never take the host
	// from a request's Host header.
	PublicURL string
	// MetricsAddr, when set, is the address /metrics is served on, alone;
	// the main listener then answers 404 there. Empty: /metrics is on Addr.
	MetricsAddr string
	// PprofAddr, when set, is the address Go's profiles are served on
	// (/debug/pprof/), alone; empty: nowhere.
	PprofAddr string
	// LeakReportKeys, when set, is a file of the public keys that sign leak
	// reports from secret-scanning services (docs/leaks.md); empty: POST
	// /v1/leak-reports answers 404.
	LeakReportKeys string
	// TrustedProxies are CIDRs (or addresses) of reverse proxies whose
	// X-Forwarded-For and Forwarded headers name the client. Empty: the
	// client is always the TCP peer and those headers are ignored.
	TrustedProxies []string
	// CacheLease bounds how stale a node's key cache may be on PostgreSQL:
	// the cache answers only within this long of a successful read of the
	// change log, so a revoked key is refused by every node within it,
	// whatever fails. 0: DefaultCacheLease. Unused with SQLite.
	CacheLease time.Duration
	// UsageRetention says how long usage counts are kept per bucket size
	// (zero fields: the service's defaults).
	UsageRetention service.UsageRetention
	// Webhooks configures webhook deliveries.
	Webhooks WebhookConfig
}

// WebhookConfig configures webhook deliveries (docs/webhooks.md).
type WebhookConfig struct {
	// AllowPrivate lets endpoints be, and deliveries reach, loopback,
	// private and link-local addresses. Off by default, so that a webhook
	// cannot be used to probe the network keyward runs in.
	AllowPrivate bool
	Timeout      time.Duration // one attempt, default 10 s
	RetryWindow  time.Duration // how long a delivery is retried, default 24 h
	RetryBase    time.Duration // the first wait after a failure, default 5 s (no flag)
}

// DefaultCacheLease is CacheLease's default.
const DefaultCacheLease = 100 * time.Millisecond

// The range CacheLease may take: below it the change log is read too
// often; above it a revoked key lives too long.
const (
	minCacheLease = 10 * time.Millisecond
	maxCacheLease = time.Minute
)

// cacheLease is CacheLease with its default, or an error out of range.
func (c Config) cacheLease() (time.Duration, error) {
	switch {
	case c.CacheLease == 0:
		return DefaultCacheLease, nil
	case c.CacheLease < minCacheLease || c.CacheLease > maxCacheLease:
		return 0, fmt.Errorf("cache lease %v: must be between %v and %v", c.CacheLease, minCacheLease, maxCacheLease)
	}
	return c.CacheLease, nil
}

// publicURL is PublicURL, or http://ADDR (127.0.0.1 for an empty host).
func (c Config) publicURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// OpenStore opens the store a database URL names, running its migrations.
func OpenStore(ctx context.Context, url string) (keyward.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("database %q: sqlite needs a file path, as in sqlite:keyward.db", url)
		}
		return sqlite.Open(ctx, path)
	case isPostgres(url):
		return postgres.Open(ctx, url)
	}
	return nil, fmt.Errorf("database %q: use sqlite:PATH or a postgres:// URL", redact(url))
}

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Migrate brings the database a URL names to the current schema, and does
// nothing else (SQLite and PostgreSQL both migrate on open as well).
func Migrate(ctx context.Context, url string) error {
	if isPostgres(url) {
		return postgres.Migrate(ctx, url)
	}
	st, err := OpenStore(ctx, url)
	if err != nil {
		return err
	}
	return st.Close()
}

// redact hides a password in a URL-ish string before it reaches a message.
func redact(url string) string {
	if at := strings.LastIndexByte(url, '@'); at > 0 {
		if i := strings.Index(url, "://"); i >= 0 && i < at {
			return url[:i+3] + "…" + url[at:]
		}
	}
	return url
}
