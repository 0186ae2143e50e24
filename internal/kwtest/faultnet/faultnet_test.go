package faultnet

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// quiet is how long a test listens to conclude that nothing arrives. A
// negative result needs some wait; nothing in these tests depends on its
// length beyond "longer than loopback takes".
const quiet = 200 * time.Millisecond

// echo is an upstream server that echoes what it reads and records each
// connection's bytes and whether it saw the connection end.
type echo struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []*echoConn
	added chan *echoConn
}

type echoConn struct {
	net.Conn
	mu    sync.Mutex
	got   bytes.Buffer
	ended chan struct{} // closed when a read fails (EOF, reset)
}

func (e *echoConn) received() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got.String()
}

func newEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{ln: ln, added: make(chan *echoConn, 16)}
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, c := range e.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ec := &echoConn{Conn: c, ended: make(chan struct{})}
			e.mu.Lock()
			e.conns = append(e.conns, ec)
			e.mu.Unlock()
			e.added <- ec
			go func() {
				defer close(ec.ended)
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						ec.mu.Lock()
						ec.got.Write(buf[:n])
						ec.mu.Unlock()
						_, _ = c.Write(buf[:n]) // a failed echo shows as missing bytes at the client
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return e
}

// next returns the upstream side of the proxy's next connection.
func (e *echo) next(t *testing.T) *echoConn {
	t.Helper()
	select {
	case c := <-e.added:
		return c
	case <-time.After(5 * time.Second): // a hang guard
		t.Fatal("the proxy did not connect upstream")
		return nil
	}
}

func newProxy(t *testing.T, e *echo, marks ...Mark) *Proxy {
	t.Helper()
	p, err := New(e.ln.Addr().String(), marks...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads the echo back.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo of %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// silent writes msg and checks that nothing comes back and the
// connection stays open: a read times out, rather than ending.
func silent(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write into the blackhole: %v (it must accept bytes)", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(quiet)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(make([]byte, 64))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a blackhole: %d bytes, %v; want nothing and a timeout", n, err)
	}
}

// ended checks that c was closed by the proxy: a read ends without data.
func ended(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(make([]byte, 64))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %d bytes, %v; want the connection closed", n, err)
	}
}

func TestPass(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "hello")
	roundTrip(t, c, "again")
	if got := e.next(t).received(); got != "helloagain" {
		t.Errorf("upstream received %q", got)
	}
	if n := p.Conns(""); n != 1 {
		t.Errorf("Conns = %d, want 1", n)
	}
}

// A blackhole takes existing and new connections, sends nothing either
// way and keeps them open; when it heals, the connections that lost
// bytes are closed and new ones pass.
func TestBlackhole(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	old := dial(t, p)
	roundTrip(t, old, "before")
	up := e.next(t)

	p.Set(Blackhole)
	silent(t, old, "lost")
	fresh := dial(t, p) // a new connection, made during the partition
	upFresh := e.next(t)
	silent(t, fresh, "lost too")
	if got := up.received(); got != "before" {
		t.Errorf("upstream received %q through a blackhole", got)
	}
	if got := upFresh.received(); got != "" {
		t.Errorf("upstream of the new connection received %q through a blackhole", got)
	}

	// Heal: both connections lost bytes, so both are closed.
	p.Set(Pass)
	ended(t, old)
	ended(t, fresh)
	roundTrip(t, dial(t, p), "after")
}

// A connection that lost nothing survives a blackhole.
func TestBlackholeIdle(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "x")
	p.Set(Blackhole)
	p.Set(Pass)
	roundTrip(t, c, "still here")
}

// A blackhole swallows the bytes the server sends, too.
func TestBlackholeServerBytes(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "x")
	up := e.next(t)
	p.Set(Blackhole)
	if _, err := up.Write([]byte("notification")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(quiet)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the client read %d bytes, %v through a blackhole", n, err)
	}
	p.Set(Pass)
	ended(t, c) // it lost the notification
}

// A close on one side does not cross a blackhole: the server keeps its
// connection until the blackhole heals.
func TestBlackholeWithholdsClose(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "x")
	up := e.next(t)
	p.Set(Blackhole)
	c.Close()
	select {
	case <-up.ended:
		t.Fatal("the server saw the client's close through a blackhole")
	case <-time.After(quiet):
	}
	p.Set(Pass)
	select {
	case <-up.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's connection stayed open after the blackhole healed")
	}
}

// A mark picks connections by what their client sent, including a
// pattern split across writes and in another case; its rule overrides the
// proxy's, for existing and new connections, and clearing it returns
// them to the proxy's rule.
func TestMark(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e, Mark{Name: "listen", Pattern: "LISTEN "})
	plain := dial(t, p)
	roundTrip(t, plain, "SELECT 1")
	listener := dial(t, p)
	roundTrip(t, listener, "LIS")
	roundTrip(t, listener, "ten keyward_key_changes")
	if n := p.Conns("listen"); n != 1 {
		t.Fatalf("Conns(listen) = %d, want 1", n)
	}

	p.SetMark("listen", Blackhole)
	silent(t, listener, "SELECT 2")
	roundTrip(t, plain, "SELECT 3")

	// A new connection is dropped from the chunk carrying the pattern on.
	later := dial(t, p)
	roundTrip(t, later, "startup")
	silent(t, later, "LISTEN other")

	// The proxy's rule does not undo the mark's.
	p.Set(Pass)
	silent(t, listener, "SELECT 4")

	p.ClearMark("listen")
	ended(t, listener)
	ended(t, later)
	roundTrip(t, plain, "SELECT 5")
}

// A marked rule can also pass connections the proxy drops.
func TestMarkPassesThroughBlackhole(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e, Mark{Name: "sub", Pattern: "subscribe"})
	sub := dial(t, p)
	roundTrip(t, sub, "SUBSCRIBE ch")
	other := dial(t, p)
	roundTrip(t, other, "PUBLISH ch 1")
	p.SetMark("sub", Pass)
	p.Set(Blackhole)
	roundTrip(t, sub, "PING")
	silent(t, other, "PUBLISH ch 2")
}

// A delay adds at least that latency in each direction.
func TestDelay(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "warm")
	const d = 50 * time.Millisecond
	p.Set(Delay(d))
	start := time.Now()
	roundTrip(t, c, "slow")
	if rt := time.Since(start); rt < 2*d {
		t.Errorf("round trip %v with %v added each way", rt, d)
	}
	p.Set(Pass)
	roundTrip(t, c, "fast again")
}

// Chunks in flight when a blackhole begins are lost, not delivered late.
func TestDelayThenBlackhole(t *testing.T) {
	e := newEcho(t)
	p := newProxy(t, e)
	c := dial(t, p)
	roundTrip(t, c, "x")
	up := e.next(t)
	p.Set(Delay(quiet))
	if _, err := c.Write([]byte("in flight")); err != nil {
		t.Fatal(err)
	}
	p.Set(Blackhole)
	time.Sleep(2 * quiet) // past the chunk's due time
	if got := up.received(); got != "x" {
		t.Errorf("upstream received %q; the chunk in flight should have been lost", got)
	}
}

// A target that refuses connections closes the client's.
func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ended(t, dial(t, p))
}

func TestClose(t *testing.T) {
	e := newEcho(t)
	p, err := New(e.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	roundTrip(t, c, "x")
	p.Set(Blackhole)
	silent(t, c, "y")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ended(t, c)
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("the proxy still accepts after Close")
	}
}
