package service

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/verify"
)

// errInvalidKey is the one answer for malformed, unknown and revoked keys,
// so that none of them can be told apart.
var errInvalidKey = keyward.Errorf(keyward.CodeAPIKeyInvalid, "Invalid API key provided")

// lookup finds the usable key behind secret. Malformed keys are refused
// before any storage lookup; unknown and revoked keys take the same path
// (a digest lookup that finds nothing, since revocation erases the digest).
//
// The key comes from the verification cache and is shared: never modify it.
// With API_KEY_EXPIRED, and with the owner's lack of a role, the known key
// is returned too (for its usage counts).
func (s *Service) lookup(ctx context.Context, secret string, now time.Time) (*keyward.Key, error) {
	return s.lookupFrom(ctx, secret, now, false)
}

// lookupFrom is lookup, reading the store instead of the cache when
// fromStore is set.
func (s *Service) lookupFrom(ctx context.Context, secret string, now time.Time, fromStore bool) (*keyward.Key, error) {
	if _, err := apikey.Parse(secret); err != nil {
		return nil, errInvalidKey
	}
	var k *keyward.Key
	var err error
	if fromStore {
		lctx, cancel := context.WithTimeout(ctx, verify.LoadTimeout)
		k, err = s.loadKey(lctx, s.digest.Sum(secret))
		cancel()
	} else {
		k, err = s.cache.Get(ctx, s.digest.Sum(secret), now, s.loadKey)
	}
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err // UNAVAILABLE: fail closed
	}
	switch k.StatusAt(now) {
	case keyward.StatusRevoked:
		return nil, errInvalidKey
	case keyward.StatusExpired:
		return k, errExpiredKey
	}
	if k.NoAccess {
		return k, errOwnerNoAccess
	}
	return k, nil
}

var errExpiredKey = keyward.Errorf(keyward.CodeAPIKeyExpired, "This API key has expired")

// loadDigest reads a key from the store on a cache miss, with its status
// at the time read (verify answers with the cached key itself while that
// status holds).
func (s *Service) loadDigest(ctx context.Context, d verify.Digest) (*keyward.Key, error) {
	k, err := s.store.GetKeyByDigest(ctx, d[:])
	if err != nil {
		return nil, err
	}
	// What the key may do now: the cache keeps the narrowed key, and any
	// change of its owner's roles records a key change that drops it.
	if err := s.narrowToOwner(ctx, s.store, k); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	k.Status = k.StatusAt(now)
	if k.Usable(now) { // exempts the key from its address's throttle
		s.authByAddr.found(d, now)
	}
	return k, nil
}

// AuthFailuresPerMinute is how many well-formed unknown or revoked keys one
// client address may present per minute before it is throttled: far below
// anything that could matter for 178-bit keys. A throttled address's
// unknown keys are kept off the store; its valid keys still pass (see
// keythrottle.go).
const AuthFailuresPerMinute = 60

// Authenticate checks a presented key of the wanted kind from client address
// ip and returns it. The caller (the HTTP layer) has already decided which
// header the key came in; a key of the other kind is PERMISSION_DENIED with
// a message that names the right header. A valid key with a rate limit
// counts this request against it, and is RATE_LIMITED over it.
func (s *Service) Authenticate(ctx context.Context, secret string, want keyward.KeyKind, ip netip.Addr) (*keyward.Key, error) {
	k, _, err := s.AuthenticateClient(ctx, secret, want, Client{IP: ip})
	return k, err
}

// Client is who presents a key: its address and user agent ("" when not
// known), recorded as the key's last use.
type Client struct {
	IP        netip.Addr
	UserAgent string
}

// AuthenticateLimited is Authenticate that also returns the rate limit
// decision for the key, for the X-RateLimit-* headers: with the key, and
// with a RATE_LIMITED error (which carries the retry time). Its Limit is 0
// when no limit applied (no limit on the key, or the limiter unreachable).
func (s *Service) AuthenticateLimited(ctx context.Context, secret string, want keyward.KeyKind, ip netip.Addr) (*keyward.Key, ratelimit.Decision, error) {
	return s.AuthenticateClient(ctx, secret, want, Client{IP: ip})
}

// AuthenticateClient is AuthenticateLimited for client c, whose address is
// checked against the key's allowlist and recorded, with its user agent,
// as the key's last use. Every outcome for a known key is counted in its
// usage.
func (s *Service) AuthenticateClient(ctx context.Context, secret string, want keyward.KeyKind, c Client) (*keyward.Key, ratelimit.Decision, error) {
	now := s.clock.Now()
	k, err := s.identify(ctx, secret, want, c.IP, now)
	if err != nil {
		if k != nil {
			s.counts.count(k.ID, authOutcome(err), now)
		}
		return nil, ratelimit.Decision{}, err
	}
	d, err := s.rateLimit(ctx, k, now)
	if err != nil {
		s.counts.count(k.ID, keyward.OutcomeRateLimited, now)
		return nil, d, err
	}
	s.counts.count(k.ID, keyward.OutcomeValid, now)
	s.usage.note(k.ID, now, c.IP, c.UserAgent)
	return k, d, nil
}

