package service

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/keyward/keyward"
)

// Password guessing at sign-in is limited three ways. Every attempt is
// counted before its password is checked, so attempts sent in parallel
// cannot all pass one check; an attempt stays counted unless it succeeds
// or the server could not check it (all hash slots busy, a store error).
//
//   - Per address and account: 5 attempts in 15 minutes. A success clears
//     the pair.
//   - Per address, over all accounts: 30 attempts in 15 minutes. (An IPv6
//     address counts as its /64.)
//   - Per account, from all addresses together, the account is only slowed,
//     never locked: its password is checked by one attempt at a time, and
//     after its 5th failure in 15 minutes each failure keeps the account
//     busy for 1 s, then 2, 4, 8 and at most 10 s. While it is busy,
//     attempts from addresses the account signed in from before wait for
//     their turn first, then attempts from addresses that have made no
//     attempt on it in the window (up to 20 s, 64 at most); others are
//     refused at once with Retry-After.
//
// So knowing someone's email is not enough to lock them out: failures from
// other addresses never refuse the right password from theirs, they can at
// most make it wait for the account's turn (one turn, at most 10 s, from an
// address the person signed in from before). And however many addresses an
// attacker has, an account's password is checked at most once every 10 s
// after its first nine failures in a window: at most 98 guesses in 15
// minutes, under 400 an hour, where 5 per address would give a thousand
// addresses 20,000 an hour. A person waits at most one such turn. The
// counts are in memory, per node.
const (
	signinWindow        = 15 * time.Minute
	signinPairAttempts  = 5
	signinAddrAttempts  = 30
	accountFreeFailures = 5                // failures before an account slows down
	accountMaxDelay     = 10 * time.Second // the longest a failure keeps an account busy
	accountWait         = 20 * time.Second // the longest an attempt waits for its turn
	accountMaxWaiting   = 64               // attempts waiting for one account's turn
	accountKnownAddrs   = 4                // addresses remembered per account
	gateMaxAccounts     = 100_000          // accounts remembered before old ones are dropped
)

// accountDelay is how long the n-th failure of an account in its window
// keeps the account busy.
func accountDelay(n int) time.Duration {
	if n < accountFreeFailures {
		return 0
	}
	return min(time.Second<<min(n-accountFreeFailures, 4), accountMaxDelay)
}

// signinGuard holds the sign-in throttles.
type signinGuard struct {
	clock    keyward.Clock
	byAddr   *throttle[string] // attempts per client address
	byPair   *throttle[string] // attempts per address and account
	accounts *accountGate
}

func newSigninGuard(clock keyward.Clock) *signinGuard {
	return &signinGuard{
		clock:    clock,
		byAddr:   newThrottle[string](signinAddrAttempts, signinWindow),
		byPair:   newThrottle[string](signinPairAttempts, signinWindow),
		accounts: &accountGate{clock: clock, accounts: map[string]*accountTurn{}, known: map[string][]string{}},
	}
}

// addrKey is the address an attempt is counted under: an IPv6 client
// counts as its /64, the block one subscriber gets, so that new addresses
// from one block are not new guessers.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// signinAttempt is one sign-in that has been counted and holds its
// account's turn. It ends with exactly one of failed, succeeded, cancel.
type signinAttempt struct {
	g          *signinGuard
	email      string
	addr, pair string
	at         time.Time
	turn       *accountTurn
}

// begin counts an attempt of email from addr and waits for the account's
// turn, or refuses it with RATE_LIMITED.
func (g *signinGuard) begin(ctx context.Context, email, addr string) (*signinAttempt, error) {
	addr = addrKey(addr)
	now := g.clock.Now()
	if _, err := g.byAddr.take(addr, now); err != nil {
		return nil, err
	}
	pair := addr + "\x00" + email
	prior, err := g.byPair.take(pair, now)
	if err != nil {
		g.byAddr.release(addr, now)
		return nil, err
	}
	turn, err := g.accounts.enter(ctx, email, addr, prior == 0)
	if err != nil {
		return nil, err // counted: an address cannot retry for free
	}
	return &signinAttempt{g: g, email: email, addr: addr, pair: pair, at: now, turn: turn}, nil
}

// failed ends an attempt whose password was wrong: it stays counted.
func (a *signinAttempt) failed() {
	a.g.accounts.leave(a.turn, true)
}

// succeeded ends an attempt that signed in: the pair's count is cleared,
// the address's attempt given back and the address remembered for the
// account. The account's failures stay counted.
func (a *signinAttempt) succeeded() {
	a.g.byPair.reset(a.pair)
	a.g.byAddr.release(a.addr, a.at)
	a.g.accounts.remember(a.email, a.addr)
	a.g.accounts.leave(a.turn, false)
}

// cancel ends an attempt whose password was never checked.
func (a *signinAttempt) cancel() {
	a.g.byPair.release(a.pair, a.at)
	a.g.byAddr.release(a.addr, a.at)
	a.g.accounts.leave(a.turn, false)
}

