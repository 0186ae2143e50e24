// Package kwtest builds real keyward parts for tests: a SQLite store in a
// temporary file, a service with a settable clock, and the HTTP API on a
// loopback port, bootstrapped with an org, an owner and an org key.
package kwtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/dashboard"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/jsonlog"
	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/sqlite"
	"github.com/keyward/keyward/internal/verify"
)

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to a fixed moment.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// NewStore opens a migrated SQLite store in a file of t's temp dir.
func NewStore(t testing.TB) keyward.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir()+"/keyward.db")
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return st
}

// PublicURL is the --public-url of every test service: the links it makes
// (password resets, invitations) start with it. Tests follow a link by its
// path and query on the server's own URL.
const PublicURL = "https://keyward.test"

// Env is a bootstrapped keyward: store, service, clock, and the ids and
// org key bootstrap made.
type Env struct {
	Store   keyward.Store
	Service *service.Service
	Clock   *Clock
	OrgID   string
	OwnerID string
	OrgKey  string // secret of the bootstrap org key
	Pepper  []byte
	// Feed is woken after every commit that changes keys; a Server's
	// Watcher follows it, as on a SQLite node.
	Feed *verify.LocalFeed
	// Outbox is a Server's webhook delivery worker: it runs on the Env's
	// clock (a retry is due once the test advances the clock to it) and
	// polls every 20 ms.
	Outbox *outbox.Worker

	webhookPrivate bool
}

// NewEnv bootstraps a fresh store with org "Acme" and owner
// owner@example.com.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	return NewEnvOn(t, NewStore(t))
}

// NewEnvOn is NewEnv on the store st (empty). Its webhook endpoints may be
// loopback addresses (tests deliver to a local server), as with
// --webhook-allow-private.
func NewEnvOn(t testing.TB, st keyward.Store) *Env {
	t.Helper()
	return newEnv(t, st, true)
}

func newEnv(t testing.TB, st keyward.Store, webhookPrivate bool) *Env {
	t.Helper()
	clock := NewClock()
	pepper := []byte("test pepper")
	feed := verify.NewLocalFeed()
	svc, err := service.New(service.Config{Store: st, Clock: clock, Pepper: pepper, Logger: Logger(t), Announce: feed.Announce, PublicURL: PublicURL,
		WebhookAllowPrivate: webhookPrivate})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Bootstrap(context.Background(), service.BootstrapInput{OrgName: "Acme", Email: "owner@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return &Env{Store: st, Service: svc, Clock: clock, OrgID: res.Org.ID, OwnerID: res.User.ID, OrgKey: res.OrgKey.Secret, Pepper: pepper, Feed: feed,
		webhookPrivate: webhookPrivate}
}

// Owner returns an actor for the bootstrap owner.
func (e *Env) Owner() *service.Actor {
	return service.UserActor(e.OwnerID, e.OrgID, service.Origin{IP: "127.0.0.1", RequestID: "req_test"})
}

// User returns an actor for user id in the env's org.
func (e *Env) User(id string) *service.Actor {
	return service.UserActor(id, e.OrgID, service.Origin{IP: "127.0.0.1", RequestID: "req_test"})
}

// Check, when set, wraps the handler of every Server: a test package sets
// it (in TestMain) to check each exchange, as the httpapi tests check each
// against the OpenAPI document. It reports what it finds on t.
var Check func(t testing.TB, h http.Handler) http.Handler

// Server is an Env served over HTTP on a loopback port.
type Server struct {
	*Env
	URL string
	API *httpapi.API
}

// NewServer starts the API of a fresh Env on a loopback port.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return NewServerLogging(t, io.Discard)
}

// NewServerLogging is NewServer with the API's JSON logs written to w, by
// the handler keyward serve uses.
// Like a real node, it runs a Watcher that follows the change log; it
// returns once the verification cache is trusted.
func NewServerLogging(t testing.TB, w io.Writer) *Server {
	t.Helper()
	return newServer(t, w, NewEnv(t))
}

// NewServerStrict is NewServer as keyward serve runs by default: webhook
// endpoints and deliveries may not reach loopback, private or link-local
// addresses.
func NewServerStrict(t testing.TB) *Server {
	t.Helper()
	return newServer(t, io.Discard, newEnv(t, NewStore(t), false))
}

func newServer(t testing.TB, w io.Writer, env *Env) *Server {
	t.Helper()
	log := slog.New(jsonlog.NewHandler(w))
	dash := dashboard.New(dashboard.Config{Service: env.Service, Logger: log, Clock: env.Clock})
	api := httpapi.New(httpapi.Config{Service: env.Service, Logger: log, Fallback: dash})
	var h http.Handler = api
	if Check != nil {
		h = Check(t, api)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(api.CloseStreams) // runs first: Close waits for open streams

	cache := env.Service.Cache()
	cache.SetTrusted(false) // as Watcher.Run does first: wait for its catch-up below
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	watcher := &verify.Watcher{Cache: cache, Log: env.Store, Feeds: []verify.Feed{env.Feed}, Logger: Logger(t)}
	go func() { watcher.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	env.Outbox = outbox.New(outbox.Config{
		Store: env.Store, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: Logger(t),
		AllowPrivate: env.webhookPrivate, Timeout: 5 * time.Second, Poll: 20 * time.Millisecond,
	})
	env.Service.OnWebhook(env.Outbox.Nudge)
	outboxDone := make(chan struct{})
	go func() { env.Outbox.Run(ctx); close(outboxDone) }()
	t.Cleanup(func() { stop(); <-outboxDone })
	for {
		changed := cache.Changed()
		if _, trusted := cache.Position(); trusted {
			break
		}
		<-changed
	}
	return &Server{Env: env, URL: ts.URL, API: api}
}

// Logger returns a logger that discards, unless KEYWARD_TEST_LOG is set.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// WaitApplied waits until the server's key cache has applied every change
// of the store's key change log so far (its watcher's work), so that a
// test's next lookups are not raced by invalidations of earlier writes.
func (s *Server) WaitApplied(t testing.TB) {
	t.Helper()
	latest, err := s.Store.LatestKeyChange(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cache := s.Service.Cache()
	timeout := time.After(20 * time.Second)
	for {
		changed := cache.Changed()
		if seq, _ := cache.Position(); seq >= latest {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the cache did not apply the change log up to %d", latest)
		}
	}
}