// authOutcome is the usage outcome of identify's refusal of a known key.
func authOutcome(err error) keyward.Outcome {
	switch {
	case errors.Is(err, errExpiredKey):
		return keyward.OutcomeExpired
	case errors.Is(err, errIPNotAllowed):
		return keyward.OutcomeIPNotAllowed
	}
	return keyward.OutcomeInvalid // another kind's key, or its owner lacks a role
}

// Identify is Authenticate without using the key: no rate limit budget is
// spent and no use recorded or counted. The HTTP layer calls it for a key sent in the
// other family's header, to answer for the key (invalid, wrong kind, wrong
// address) before it refuses the header.
func (s *Service) Identify(ctx context.Context, secret string, want keyward.KeyKind, ip netip.Addr) (*keyward.Key, error) {
	k, err := s.identify(ctx, secret, want, ip, s.clock.Now())
	if err != nil {
		return nil, err
	}
	return k, nil
}

// identify finds the key and checks its kind and allowlist. With an error
// for a known key (expired, another kind, outside its allowlist, its
// owner without a role for it) it returns the key too.
func (s *Service) identify(ctx context.Context, secret string, want keyward.KeyKind, ip netip.Addr, now time.Time) (*keyward.Key, error) {
	throttled := s.authByAddr.throttled(ip, now)
	if throttled {
		if err := s.admitThrottled(ctx, secret, ip, now); err != nil {
			return nil, err
		}
	}
	k, err := s.lookup(ctx, secret, now)
	if err != nil {
		// Only what could make the store look for a key that is not there
		// counts: a malformed key is refused before any lookup, an expired
		// one is a known key. A throttled address is not counted further.
		if errors.Is(err, errInvalidKey) && !throttled {
			if _, perr := apikey.Parse(secret); perr == nil {
				s.authByAddr.fail(ctx, ip, now)
			}
		}
		return k, err
	}
	if k.Kind != want {
		if k.Kind == keyward.KindOrg {
			return k, keyward.Denied("Org keys (kwo_) are for /v1/org endpoints, sent in the x-org-api-key header; use a project key (kwp_) in x-api-key here")
		}
		return k, keyward.Denied("Project keys (kwp_) are for project endpoints, sent in the x-api-key header; use an org key (kwo_) in x-org-api-key here")
	}
	if !k.AllowsIP(ip) {
		return k, errIPNotAllowed
	}
	return k, nil
}

var errIPNotAllowed = keyward.Errorf(keyward.CodeIPNotAllowed, "This API key may not be used from this address")

// Whoami describes the calling key.
func (s *Service) Whoami(a *Actor) *keyward.Whoami {
	k := a.Key
	return &keyward.Whoami{
		KeyID: k.ID, Kind: k.Kind, ProjectID: k.ProjectID, OrgID: k.OrgID,
		Scopes: k.Scopes, OwnerUserID: k.OwnerUserID,
	}
}

// mayVerify checks that a may verify keys of project projectID ("": of any
// project of its org).
func (s *Service) mayVerify(ctx context.Context, a *Actor, projectID string) error {
	if a.IsKind(keyward.KindProject) && a.Key.ProjectID == projectID && keyAllows(a, actKeysVerify) {
		// The hot path: a project key verifying for its own project. The
		// key was just authenticated, so its project exists; no store read.
		return nil
	}
	// Otherwise the store is read (and a refusal is written to the audit
	// log). Verifications run without a request deadline (see
	// httpapi.route.Hot), so these calls get one of their own: a request
	// must not wait for a store that hangs.
	ctx, cancel := context.WithTimeout(ctx, verify.LoadTimeout)
	defer cancel()
	var err error
	switch {
	case projectID != "":
		_, err = s.projectAccess(ctx, s.store, a, projectID, actKeysVerify, AuditKeyVerify)
	default:
		_, err = s.orgAccess(ctx, s.store, a, actKeysVerify, AuditKeyVerify)
	}
	return s.finish(ctx, err)
}

// Verify checks a key that a backend received from its own client. A
// project key may verify only keys of its own project; an org key (or user)
// verifies keys of any project of the org (projectID "" then). Unknown,
// revoked and other projects' keys are all INVALID.
//
// The result's key may be the verification cache's own: never modify it.
func (s *Service) Verify(ctx context.Context, a *Actor, projectID string, in keyward.VerifyInput) (*keyward.VerifyResult, error) {
	return s.verify(ctx, a, projectID, in, false)
}

