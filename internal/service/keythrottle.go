package service

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/verify"
)

// The failed-key throttle spares the store from unknown keys, and nothing
// else: it never refuses a valid key because of other requests from its
// address (many clients share one address behind a NAT or a proxy).
//
// A client address that presents AuthFailuresPerMinute well-formed keys
// that match no usable key (unknown or revoked) in a minute is throttled
// until the minute ends. A key it presents while throttled is answered as
// usual when that costs no store read for an unknown key:
//
//   - a malformed key is refused without any lookup;
//   - a key in this node's verification cache (a valid key, or a digest
//     known to be unknown) is answered from the cache;
//   - a key this node has found usable in the store within the last
//     knownGoodFor is looked up as usual, even while the cache is off;
//   - any other key reads the store at most ThrottledLookupsPerSecond
//     times a second per address; past that it gets 429 RATE_LIMITED with
//     Retry-After (at most a second). A valid key that wins one of those
//     lookups is known from then on and passes every time after.

// ThrottledLookupsPerSecond is how many keys that this node cannot answer
// without the store a throttled address may have looked up per second.
const ThrottledLookupsPerSecond = 2

// knownGoodFor is how long a key found usable in the store stays exempt
// from the throttle on this node (renewed at every store read, which a key
// in use has once per cache lifetime).
const knownGoodFor = 24 * time.Hour

// maxKnownGood bounds the known-good digests kept (8 bytes and a time
// each); past it, arbitrary ones are dropped.
const maxKnownGood = 100_000

// addrThrottle counts failed key authentications per client address.
// Failures are counted with the shared limiter (so every node sees them);
// the verdict "throttled until" is kept here, so the check before each
// authentication costs no network call. A node learns of a throttle that
// others caused at the address's next failure on it.
type addrThrottle struct {
	limit  int
	window time.Duration
	lim    *limiters

	n       atomic.Int32 // len(blocked), read without the lock
	mu      sync.Mutex
	blocked map[netip.Addr]time.Time // address → end of its throttle

	goodMu sync.Mutex
	good   map[uint64]time.Time // known-good digest (its first 8 bytes) → until
}

// maxBlocked bounds the throttled addresses kept; past it a new throttle
// is not recorded here (the address's unknown keys then read the store).
const maxBlocked = 100_000

func newAddrThrottle(limit int, window time.Duration, lim *limiters) *addrThrottle {
	return &addrThrottle{limit: limit, window: window, lim: lim,
		blocked: map[netip.Addr]time.Time{}, good: map[uint64]time.Time{}}
}

// block is the address the throttle counts ip under: an IPv6 address by
// its /64, which one host or one subscriber holds whole (so cycling
// through its addresses gains nothing), any other by itself. Sign-in
// counts addresses the same way (addrKey).
func block(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// throttled reports whether ip is throttled at now.
func (t *addrThrottle) throttled(ip netip.Addr, now time.Time) bool {
	if t.n.Load() == 0 { // the common case: nobody is throttled, no lock
		return false
	}
	ip = block(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	until, ok := t.blocked[ip]
	if ok && !now.Before(until) {
		delete(t.blocked, ip)
		t.n.Store(int32(len(t.blocked))) //nolint:gosec // G115: at most maxBlocked
		ok = false
	}
	return ok
}

// fail counts one failed authentication from ip, and throttles ip until
// the end of the window once it has used up its failures.
func (t *addrThrottle) fail(ctx context.Context, ip netip.Addr, now time.Time) {
	ip = block(ip)
	key := "authfail:" + ip.String()
	d, ok := t.lim.allow(ctx, key, t.limit, t.window, now)
	if !ok {
		d, _ = t.lim.local.Allow(ctx, key, t.limit, t.window, now)
	}
	if d.Remaining > 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.blocked) >= maxBlocked {
		for a, until := range t.blocked {
			if !now.Before(until) {
				delete(t.blocked, a)
			}
		}
	}
	if len(t.blocked) < maxBlocked {
		t.blocked[ip] = d.Reset
	}
	t.n.Store(int32(len(t.blocked))) //nolint:gosec // G115: at most maxBlocked
}

// allowLookup counts one store lookup of a key unknown to this node for
// throttled address ip; when ip has used up this second's lookups it
// returns RATE_LIMITED with the time until the next.
func (t *addrThrottle) allowLookup(ctx context.Context, ip netip.Addr, now time.Time) error {
	key := "authlookup:" + block(ip).String()
	d, ok := t.lim.allow(ctx, key, ThrottledLookupsPerSecond, time.Second, now)
	if !ok {
		d, _ = t.lim.local.Allow(ctx, key, ThrottledLookupsPerSecond, time.Second, now)
	}
	if d.Allowed {
		return nil
	}
	e := keyward.Errorf(keyward.CodeRateLimited, "Too many unknown API keys from this address; try again shortly")
	e.RetryAfter = d.RetryAfter(now)
	return e
}

// found records that the key with digest d was read from the store and is
// usable at now.
func (t *addrThrottle) found(d verify.Digest, now time.Time) {
	id := binary.LittleEndian.Uint64(d[:8])
	t.goodMu.Lock()
	defer t.goodMu.Unlock()
	if _, ok := t.good[id]; !ok && len(t.good) >= maxKnownGood {
		drop := maxKnownGood / 100
		for g, until := range t.good {
			if !now.Before(until) || drop > 0 {
				delete(t.good, g)
				drop--
			}
		}
	}
	t.good[id] = now.Add(knownGoodFor)
}

// knownGood reports whether a key with digest d was found usable on this
// node within knownGoodFor. A digest an attacker makes up is never known
// good: only a store read that finds a usable key records one.
func (t *addrThrottle) knownGood(d verify.Digest, now time.Time) bool {
	id := binary.LittleEndian.Uint64(d[:8])
	t.goodMu.Lock()
	until, ok := t.good[id]
	t.goodMu.Unlock()
	return ok && now.Before(until)
}

// admitThrottled decides whether secret, presented from the throttled
// address ip, may be looked up (see the rules above): nil, or
// RATE_LIMITED.
func (s *Service) admitThrottled(ctx context.Context, secret string, ip netip.Addr, now time.Time) error {
	if _, err := apikey.Parse(secret); err != nil {
		return nil //nolint:nilerr // refused by the lookup, before the store: not this throttle's to refuse
	}
	d := s.digest.Sum(secret)
	if s.cache.Holds(d, now) || s.authByAddr.knownGood(d, now) {
		return nil
	}
	return s.authByAddr.allowLookup(ctx, ip, now)
}
