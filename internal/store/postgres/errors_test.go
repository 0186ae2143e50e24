package postgres

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := keyward.ErrorCode(err); got != want {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, want)
	}
}

// checkUnavailable calls the store's kinds of methods and wants UNAVAILABLE
// from each, never a panic.
func checkUnavailable(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	wantCode(t, "Ping", s.Ping(ctx), keyward.CodeUnavailable)
	_, err := s.GetOrg(ctx, keyward.NewID(keyward.PrefixOrg))
	wantCode(t, "GetOrg", err, keyward.CodeUnavailable)
	_, err = s.GetKeyByDigest(ctx, []byte("digest"))
	wantCode(t, "GetKeyByDigest", err, keyward.CodeUnavailable)
	_, err = s.ListKeys(ctx, keyward.KeyFilter{OrgID: "org"})
	wantCode(t, "ListKeys", err, keyward.CodeUnavailable)
	err = s.CreateUser(ctx, &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "x@example.com"})
	wantCode(t, "CreateUser", err, keyward.CodeUnavailable)
	err = s.InTx(ctx, func(keyward.Queries) error { return nil })
	wantCode(t, "InTx", err, keyward.CodeUnavailable)
}

// TestUnreachableServer needs no database: nothing listens on port 1.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	const url = "postgres://postgres@127.0.0.1:1/test?sslmode=disable"
	_, err := Open(t.Context(), url)
	wantCode(t, "Open", err, keyward.CodeUnavailable)
	wantCode(t, "Migrate", Migrate(t.Context(), url), keyward.CodeUnavailable)

	s, err := newStore(url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkUnavailable(t, s)
}

func TestInvalidURLHidesPassword(t *testing.T) {
	t.Parallel()
	const url = "postgres://ann:s3cret-pw@127.0.0.1:notaport/db"
	for name, err := range map[string]error{
		"Open":    func() error { _, err := Open(t.Context(), url); return err }(),
		"Migrate": Migrate(t.Context(), url),
	} {
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s(invalid URL) = %v; want an error without the password", name, err)
		}
	}
}

// proxy forwards TCP connections to target until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		// Either side ending ends the copy; how it ended is not the test's.
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// stop closes the listener and every forwarded connection: the server is
// gone for the client.
func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestServerGoneIsUnavailable opens a store through a proxy, then cuts the
// proxy: pooled connections break and new ones are refused, and every call
// answers UNAVAILABLE.
func TestServerGoneIsUnavailable(t *testing.T) {
	t.Parallel()
	setup(t)
	name := createDB(t, server.template)
	p := newProxy(t, server.base.Host)
	u := *server.base
	u.Path, u.Host = "/"+name, p.ln.Addr().String()
	s, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	defer s.Close()
	if _, err := s.CountOrgs(t.Context()); err != nil {
		t.Fatalf("CountOrgs before the cut: %v", err)
	}
	// A transaction in flight when the server goes away.
	inTx := make(chan error, 1)
	locked := make(chan struct{})
	go func() {
		inTx <- s.InTx(t.Context(), func(q keyward.Queries) error {
			if _, err := q.CountOrgs(t.Context()); err != nil {
				return err
			}
			close(locked)
			time.Sleep(200 * time.Millisecond)
			_, err := q.CountOrgs(t.Context())
			return err
		})
	}()
	<-locked
	p.stop()
	if err := <-inTx; keyward.ErrorCode(err) != keyward.CodeUnavailable {
		t.Errorf("InTx across the cut: %v, want UNAVAILABLE", err)
	}
	checkUnavailable(t, s)
}

// TestConflictKeepsTransactionUsable: a duplicate found by a Create method
// inside InTx does not abort the PostgreSQL transaction, as on SQLite.
func TestConflictKeepsTransactionUsable(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := t.Context()
	now := keyward.SystemClock{}.Now()
	ann := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "ann@example.com", CreatedAt: now}
	if err := s.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	bob := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "bob@example.com", CreatedAt: now}
	err := s.InTx(ctx, func(q keyward.Queries) error {
		dup := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "ANN@example.com", CreatedAt: now}
		wantCode(t, "CreateUser(duplicate) in a transaction", q.CreateUser(ctx, dup), keyward.CodeConflict)
		return q.CreateUser(ctx, bob)
	})
	if err != nil {
		t.Fatalf("InTx after a CONFLICT: %v", err)
	}
	if _, err := s.GetUser(ctx, bob.ID); err != nil {
		t.Errorf("GetUser(committed after a CONFLICT): %v", err)
	}
}

// TestFailedStatementFailsCommit: a statement that fails aborts a
// PostgreSQL transaction; if fn ignores the error, InTx still fails and
// commits nothing.
func TestFailedStatementFailsCommit(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := t.Context()
	now := keyward.SystemClock{}.Now()
	ann := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "ann@example.com", CreatedAt: now}
	bob := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "bob@example.com", CreatedAt: now}
	for _, u := range []*keyward.User{ann, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	cy := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "cy@example.com", CreatedAt: now}
	err := s.InTx(ctx, func(q keyward.Queries) error {
		taken := *bob
		taken.Email = ann.Email
		wantCode(t, "UpdateUser(taken email)", q.UpdateUser(ctx, &taken), keyward.CodeConflict)
		_ = q.CreateUser(ctx, cy) // fails: the transaction is aborted
		return nil
	})
	if err == nil {
		t.Fatal("InTx committed a transaction with a failed statement")
	}
	_, err = s.GetUser(ctx, cy.ID)
	wantCode(t, "GetUser(written after the failure)", err, keyward.CodeNotFound)
}

// TestUnstorableText: PostgreSQL text and jsonb cannot hold NUL characters;
// the store answers INVALID_REQUEST, not INTERNAL.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := t.Context()
	now := keyward.SystemClock{}.Now()
	err := s.CreateUser(ctx, &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "a@example.com", Name: "a\x00b", CreatedAt: now})
	wantCode(t, "CreateUser(NUL in name)", err, keyward.CodeInvalidRequest)
	o := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: "o", Slug: "o", Settings: keyward.DefaultSettings(), CreatedAt: now}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	err = s.CreateKey(ctx, &keyward.Key{ID: keyward.NewID(keyward.PrefixKey), Kind: keyward.KindOrg, OrgID: o.ID,
		CreatedAt: now, CreatedBy: keyward.ActorRef{Type: keyward.ActorSystem},
		Metadata: map[string]string{"k": "v\x00"}, Digest: []byte("d")})
	wantCode(t, "CreateKey(NUL in metadata)", err, keyward.CodeInvalidRequest)
	if strings.Contains(keyward.AsError(err).Message, "v\x00") {
		t.Errorf("public message quotes the value: %q", keyward.AsError(err).Message)
	}
}