// accountGate lets one password check per account run at a time, and
// keeps an account busy for a while after each failure beyond its first
// few (see accountDelay).
type accountGate struct {
	clock    keyward.Clock
	mu       sync.Mutex
	accounts map[string]*accountTurn
	known    map[string][]string // per account, the last addresses it signed in from
}

// accountTurn is one account's state in the gate.
type accountTurn struct {
	email     string
	busy      bool            // a check runs, or a failure's delay
	known     []chan struct{} // waiting attempts from known addresses: served first
	fresh     []chan struct{} // waiting attempts from addresses new to the account
	fails     int             // failures in the window that began at start
	start     time.Time
	busyUntil time.Time // wall time the current delay ends (for Retry-After)
}

// enter takes email's turn for an attempt from addr; fresh says addr has
// made no other attempt on email in the window. While the account is busy,
// attempts from known and fresh addresses wait (up to accountWait), and
// the others are refused at once.
func (g *accountGate) enter(ctx context.Context, email, addr string, fresh bool) (*accountTurn, error) {
	g.mu.Lock()
	st := g.accounts[email]
	if st == nil {
		if len(g.accounts) >= gateMaxAccounts { // bound memory under a flood
			now := g.clock.Now()
			for k, old := range g.accounts {
				if !old.busy && now.Sub(old.start) >= signinWindow {
					delete(g.accounts, k)
				}
			}
		}
		st = &accountTurn{email: email}
		g.accounts[email] = st
	}
	if !st.busy {
		st.busy = true
		g.mu.Unlock()
		return st, nil
	}
	queue := &st.fresh
	if slices.Contains(g.known[email], addr) {
		queue = &st.known
	} else if !fresh {
		queue = nil
	}
	// Known and fresh addresses wait in places of their own: fresh ones,
	// which anyone with many addresses can supply, must never fill the
	// places of the addresses the account's person signed in from (at
	// most accountKnownAddrs of them).
	if queue == nil || len(*queue) >= accountMaxWaiting {
		until := st.busyUntil
		g.mu.Unlock()
		return nil, errAccountBusy(until)
	}
	ch := make(chan struct{}, 1)
	*queue = append(*queue, ch)
	g.mu.Unlock()

	t := time.NewTimer(accountWait)
	defer t.Stop()
	select {
	case <-ch:
		return st, nil
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !dropWaiter(queue, ch) {
		return st, nil // handed the turn as it gave up: it is this attempt's
	}
	return nil, errAccountBusy(st.busyUntil)
}

func errAccountBusy(until time.Time) error {
	e := keyward.Errorf(keyward.CodeRateLimited, "Too many sign-in attempts for this account right now; try again in a few seconds")
	e.RetryAfter = max(time.Until(until), time.Second)
	return e
}

// dropWaiter removes ch from q, and reports whether it was there.
func dropWaiter(q *[]chan struct{}, ch chan struct{}) bool {
	i := slices.Index(*q, ch)
	if i < 0 {
		return false
	}
	*q = slices.Delete(*q, i, i+1)
	return true
}

// leave gives the account's turn to the next waiting attempt: at once, or,
// after a failure, once the account's delay has passed. The delay runs
// whether or not the client waits for the answer.
func (g *accountGate) leave(st *accountTurn, failed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var delay time.Duration
	if failed {
		now := g.clock.Now()
		if st.fails == 0 || now.Sub(st.start) >= signinWindow {
			st.fails, st.start = 0, now
		}
		st.fails++
		delay = accountDelay(st.fails)
		st.busyUntil = time.Now().Add(delay)
	}
	if delay > 0 {
		time.AfterFunc(delay, func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.next(st)
		})
		return
	}
	g.next(st)
}

// next hands st's turn to its next waiting attempt, known addresses first,
// or frees it; an account with nothing left to remember is forgotten.
// g.mu is held.
func (g *accountGate) next(st *accountTurn) {
	for _, q := range []*[]chan struct{}{&st.known, &st.fresh} {
		if len(*q) > 0 {
			ch := (*q)[0]
			*q = (*q)[1:]
			ch <- struct{}{}
			return
		}
	}
	st.busy = false
	if (st.fails == 0 || g.clock.Now().Sub(st.start) >= signinWindow) && g.accounts[st.email] == st {
		delete(g.accounts, st.email)
	}
}

// remember notes that email signed in from addr: its later attempts from
// there wait for the account's turn first.
func (g *accountGate) remember(email, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	addrs := g.known[email]
	if slices.Contains(addrs, addr) {
		return
	}
	if addrs == nil && len(g.known) >= gateMaxAccounts {
		for k := range g.known { // drop one: a bound, not a policy
			delete(g.known, k)
			break
		}
	}
	if len(addrs) >= accountKnownAddrs {
		addrs = addrs[1:]
	}
	g.known[email] = append(slices.Clip(addrs), addr)
}
