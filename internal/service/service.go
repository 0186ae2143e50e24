// Package service holds every business rule of keyward: who may do what
// (roles and scopes), key limits and policies, creation, rotation and
// revocation, and the audit events that record each change in the same
// transaction. Stores persist and handlers translate; neither decides.
package service

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/verify"
)

// Config holds what a Service needs.
type Config struct {
	Store  keyward.Store
	Pepper []byte        // server-side pepper for key digests; may be empty
	Clock  keyward.Clock // defaults to keyward.SystemClock
	Logger *slog.Logger  // defaults to slog.Default()
	Cache  verify.Options
	// Announce, when set, is called after every commit that changed keys,
	// to tell other nodes (Redis pub/sub). PostgreSQL announces by itself.
	Announce func(ctx context.Context)
	// Limiter counts requests against keys' rate limits and failed
	// authentications per client address; a ratelimit.Redis shares them
	// between nodes. Defaults to an in-memory limiter (this node only).
	Limiter Limiter
	// PublicURL is the address users reach keyward at (--public-url). Every
	// link the service makes (password resets, invitations) starts with it,
	// never with a request's Host header. Defaults to http://127.0.0.1:8080.
	PublicURL string
	// UsageRetention says how long usage counts are kept (defaults: see
	// UsageRetention).
	UsageRetention UsageRetention
	// WebhookAllowPrivate lets webhook endpoints point at loopback,
	// private and link-local addresses (--webhook-allow-private).
	WebhookAllowPrivate bool
}

// Service implements keyward's operations for authenticated actors.
type Service struct {
	store  keyward.Store
	digest *apikey.Digester
	clock  keyward.Clock
	log    *slog.Logger
	usage  *usageRecorder
	counts usageCounter // requests per key, minute and outcome
	// retention is how long usage counts are kept per bucket size.
	retention UsageRetention
	cache     *verify.Cache
	// loadKey is loadDigest as a value made once, so that cache misses
	// do not allocate a method value each time.
	loadKey  verify.Loader
	announce func(ctx context.Context)

	signin     *signinGuard // sign-in attempts per address, address and account, and account
	hashes     *hashGate    // bounds the argon2id work running at once
	limit      *limiters
	authByAddr *addrThrottle // failed key authentications per client address
	setup      setupState
	publicURL  string // without a trailing slash

	pepper              []byte // seals webhook signing secrets
	webhookAllowPrivate bool
	onWebhook           atomic.Pointer[func()] // wakes the local delivery worker
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
		pepper: cfg.Pepper,
	}
	s.webhookAllowPrivate = cfg.WebhookAllowPrivate
	s.usage = newUsageRecorder(cfg.Store, cfg.Logger)
	s.retention = cfg.UsageRetention.withDefaults()
	s.cache = verify.New(cfg.Cache)
	s.loadKey = s.loadDigest
	s.announce = cfg.Announce
	s.signin = newSigninGuard(cfg.Clock)
	s.hashes = newHashGate(hashSlots())
	s.limit = &limiters{shared: cfg.Limiter, local: ratelimit.NewMemory(0), log: func(err error) {
		cfg.Logger.Error("rate limiter unreachable: per-key rate limits are not applied and failed authentications are counted on this node only, for a while", "err", err)
	}}
	if s.limit.shared == nil {
		s.limit.shared = s.limit.local
	}
	// On one node the address throttle counts in a table of its own: a
	// flood of addresses that fills it must not evict, and so reset, the
	// keys' rate-limit budgets. (With Redis both count there, under keys of
	// their own, and nothing is evicted early.)
	throttleLimits := s.limit
	if cfg.Limiter == nil {
		own := ratelimit.NewMemory(0)
		throttleLimits = &limiters{shared: own, local: own, log: s.limit.log}
	}
	s.authByAddr = newAddrThrottle(AuthFailuresPerMinute, time.Minute, throttleLimits)
	s.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	if s.publicURL == "" {
		s.publicURL = "http://127.0.0.1:8080"
	}
	return s, nil
}

// Ping reports whether the store is reachable (for readiness checks).
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// inTx runs fn in one transaction of the store. Once the transaction has
// committed, every key it wrote is dropped from the verification cache: this
// is the one place that keeps the cache in step with the store, so no code
// path can forget it.
func (s *Service) inTx(ctx context.Context, fn func(q keyward.Queries) error) error {
	rec := &keyWrites{s: s}
	err := s.store.InTx(ctx, func(q keyward.Queries) error {
		rec.Queries = q
		rec.fates, rec.webhooks, rec.endpoints = nil, false, nil
		if err := fn(rec); err != nil {
			return err
		}
		return s.rolesChanged(ctx, rec)
	})
	if err == nil {
		s.keysChanged(rec)
		if rec.webhooks {
			s.webhookWritten()
		}
	}
	return err
}

