package client

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// proxy stands between the SDK and a real keyward server: it counts verify
// calls, can rewrite their change position, and can cut and refuse the
// change stream.
type proxy struct {
	*httptest.Server
	verifies     atomic.Int64
	seqOverride  atomic.Pointer[string] // when set, replaces Keyward-Change-Seq on verify answers
	refuseStream atomic.Bool
	lastMin      atomic.Pointer[string] // Keyward-Min-Change-Seq of the last verify request
	mu           sync.Mutex
	streams      []context.CancelFunc
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // pass events on at once
	rp.ModifyResponse = func(r *http.Response) error {
		if s := p.seqOverride.Load(); s != nil && r.Request.URL.Path == "/v1/verify" {
			r.Header.Set(changeSeqHeader, *s)
		}
		return nil
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/verify":
			p.verifies.Add(1)
			min := r.Header.Get(minChangeSeqHeader)
			p.lastMin.Store(&min)
		case "/v1/key-changes":
			if p.refuseStream.Load() {
				http.Error(w, "no", http.StatusBadGateway)
				return
			}
			ctx, cancel := context.WithCancel(r.Context())
			p.mu.Lock()
			p.streams = append(p.streams, cancel)
			p.mu.Unlock()
			r = r.WithContext(ctx)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	t.Cleanup(p.cutStreams) // before Close, which waits for them
	return p
}

// cutStreams ends every stream the proxy is passing on.
func (p *proxy) cutStreams() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.streams {
		cancel()
	}
	p.streams = nil
}

// localSetup is a real server, a proxy in front of it, a project key for
// the SDK and a running LocalCache whose applied events arrive on events.
type localSetup struct {
	srv    *kwtest.Server
	proxy  *proxy
	lc     *LocalCache
	events chan changesEvent
	pid    string
	log    *kwtest.LogBuffer // the LocalCache's log, as text
}

func newLocalSetup(t testing.TB) *localSetup {
	t.Helper()
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop", "orders:read")
	sdkKey := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "backend", Scopes: []string{keyward.ScopeKeysVerify}})
	px := newProxy(t, srv.URL)
	c, _ := mustClient(t, px.URL, WithAPIKey(sdkKey.Secret))
	c.sleep = sleepCtx // real waits between reconnections
	c.minBackoff = 10 * time.Millisecond
	log := &kwtest.LogBuffer{}
	lc := NewLocalCache(c, LocalCacheOptions{Logger: slog.New(slog.NewTextHandler(log, nil))})
	events := make(chan changesEvent, 1000)
	lc.applied = func(e changesEvent) { events <- e }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	s := &localSetup{srv: srv, proxy: px, lc: lc, events: events, pid: p.ID, log: log}
	s.waitLive(t, true)
	return s
}

// waitLive waits for an event that leaves the cache live (or not). The
// 20 s are for all the events, so a stream that keeps coming back fails
// the test instead of hanging it.
func (s *localSetup) waitLive(t testing.TB, live bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for s.lc.Live() != live {
		select {
		case <-s.events:
		case <-timeout:
			t.Fatalf("the cache did not become live=%v", live)
		}
	}
}

// waitFor waits until an applied event names keyID (20 s in all).
func (s *localSetup) waitFor(t testing.TB, keyID string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-s.events:
			for _, id := range e.KeyIDs {
				if id == keyID {
					return
				}
			}
		case <-timeout:
			t.Fatalf("no event named %s", keyID)
		}
	}
}

func (s *localSetup) verify(t *testing.T, in keyward.VerifyInput) *keyward.VerifyResult {
	t.Helper()
	res, err := s.lc.Verify(context.Background(), in)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestLocalCacheAnswersFromMemoryUntilTheStreamSaysOtherwise(t *testing.T) {
	s := newLocalSetup(t)
	k := s.srv.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"}, IPAllowlist: []string{"10.0.0.0/8"}})
	in := keyward.VerifyInput{Key: k.Secret, IP: "10.1.2.3", Scopes: []string{"orders:read"}}
	// Its creation comes down the stream too; an answer that crosses that
	// event is not kept, so wait for it.
	s.waitFor(t, k.ID)

	if r := s.verify(t, in); !r.Valid || r.Key.ID != k.ID {
		t.Fatalf("first Verify = %+v", r)
	}
	before := s.proxy.verifies.Load()
	for range 5 {
		if r := s.verify(t, in); !r.Valid || r.Key.ID != k.ID || r.Key.Status != keyward.StatusActive {
			t.Fatalf("cached Verify = %+v", r)
		}
	}
	if n := s.proxy.verifies.Load() - before; n != 0 {
		t.Fatalf("5 verifications of a cached key made %d calls to keyward, want 0", n)
	}
	// keyward's checks hold on answers from memory.
	if r := s.verify(t, keyward.VerifyInput{Key: k.Secret, IP: "192.0.2.1"}); r.Valid || r.Code != keyward.VerifyIPNotAllowed {
		t.Fatalf("from another address: %+v, want IP_NOT_ALLOWED", r)
	}
	if r := s.verify(t, keyward.VerifyInput{Key: k.Secret, IP: "10.1.2.3", Scopes: []string{"keys:write"}}); r.Valid || r.Code != keyward.VerifyInsufficientScope {
		t.Fatalf("with a scope it lacks: %+v, want INSUFFICIENT_SCOPE", r)
	}
	if n := s.proxy.verifies.Load() - before; n != 0 {
		t.Fatalf("local checks made %d calls to keyward, want 0", n)
	}

	// Revoke it while requests keep verifying it: once the stream has named
	// it, no verification that starts afterwards accepts it.
	var named atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var violations atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := named.Load()
				r, err := s.lc.Verify(context.Background(), in)
				if err == nil && r.Valid && after {
					violations.Add(1)
				}
			}
		})
	}
	org, _ := mustClient(t, s.srv.URL, WithOrgAPIKey(s.srv.OrgKey))
	if _, err := org.Org().ProjectKeys(s.pid).Revoke(context.Background(), k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	s.waitFor(t, k.ID)
	named.Store(true)
	if r := s.verify(t, in); r.Valid {
		t.Fatalf("Verify after the stream named the revoked key = %+v", r)
	}
	close(stop)
	wg.Wait()
	if n := violations.Load(); n > 0 {
		t.Fatalf("%d verifications accepted the revoked key after the stream named it", n)
	}
}

func TestLocalCacheAsksKeywardWhileTheStreamIsDown(t *testing.T) {
	s := newLocalSetup(t)
	k := s.srv.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "customer"})
	in := keyward.VerifyInput{Key: k.Secret}
	s.waitFor(t, k.ID)
	s.verify(t, in)

	s.proxy.refuseStream.Store(true)
	s.proxy.cutStreams()
	for s.lc.Live() { // the cut is seen when the connection's read fails
		select {
		case <-s.lc.cache.Changed():
		case <-time.After(20 * time.Second):
			t.Fatal("the cache stayed live after its stream was cut")
		}
	}
	before := s.proxy.verifies.Load()
	for range 3 {
		if r := s.verify(t, in); !r.Valid {
			t.Fatalf("Verify = %+v", r)
		}
	}
	if n := s.proxy.verifies.Load() - before; n != 3 {
		t.Fatalf("3 verifications without a stream made %d calls to keyward, want 3", n)
	}

	// Back: it reconnects by itself and answers from memory again.
	s.proxy.refuseStream.Store(false)
	s.waitLive(t, true)
	s.verify(t, in)
	before = s.proxy.verifies.Load()
	s.verify(t, in)
	if n := s.proxy.verifies.Load() - before; n != 0 {
		t.Fatalf("after reconnecting, a cached verification made %d calls, want 0", n)
	}
}

