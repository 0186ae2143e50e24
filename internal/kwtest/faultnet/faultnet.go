// Package faultnet is a TCP proxy on loopback that a test controls, to
// make the network between a process and its database or Redis fail the
// ways real networks do, which a process cannot tell from a slow peer:
// a partition or a NAT that lost the connection's state (bytes vanish,
// nothing comes back, no reset), and latency.
//
// Each Proxy forwards the connections it accepts to one target. A Rule
// says what happens to their bytes: Pass, Blackhole, or Pass with a Delay.
// The proxy's rule applies to all its connections, existing and new; a
// Mark names the connections whose client has sent a given pattern (say
// "LISTEN " for PostgreSQL's LISTEN connection), and a rule set for a mark
// overrides the proxy's rule for those connections, existing and new,
// from the chunk that contains the pattern on.
//
// A blackholed connection stays open: both directions are read and
// discarded, nothing is sent, and a close by one side is not passed on (a
// partition does not deliver a FIN either). Its byte stream then has
// holes that no protocol survives, so once its rule no longer drops, the
// proxy closes it: that is what the client sees when a partition heals
// after its TCP gave up, or when a NAT answers a forgotten connection
// with a reset. A connection that lost nothing is left alone.
//
// Unlike a real blackhole, the kernel still acknowledges what the client
// sends (the proxy reads it): TCP keepalives and TCP_USER_TIMEOUT do not
// fire, and only a check in the protocol itself (a heartbeat with a
// deadline) finds the connection dead.
package faultnet

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Rule is what happens to a connection's bytes, in both directions.
type Rule struct {
	// Drop blackholes the connection: bytes are read and discarded.
	Drop bool
	// Delay is added to every chunk forwarded, in each direction.
	Delay time.Duration
}

// The two rules without latency.
var (
	Pass      = Rule{}
	Blackhole = Rule{Drop: true}
)

// Delay is Pass with latency d added in each direction.
func Delay(d time.Duration) Rule { return Rule{Delay: d} }

// Mark names the connections whose client bytes contain Pattern (ASCII
// letters compared without case: go-redis sends "subscribe", redis-cli
// "SUBSCRIBE"). A connection keeps a mark once it has it.
type Mark struct {
	Name    string
	Pattern string
}

// maxMarks is how many marks a proxy tells apart (bits of a uint64).
const maxMarks = 64

// Proxy forwards connections on a loopback port to one target.
type Proxy struct {
	ln     net.Listener
	target string
	marks  []Mark

	mu        sync.Mutex
	rule      Rule
	markRules map[string]Rule
	conns     map[*conn]struct{}
	closed    bool

	wg sync.WaitGroup // the accept loop and every connection's pumps
}

// New starts a proxy on 127.0.0.1 to target (host:port), passing
// everything until told otherwise.
func New(target string, marks ...Mark) (*Proxy, error) {
	if len(marks) > maxMarks {
		return nil, errors.New("faultnet: too many marks")
	}
	for _, m := range marks {
		if m.Name == "" || m.Pattern == "" {
			return nil, errors.New("faultnet: a mark needs a name and a pattern")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, marks: marks, markRules: map[string]Rule{}, conns: map[*conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port clients connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set makes r the rule of every connection without a marked rule,
// existing and new.
func (p *Proxy) Set(r Rule) {
	p.mu.Lock()
	p.rule = r
	p.mu.Unlock()
	p.closeHealed()
}

// SetMark makes r the rule of the connections carrying mark name, existing
// and new, over the proxy's own rule.
func (p *Proxy) SetMark(name string, r Rule) {
	p.mu.Lock()
	p.markRules[name] = r
	p.mu.Unlock()
	p.closeHealed()
}

// ClearMark returns the connections carrying mark name to the proxy's rule.
func (p *Proxy) ClearMark(name string) {
	p.mu.Lock()
	delete(p.markRules, name)
	p.mu.Unlock()
	p.closeHealed()
}

// Conns counts the open connections carrying mark name, or all of them
// for "".
func (p *Proxy) Conns(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name == "" {
		return len(p.conns)
	}
	bit := p.markBit(name)
	n := 0
	for c := range p.conns {
		if c.marks.Load()&bit != 0 {
			n++
		}
	}
	return n
}

// Close stops accepting and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) markBit(name string) uint64 {
	for i, m := range p.marks {
		if m.Name == name {
			return 1 << i
		}
	}
	return 0
}

// ruleOf is the rule for a connection with the given marks: that of its
// first mark (in the order given to New) with a rule, else the proxy's.
func (p *Proxy) ruleOf(marks uint64) Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range p.marks {
		if marks&(1<<i) == 0 {
			continue
		}
		if r, ok := p.markRules[m.Name]; ok {
			return r
		}
	}
	return p.rule
}

// closeHealed closes the connections that lost bytes and are no longer
// dropped: their streams have holes.
func (p *Proxy) closeHealed() {
	p.mu.Lock()
	var heal []*conn
	for c := range p.conns {
		if c.lossy.Load() {
			heal = append(heal, c)
		}
	}
	p.mu.Unlock()
	for _, c := range heal {
		if !p.ruleOf(c.marks.Load()).Drop {
			c.close()
		}
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close() // the target is down: the client sees a closed connection
			continue
		}
		c := &conn{p: p, client: client, server: server}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
			continue
		}
		p.conns[c] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go c.pump(client, server, true)
		go c.pump(server, client, false)
	}
}

