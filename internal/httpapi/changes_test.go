package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
)

// changesEvent is the data of one "changes" event.
type changesEvent struct {
	Seq    int64    `json:"seq"`
	KeyIDs []string `json:"key_ids"`
	Live   bool     `json:"live"`
}

// stream is an open GET /v1/key-changes.
type stream struct {
	res    *http.Response
	lines  *bufio.Scanner
	events chan changesEvent // closed when the stream ends
}

// openStream opens path with the given credential header and reads its
// events in the background.
func openStream(t *testing.T, url, path, header, secret string) *stream {
	t.Helper()
	return openStreamWith(t, http.DefaultClient, url, path, header, secret)
}

// openStreamWith is openStream through client.
func openStreamWith(t *testing.T, client *http.Client, url, path, header, secret string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+path, nil)
	req.Header.Set(header, secret)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: status %d, Content-Type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{res: res, lines: bufio.NewScanner(res.Body), events: make(chan changesEvent, 100)}
	go func() {
		defer close(s.events)
		event := ""
		for s.lines.Scan() {
			line := s.lines.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "changes":
				var e changesEvent
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e); err != nil {
					t.Errorf("event data %q: %v", line, err)
					return
				}
				s.events <- e
			}
		}
	}()
	return s
}

// next returns the next event; it fails the test if the stream ends or
// nothing comes within the heartbeat interval twice over.
func (s *stream) next(t *testing.T) changesEvent {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s (the heartbeat is 5 s)")
	}
	panic("unreachable")
}

// until reads events until one names keyID, failing if any event names a
// key in forbidden first. It returns that event.
func (s *stream) until(t *testing.T, keyID string, forbidden ...string) changesEvent {
	t.Helper()
	for {
		e := s.next(t)
		for _, id := range e.KeyIDs {
			if slices.Contains(forbidden, id) {
				t.Fatalf("event %+v names key %s, which the caller may not verify", e, id)
			}
		}
		if slices.Contains(e.KeyIDs, keyID) {
			return e
		}
	}
}

func TestKeyChangesStream(t *testing.T) {
	s := newSetup(t)
	other := s.srv.MustProject(t, "Other")
	otherKey := s.srv.MustKey(t, nil, other.ID, keyward.CreateKeyInput{Name: "elsewhere"})
	target := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "to revoke"})
	// The node's watcher applies those creations in the background: wait
	// for it, or the stream's first event may name them.
	latest, err := s.srv.Store.LatestKeyChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		changed := s.srv.Service.Cache().Changed()
		if pos, _ := s.srv.Service.Cache().Position(); pos >= latest {
			break
		}
		<-changed
	}

	st := openStream(t, s.srv.URL, "/v1/key-changes", "x-api-key", s.key.Secret)
	first := st.next(t)
	if !first.Live || len(first.KeyIDs) != 0 {
		t.Fatalf("first event = %+v, want live with no keys", first)
	}

	// Another project's change is not shown; this project's is, with a
	// later position.
	s.ok(t, "POST", "/v1/org/projects/"+other.ID+"/keys/"+otherKey.ID+"/revoke", nil).want(t, 200)
	s.pk(t, "POST", "/v1/keys/"+target.ID+"/revoke", nil).want(t, 200)
	e := st.until(t, target.ID, otherKey.ID)
	if e.Seq <= first.Seq || !e.Live {
		t.Fatalf("event %+v after %+v: want a later position, live", e, first)
	}

	// A verify answer asked to reflect the stream's position says which
	// change it reflects, at least that one. (Without the header the node
	// may answer from a cache that has not yet applied e.Seq: its watcher
	// and this stream read the log independently.)
	r := do(t, s.srv, "POST", "/v1/verify", map[string]any{"key": target.Secret},
		"x-api-key", s.key.Secret, httpapi.MinChangeSeqHeader, strconv.FormatInt(e.Seq, 10)).want(t, 200)
	seq, err := strconv.ParseInt(r.Header.Get(httpapi.ChangeSeqHeader), 10, 64)
	if err != nil || seq < e.Seq {
		t.Fatalf("%s = %q, want a number >= %d", httpapi.ChangeSeqHeader, r.Header.Get(httpapi.ChangeSeqHeader), e.Seq)
	}
	var res keyward.VerifyResult
	r.decode(t, &res)
	if res.Valid {
		t.Fatal("a revoked key verified as valid")
	}
	// Asked for a position this node has not reached, it answers from the
	// store and vouches for that position.
	ahead := strconv.FormatInt(seq+1000, 10)
	r = do(t, s.srv, "POST", "/v1/verify", map[string]any{"key": otherKeyOfProject(t, s).Secret},
		"x-api-key", s.key.Secret, httpapi.MinChangeSeqHeader, ahead).want(t, 200)
	if got := r.Header.Get(httpapi.ChangeSeqHeader); got != ahead {
		t.Fatalf("asked for %s, answered %s = %q", ahead, httpapi.ChangeSeqHeader, got)
	}
	r.decode(t, &res)
	if !res.Valid {
		t.Fatalf("a valid key read from the store = %+v", res)
	}

	// The org stream shows every project's keys.
	orgStream := openStream(t, s.srv.URL, "/v1/org/key-changes", "x-org-api-key", s.srv.OrgKey)
	orgStream.next(t)
	k2 := s.srv.MustKey(t, nil, other.ID, keyward.CreateKeyInput{Name: "new elsewhere"})
	orgStream.until(t, k2.ID)

	// Revoking the stream's own key ends the stream.
	s.pk(t, "POST", "/v1/keys/"+s.key.ID+"/revoke", nil).want(t, 200)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case _, ok := <-st.events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream of a revoked key stayed open")
		}
	}
}