func TestLocalCacheKeepsOnlyFreshAnswers(t *testing.T) {
	s := newLocalSetup(t)
	limited := s.srv.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "limited", RateLimit: &keyward.RateLimit{Limit: 1000, Window: keyward.Duration(time.Minute)}})
	plain := s.srv.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "plain"})
	s.waitFor(t, plain.ID) // the stream's position is past both keys

	count := func(in keyward.VerifyInput, n int) int64 {
		before := s.proxy.verifies.Load()
		for range n {
			if r := s.verify(t, in); !r.Valid {
				t.Fatalf("Verify = %+v", r)
			}
		}
		return s.proxy.verifies.Load() - before
	}
	// A rate-limited key's budget is counted by keyward: always asked.
	if n := count(keyward.VerifyInput{Key: limited.Secret}, 3); n != 3 {
		t.Fatalf("3 verifications of a rate-limited key made %d calls, want 3", n)
	}
	// Every question carries the stream's position; an answer older than
	// it (a keyward that ignored the position) is refused: fail closed.
	for _, seq := range []string{"0", ""} {
		s.proxy.seqOverride.Store(&seq)
		if _, err := s.lc.Verify(context.Background(), keyward.VerifyInput{Key: plain.Secret}); err == nil {
			t.Fatalf("position %q: an answer older than the stream was accepted", seq)
		}
	}
	s.proxy.seqOverride.Store(nil)
	if min := s.proxy.lastMin.Load(); min == nil || *min == "" {
		t.Fatalf("verify requests carry %s = %v, want the stream's position", minChangeSeqHeader, min)
	}
	if n := count(keyward.VerifyInput{Key: plain.Secret}, 3); n != 1 {
		t.Fatalf("with a fresh position: 3 verifications made %d calls, want 1", n)
	}
	// Unknown keys are asked every time.
	bogus := keyward.VerifyInput{Key: "kwp_" + "0123456789abcdef0123456789abcdef01234"}
	before := s.proxy.verifies.Load()
	for range 2 {
		if r := s.verify(t, bogus); r.Valid || r.Code != keyward.VerifyInvalid {
			t.Fatalf("unknown key = %+v", r)
		}
	}
	if n := s.proxy.verifies.Load() - before; n != 2 {
		t.Fatalf("2 verifications of an unknown key made %d calls, want 2", n)
	}
}

// BenchmarkLocalCacheHit measures a verification answered from memory: a
// cached key with an IP allowlist and a required scope.
func BenchmarkLocalCacheHit(b *testing.B) {
	s := newLocalSetup(b)
	k := s.srv.MustKey(b, nil, s.pid, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"}, IPAllowlist: []string{"10.0.0.0/8"}})
	s.waitFor(b, k.ID)
	in := keyward.VerifyInput{Key: k.Secret, IP: "10.1.2.3", Scopes: []string{"orders:read"}}
	ctx := context.Background()
	if r, err := s.lc.Verify(ctx, in); err != nil || !r.Valid {
		b.Fatalf("Verify = %+v, %v", r, err)
	}
	before := s.proxy.verifies.Load()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.lc.Verify(ctx, in); err != nil || !r.Valid {
			b.Fatalf("Verify = %+v, %v", r, err)
		}
	}
	if n := s.proxy.verifies.Load() - before; n != 0 {
		b.Fatalf("%d calls to keyward during the benchmark", n)
	}
}

// A key in use is asked about again once per TTL, however often the stream
// stays quiet: that answer is what records the use in keyward, so the key's
// last_used_at lags by at most the TTL.
func TestLocalCacheAsksAgainAfterTTL(t *testing.T) {
	s := newLocalSetup(t)
	k := s.srv.MustKey(t, nil, s.pid, keyward.CreateKeyInput{Name: "customer"})
	s.waitFor(t, k.ID)
	in := keyward.VerifyInput{Key: k.Secret}
	start := time.Now()
	s.lc.now = func() time.Time { return start } // only Verify reads it, on this goroutine

	s.verify(t, in) // asks keyward, kept
	before := s.proxy.verifies.Load()
	s.verify(t, in)
	if n := s.proxy.verifies.Load() - before; n != 0 {
		t.Fatalf("a cached key within its TTL made %d calls to keyward, want 0", n)
	}
	s.lc.now = func() time.Time { return start.Add(s.lc.opts.TTL) }
	if r := s.verify(t, in); !r.Valid {
		t.Fatalf("Verify after the TTL = %+v", r)
	}
	if n := s.proxy.verifies.Load() - before; n != 1 {
		t.Fatalf("a key used after its TTL made %d calls to keyward, want 1", n)
	}
}