// conn is one proxied connection.
type conn struct {
	p              *Proxy
	client, server net.Conn
	marks          atomic.Uint64 // bits of the marks found in the client's bytes
	lossy          atomic.Bool   // bytes were discarded, or a close withheld
	tail           []byte        // the client's last bytes, for patterns across reads (client pump only)
	closeOnce      sync.Once
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.client.Close()
		c.server.Close()
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	})
}

// chunk is bytes read, to be written once due.
type chunk struct {
	b   []byte
	due time.Time
}

// pump copies src to dst under the connection's rule. A reader and a
// writer goroutine, so that a delay adds latency without limiting
// throughput: chunks are written in order, each once due.
func (c *conn) pump(src, dst net.Conn, fromClient bool) {
	defer c.p.wg.Done()
	q := make(chan chunk, 64)
	written := make(chan struct{})
	go func() {
		defer close(written)
		for ch := range q {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d) // the latency itself
			}
			// The rule may have changed while the chunk was in flight:
			// bytes on their way into a partition are lost too.
			if c.p.ruleOf(c.marks.Load()).Drop {
				c.lossy.Store(true)
				continue
			}
			if _, err := dst.Write(ch.b); err != nil {
				c.close()
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			b := bytes.Clone(buf[:n])
			if fromClient {
				c.scan(b)
			}
			r := c.p.ruleOf(c.marks.Load())
			if r.Drop {
				c.lossy.Store(true)
			} else {
				q <- chunk{b, time.Now().Add(r.Delay)}
			}
		}
		if err != nil {
			break
		}
	}
	close(q)
	<-written
	if c.p.ruleOf(c.marks.Load()).Drop {
		// A blackhole does not pass the close on: the other side keeps
		// waiting, until the rule heals (then the connection is closed,
		// having lost its close) or the proxy closes.
		c.lossy.Store(true)
		return
	}
	c.close()
}

// scan marks the connection with every pattern the client's bytes now
// contain, including one split across reads.
func (c *conn) scan(b []byte) {
	if len(c.p.marks) == 0 {
		return
	}
	window := bytes.ToLower(append(c.tail, b...))
	longest := 0
	for i, m := range c.p.marks {
		longest = max(longest, len(m.Pattern))
		if bytes.Contains(window, bytes.ToLower([]byte(m.Pattern))) {
			c.marks.Or(1 << i)
		}
	}
	keep := min(len(window), longest-1)
	c.tail = append(c.tail[:0], window[len(window)-keep:]...)
}

// Start is New for a test: it fails t if the proxy cannot listen, and
// closes the proxy when t ends.
func Start(t testing.TB, target string, marks ...Mark) *Proxy {
	t.Helper()
	p, err := New(target, marks...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("closing the fault proxy: %v", err)
		}
	})
	return p
}
