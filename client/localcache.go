package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/verify"
)

// Verify's change positions (httpapi.ChangeSeqHeader and
// MinChangeSeqHeader): the answer reflects every key change up to
// changeSeqHeader; the request asks for at least minChangeSeqHeader.
const (
	changeSeqHeader    = "Keyward-Change-Seq"
	minChangeSeqHeader = "Keyward-Min-Change-Seq"
)

// LocalCacheOptions configure a LocalCache.
type LocalCacheOptions struct {
	// Org verifies with the client's org key (POST /v1/org/verify, keys of
	// any project of the org, and GET /v1/org/key-changes) instead of its
	// project key.
	Org bool
	// MaxEntries bounds the number of keys kept (default 10,000).
	MaxEntries int
	// TTL is how long a verified key is answered from memory before keyward
	// is asked again, whatever the stream says (default 60 s).
	TTL time.Duration
	// Logger receives the stream's state changes (default slog.Default()).
	// Log lines never hold a key.
	Logger *slog.Logger
}

// LocalCache verifies keys in this process, without a call to keyward per
// request, and follows keyward's key change stream (GET /v1/key-changes)
// to forget a key the moment keyward announces that it changed: a revoked
// key is never accepted from memory after the stream has named it.
//
// The rules are keyward's own (package internal/verify): memory is used
// only while the stream is connected and its node's invalidation feed is
// live; a connection that breaks, or sends nothing for three heartbeats,
// empties the cache until the stream is back. An answer is kept only if
// the node that gave it had applied every change the stream had delivered
// when it was asked, and keys with a rate limit are never answered from
// memory (their budget is counted by keyward). Unknown keys are not
// remembered: every unknown key is a call to keyward.
//
// Answers from memory are not reported to keyward one by one, but a key in
// use is asked about again once per TTL, and that answer records the use:
// a key's last_used_at in keyward lags by at most the TTL.
//
//	lc := client.NewLocalCache(c, client.LocalCacheOptions{})
//	if err := lc.Start(ctx); err != nil { // checks the key, then runs Run
//		log.Fatal(err)
//	}
//	handler = client.Middleware(c, client.WithLocalCache(lc))(handler)
type LocalCache struct {
	c     *Client
	opts  LocalCacheOptions
	cache *verify.Cache
	pos   atomic.Int64 // the stream's position: the last change it has delivered
	now   func() time.Time

	verifyPath, streamPath string
	cred                   credential

	// lost is set when the stream breaks and cleared, with a log line, when
	// it is live again. Only Run's goroutine uses it.
	lost bool

	applied func(changesEvent) // tests: called after each event is applied
}

// NewLocalCache returns a cache that answers from memory once Run has
// connected to the change stream; until then (and whenever the stream is
// down) Verify asks keyward.
func NewLocalCache(c *Client, opts LocalCacheOptions) *LocalCache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.TTL <= 0 {
		opts.TTL = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	lc := &LocalCache{
		c: c, opts: opts, now: time.Now,
		cache:      verify.New(verify.Options{MaxEntries: opts.MaxEntries, PositiveTTL: opts.TTL}),
		verifyPath: "/v1/verify", streamPath: "/v1/key-changes", cred: credProject,
	}
	if opts.Org {
		lc.verifyPath, lc.streamPath, lc.cred = "/v1/org/verify", "/v1/org/key-changes", credOrg
	}
	lc.cache.SetTrusted(false)
	return lc
}

// Live reports whether Verify may currently answer from memory.
func (lc *LocalCache) Live() bool { return lc.cache.Trusted() }

// errNotValid is a loaded answer other than VALID: never kept, and, for a
// caller whose request did not make the call, asked again with its own
// scopes and address.
var errNotValid = errors.New("keyward: key not valid")