// keyWrites wraps a transaction's Queries and notes which keys it writes,
// and whose roles it changes.
type keyWrites struct {
	keyward.Queries
	ids     []string
	digests [][]byte
	all     bool // a whole project's keys went
	roles   []roleChange

	s        *Service
	fates    []keyFate // what removed members' keys became (events.go)
	webhooks bool      // deliveries were written
	// The org's webhook endpoints, read once (events.go).
	endpoints    []*keyward.WebhookEndpoint
	endpointsOrg string
}

// roleChange is a member whose org role (ProjectID "") or project role a
// transaction changed.
type roleChange struct{ orgID, projectID, userID string }

func (w *keyWrites) PutMember(ctx context.Context, m *keyward.Member) error {
	w.roles = append(w.roles, roleChange{orgID: m.OrgID, userID: m.UserID})
	return w.Queries.PutMember(ctx, m)
}

func (w *keyWrites) DeleteMember(ctx context.Context, orgID, userID string) error {
	w.roles = append(w.roles, roleChange{orgID: orgID, userID: userID})
	return w.Queries.DeleteMember(ctx, orgID, userID)
}

func (w *keyWrites) PutProjectMember(ctx context.Context, m *keyward.ProjectMember) error {
	w.roles = append(w.roles, roleChange{projectID: m.ProjectID, userID: m.UserID})
	return w.Queries.PutProjectMember(ctx, m)
}

func (w *keyWrites) DeleteProjectMember(ctx context.Context, projectID, userID string) error {
	w.roles = append(w.roles, roleChange{projectID: projectID, userID: userID})
	return w.Queries.DeleteProjectMember(ctx, projectID, userID)
}

// rolesChanged records, before the transaction commits, a key change for
// every usable key whose owner's role the transaction changed: what those
// keys may do is narrowed to the owner's roles when they are verified
// (authority.go), so every node's cache, and every SDK that follows the
// change stream, must read them again, as after a revoke.
func (s *Service) rolesChanged(ctx context.Context, w *keyWrites) error {
	var ids []string
	for _, rc := range w.roles {
		f := keyward.KeyFilter{OrgID: rc.orgID, ProjectID: rc.projectID, OwnerUserID: rc.userID, Now: s.clock.Now()}
		if rc.projectID != "" {
			p, err := w.GetProject(ctx, rc.projectID)
			if keyward.ErrorCode(err) == keyward.CodeNotFound {
				continue
			}
			if err != nil {
				return err
			}
			f.OrgID, f.Kind = p.OrgID, keyward.KindProject
		}
		// Under the org's lock, which key writes take: a key created
		// concurrently commits either before this list (and is in it) or
		// after this transaction (and reads the new role when loaded).
		if _, err := w.LockOrg(ctx, f.OrgID); err != nil {
			return err
		}
		keys, err := w.ListKeys(ctx, f)
		if err != nil {
			return err
		}
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
	}
	w.roles = nil
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	w.ids = append(w.ids, ids...)
	return w.RecordKeyChanges(ctx, ids)
}

func (w *keyWrites) CreateKey(ctx context.Context, k *keyward.Key) error {
	w.ids, w.digests = append(w.ids, k.ID), append(w.digests, k.Digest)
	return w.Queries.CreateKey(ctx, k)
}

func (w *keyWrites) UpdateKey(ctx context.Context, k *keyward.Key) error {
	w.ids = append(w.ids, k.ID)
	return w.Queries.UpdateKey(ctx, k)
}

func (w *keyWrites) DeleteProject(ctx context.Context, id string) error {
	w.all = true
	return w.Queries.DeleteProject(ctx, id)
}

// keysChanged drops committed key writes from this node's cache and
// announces them to the others.
func (s *Service) keysChanged(w *keyWrites) {
	switch {
	case w.all:
		s.cache.InvalidateAll()
	case len(w.ids) > 0:
		s.cache.Invalidate(w.ids, w.digests)
	default:
		return
	}
	if s.announce != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s.announce(ctx)
		}()
	}
}

// Cache returns the verification cache (for metrics and the invalidation
// feed).
func (s *Service) Cache() *verify.Cache { return s.cache }

// Now is the time by the service's clock, the one its decisions are made
// at: authentication, expiry, a Retry-After counted from a rate limit's
// reset (a test's clock in tests).
func (s *Service) Now() time.Time { return s.clock.Now() }