// VerifyAtLeast is Verify for a caller that has already been told of every
// key change up to min (an SDK's change stream, possibly from another
// node; min < 0: none). It answers from this node's cache only if the cache
// is trusted and has applied min, and otherwise from the store, which holds
// every committed change. It returns the change position the answer
// reflects at least, or ok false when it vouches for none (no min asked
// and the cache not trusted).
func (s *Service) VerifyAtLeast(ctx context.Context, a *Actor, projectID string, in keyward.VerifyInput, min int64) (res *keyward.VerifyResult, seq int64, ok bool, err error) {
	// Read before verifying: the answer reflects at least every change up
	// to the position read.
	pos, trusted := s.cache.Position()
	if min >= 0 && (!trusted || pos < min) {
		res, err = s.verify(ctx, a, projectID, in, true)
		return res, min, true, err
	}
	res, err = s.verify(ctx, a, projectID, in, false)
	return res, pos, trusted, err
}

func (s *Service) verify(ctx context.Context, a *Actor, projectID string, in keyward.VerifyInput, fromStore bool) (*keyward.VerifyResult, error) {
	if err := s.mayVerify(ctx, a, projectID); err != nil {
		return nil, err
	}
	var err error
	if len(in.Key) > MaxVerifyKeyLen {
		return nil, keyward.Invalid(keyward.FieldError{Field: "key", Problem: "too long"})
	}
	if len(in.Scopes) > MaxScopes {
		return nil, keyward.Invalid(keyward.FieldError{Field: "scopes", Problem: "at most " + itoa(MaxScopes)})
	}
	var ip netip.Addr
	if in.IP != "" {
		if ip, err = netip.ParseAddr(in.IP); err != nil {
			return nil, keyward.Invalid(keyward.FieldError{Field: "ip", Problem: "must be an IP address"})
		}
	}
	now := s.clock.Now()
	k, err := s.lookupFrom(ctx, in.Key, now, fromStore)
	// A key of another org is not counted: its org must not see it used.
	counted := k != nil && k.OrgID == a.OrgID
	switch keyward.ErrorCode(err) {
	case "":
	case keyward.CodeAPIKeyInvalid:
		return &keyward.VerifyResult{Code: keyward.VerifyInvalid}, nil
	case keyward.CodeAPIKeyExpired:
		if counted {
			s.counts.count(k.ID, keyward.OutcomeExpired, now)
		}
		return &keyward.VerifyResult{Code: keyward.VerifyExpired}, nil
	case keyward.CodePermissionDenied: // the owner's role allows no such key
		if counted {
			s.counts.count(k.ID, keyward.OutcomeInvalid, now)
		}
		return &keyward.VerifyResult{Code: keyward.VerifyInvalid}, nil
	default:
		return nil, err
	}
	if k.Kind != keyward.KindProject || k.OrgID != a.OrgID || (projectID != "" && k.ProjectID != projectID) {
		if counted {
			s.counts.count(k.ID, keyward.OutcomeInvalid, now)
		}
		return &keyward.VerifyResult{Code: keyward.VerifyInvalid}, nil
	}
	if !k.AllowsIP(ip) {
		s.counts.count(k.ID, keyward.OutcomeIPNotAllowed, now)
		return &keyward.VerifyResult{Code: keyward.VerifyIPNotAllowed}, nil
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(k.Scopes, sc) {
			s.counts.count(k.ID, keyward.OutcomeInsufficientScope, now)
			return &keyward.VerifyResult{Code: keyward.VerifyInsufficientScope}, nil
		}
	}
	// Last, so that only a request the key may otherwise make uses its
	// budget.
	d, err := s.rateLimit(ctx, k, now)
	var window *keyward.RateLimitState
	if d.Limit > 0 { // only keys with a limit pay for this allocation
		window = &keyward.RateLimitState{Limit: d.Limit, Remaining: d.Remaining, Reset: d.Reset}
	}
	if err != nil { // rateLimit's only error is RATE_LIMITED, which verify answers with a result
		s.counts.count(k.ID, keyward.OutcomeRateLimited, now)
		return &keyward.VerifyResult{Code: keyward.VerifyRateLimited, RateLimit: window}, nil //nolint:nilerr // see above
	}
	s.counts.count(k.ID, keyward.OutcomeValid, now)
	s.usage.note(k.ID, now, ip, "")
	// The cached key is shared. It is answered as it is while its stored
	// status still holds (nearly always), and otherwise as a copy with the
	// status at now: a copy per verification would be most of its garbage.
	if status := k.StatusAt(now); status != k.Status {
		shown := *k
		shown.Status = status
		k = &shown
	}
	return &keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: k, RateLimit: window}, nil
}