func TestKeyChangesNeedsVerifyScope(t *testing.T) {
	s := newSetup(t)
	reader := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "reader", Scopes: []string{keyward.ScopeKeysRead}})
	do(t, s.srv, "GET", "/v1/key-changes", nil, "x-api-key", reader.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	do(t, s.srv, "GET", "/v1/key-changes", nil).wantError(t, 401, keyward.CodeAPIKeyMissing)
}

// otherKeyOfProject creates a fresh key in the setup's project.
func otherKeyOfProject(t *testing.T, s *setup) *keyward.Key {
	t.Helper()
	return s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "fresh"})
}

// TestKeyChangesHeartbeatAndExpiry: with nothing to report, a stream sends
// a heartbeat every 5 s, and it ends when the caller's key expires by the
// service's clock, which then refuses the key. It runs in a synctest
// bubble, over in-memory connections: the stream's ticker and timer read
// the bubble's clock, so the minute it covers passes at once and each
// event's time is exact.
func TestKeyChangesHeartbeatAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const beat = 5 * time.Second
		const life = 58 * time.Second // not a multiple of beat: the last beat and the end do not tie
		env := kwtest.NewEnv(t)
		p := env.MustProject(t, "P")
		expires := env.Clock.Now().Add(life)
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "expiring", ExpiresAt: &expires})
		// The node has applied the log so far (its watcher's work), or the
		// stream's first read would find the key's creation and end.
		latest, err := env.Store.LatestKeyChange(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		env.Service.Cache().Advance(latest)
		client, url := serveInMemory(t, httpapi.New(httpapi.Config{Service: env.Service, Logger: kwtest.Logger(t)}))

		start := time.Now()
		st := openStreamWith(t, client, url, "/v1/key-changes", "x-api-key", k.Secret)
		first := st.next(t)
	heartbeats:
		for n := 1; ; n++ {
			select {
			case e, ok := <-st.events:
				if !ok {
					if at := time.Since(start); at != life || n != int(life/beat)+1 {
						t.Fatalf("the stream ended at %v after %d heartbeats, want at %v (the key's expiry) after %d", at, n-1, life, life/beat)
					}
					break heartbeats
				}
				switch at := time.Since(start); {
				case at > life:
					t.Fatalf("heartbeat %d at %v: the stream outlived the caller's key (it expired at %v)", n, at, life)
				case at != time.Duration(n)*beat:
					t.Fatalf("heartbeat %d at %v, want %v", n, at, time.Duration(n)*beat)
				}
				if e.Seq != first.Seq || len(e.KeyIDs) != 0 {
					t.Fatalf("heartbeat %d = %+v, want position %d and no keys", n, e, first.Seq)
				}
			case <-time.After(2 * beat):
				t.Fatalf("no event for %v after heartbeat %d", 2*beat, n-1)
			}
		}

		// By the same clock the key is now refused: the client cannot open
		// the stream again.
		env.Clock.Advance(life)
		req, _ := http.NewRequest("GET", url+"/v1/key-changes", nil)
		req.Header.Set("x-api-key", k.Secret)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		(&resp{Status: res.StatusCode, Header: res.Header, Body: body}).wantError(t, 401, keyward.CodeAPIKeyExpired)
	})
}

// serveInMemory serves api with a real http.Server over in-memory
// connections (net.Pipe), and returns a client that dials it and the
// server's URL. Unlike loopback sockets, these let the server and its
// clients run in a synctest bubble: a goroutine reading a socket is never
// durably blocked, so the bubble's clock would not move.
func serveInMemory(t *testing.T, api *httpapi.API) (*http.Client, string) {
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: api}
	go func() { _ = srv.Serve(l) }()
	tr := &http.Transport{DialContext: l.dial}
	t.Cleanup(func() {
		api.CloseStreams()
		_ = srv.Close()
		tr.CloseIdleConnections()
	})
	return &http.Client{Transport: tr}, "http://keyward.test"
}

// pipeListener is a net.Listener whose connections are net.Pipes that its
// dial makes. The server sees its peer at 127.0.0.1.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return loopback(80) }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- peerConn{server}:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// peerConn is the server's end of a pipe, with loopback addresses.
type peerConn struct{ net.Conn }

func (peerConn) LocalAddr() net.Addr  { return loopback(80) }
func (peerConn) RemoteAddr() net.Addr { return loopback(40000) }

func loopback(port int) net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }
