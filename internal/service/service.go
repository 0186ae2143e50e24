// Package service holds every business rule of keyward: who may do what
// (roles and scopes), key limits and policies, creation, rotation and
// revocation, and the audit events that record each change in the same
// transaction. Stores persist and handlers translate; neither decides.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
)

// Config holds what a Service needs.
type Config struct {
	Store  keyward.Store
	Pepper []byte        // server-side pepper for key digests; may be empty
	Clock  keyward.Clock // defaults to keyward.SystemClock
	Logger *slog.Logger  // defaults to slog.Default()
}

// Service implements keyward's operations for authenticated actors.
type Service struct {
	store  keyward.Store
	digest *apikey.Digester
	clock  keyward.Clock
	log    *slog.Logger
	usage  *usageRecorder

	loginByAccount *throttle // failed sign-ins per email
	loginByAddr    *throttle // failed sign-ins per client address
	setup          setupState
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, keyward.Errorf(keyward.CodeInternal, "service: no store")
	}
	if cfg.Clock == nil {
		cfg.Clock = keyward.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		store:  cfg.Store,
		digest: apikey.NewDigester(cfg.Pepper),
		clock:  cfg.Clock,
		log:    cfg.Logger,
	}
	s.usage = newUsageRecorder(cfg.Store, cfg.Logger)
	s.loginByAccount = newThrottle(5, 15*time.Minute)
	s.loginByAddr = newThrottle(30, 15*time.Minute)
	return s, nil
}

// Run writes last-used times behind in batches until ctx ends, then flushes
// once more. The server runs it in the background.
func (s *Service) Run(ctx context.Context) { s.usage.run(ctx) }

// FlushUsage writes pending last-used times now.
func (s *Service) FlushUsage(ctx context.Context) error { return s.usage.flush(ctx) }

// Ping reports whether the store is reachable (for readiness checks).
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// inTx runs fn in one transaction of the store.
func (s *Service) inTx(ctx context.Context, fn func(q keyward.Queries) error) error {
	return s.store.InTx(ctx, fn)
}