// Verify answers like Client.Verify (or Org().Verify), from memory when it
// safely can.
func (lc *LocalCache) Verify(ctx context.Context, in keyward.VerifyInput) (*keyward.VerifyResult, error) {
	a, err := lc.verify(ctx, in)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// verify is Verify with the verified key's rate-limit window, when keyward
// was asked and sent it.
func (lc *LocalCache) verify(ctx context.Context, in keyward.VerifyInput) (*verifyAnswer, error) {
	now := lc.now()
	// The digest is only a map key in this process; keyward's own digest
	// (with the server's pepper) is never known here.
	d := verify.Digest(sha256.Sum256([]byte(in.Key)))
	var own *verifyAnswer // set when this call's own request asked keyward
	k, err := lc.cache.Get(ctx, d, now, func(lctx context.Context, _ verify.Digest) (*keyward.Key, error) {
		res, fresh, err := lc.remote(lctx, in)
		if err != nil {
			return nil, err
		}
		own = res
		if !res.Valid || res.Key == nil {
			return nil, errNotValid
		}
		// Keep the answer only if it reflects every change the stream had
		// delivered before the question: any later change to this key will
		// still come down the stream and remove it.
		if !fresh || res.Key.RateLimit != nil {
			return nil, &verify.Unkept{Key: res.Key}
		}
		return res.Key, nil
	})
	switch {
	case own != nil:
		return own, nil // keyward answered this very request
	case errors.Is(err, errNotValid):
		// Another request's answer, for its own scopes and address.
		return lc.ask(ctx, in)
	case err != nil:
		return nil, err
	case k.RateLimit != nil:
		return lc.ask(ctx, in) // keyward counts the budget
	}
	return check(k, in, now), nil
}

// check applies keyward's checks, in keyward's order, to a key known to be
// valid for this caller: expiry, IP allowlist, scopes.
func check(k *keyward.Key, in keyward.VerifyInput, now time.Time) *keyward.VerifyResult {
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return &keyward.VerifyResult{Code: keyward.VerifyExpired}
	}
	ip, _ := netip.ParseAddr(in.IP)
	if !k.AllowsIP(ip) {
		return &keyward.VerifyResult{Code: keyward.VerifyIPNotAllowed}
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(k.Scopes, sc) {
			return &keyward.VerifyResult{Code: keyward.VerifyInsufficientScope}
		}
	}
	shown := *k // the cached key is shared: answer with a copy
	shown.Status = shown.StatusAt(now)
	return &keyward.VerifyResult{Valid: true, Code: keyward.VerifyValid, Key: &shown}
}

// ask verifies with keyward, without keeping the answer.
func (lc *LocalCache) ask(ctx context.Context, in keyward.VerifyInput) (*verifyAnswer, error) {
	res, _, err := lc.remote(ctx, in)
	return res, err
}

// remote calls keyward's verify endpoint. While the stream is live it asks
// for an answer at least as fresh as the stream (keyward then answers from
// its store if the node is behind, so a key the stream has named is never
// accepted again), and fails closed if keyward accepts the key from an
// older position. fresh reports that the answer reflects every change the
// stream had delivered when it was asked.
func (lc *LocalCache) remote(ctx context.Context, in keyward.VerifyInput) (res *verifyAnswer, fresh bool, err error) {
	min := int64(-1) // none: the stream is not live
	if lc.cache.Trusted() {
		min = lc.pos.Load() // before asking
	}
	var r verifyAnswer
	var h http.Header
	cl := call{method: http.MethodPost, path: lc.verifyPath, body: in, cred: lc.cred, header: &h}
	if min >= 0 {
		cl.reqHeader = http.Header{minChangeSeqHeader: {strconv.FormatInt(min, 10)}}
	}
	if err := lc.c.do(ctx, cl, &r); err != nil {
		return nil, false, err
	}
	seq, err := strconv.ParseInt(h.Get(changeSeqHeader), 10, 64)
	if err != nil {
		seq = -1 // the node vouched for no position
	}
	if min >= 0 && seq < min {
		if r.Valid {
			return nil, false, fmt.Errorf("keyward: verify answered from change %d, older than the stream's %d", seq, min)
		}
		return &r, false, nil
	}
	return &r, min >= 0, nil
}
