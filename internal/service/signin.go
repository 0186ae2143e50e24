package service

import (
	"context"
	"sync"
	"time"

	"github.com/keyward/keyward"
)

// Password guessing at sign-in is limited three ways. Every attempt is
// counted before its password is checked, so attempts sent in parallel
// cannot all pass one check.
//
//   - Per address and account: 5 attempts in 15 minutes. A failure stays
//     counted; a success clears the pair.
//   - Per address, over all accounts: 30 attempts in 15 minutes.
//   - Per account, from all addresses together, the account is only slowed,
//     never locked: its password is checked by one attempt at a time, and
//     after its 5th failure in 15 minutes each failure keeps the account
//     busy for 1 s, then 2, 4, 8 and at most 10 s. While it is busy, an
//     address that has made no attempt on the account in the window waits
//     for its turn (up to 20 s); an address that has is refused at once
//     with Retry-After.
//
// So knowing someone's email is not enough to lock them out: failures from
// other addresses never refuse the right password from theirs, they can at
// most make it wait for the account's turn. And however many addresses an
// attacker has, an account's password is checked at most once every 10 s
// after its first nine failures in a window: about 360 guesses an hour.
// The counts are in memory, per node.
const (
	signinWindow        = 15 * time.Minute
	signinPairAttempts  = 5
	signinAddrAttempts  = 30
	accountFreeFailures = 5                // failures before an account slows down
	accountMaxDelay     = 10 * time.Second // the longest a failure keeps an account busy
	accountWait         = 20 * time.Second // the longest a new address waits for its turn
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
		accounts: &accountGate{clock: clock, accounts: map[string]*accountTurn{}},
	}
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
	turn, err := g.accounts.enter(ctx, email, prior == 0)
	if err != nil {
		g.byPair.release(pair, now)
		g.byAddr.release(addr, now)
		return nil, err
	}
	return &signinAttempt{g: g, email: email, addr: addr, pair: pair, at: now, turn: turn}, nil
}

// failed ends an attempt whose password was wrong: it stays counted.
func (a *signinAttempt) failed() {
	a.g.accounts.leave(a.email, a.turn, true)
}

// succeeded ends an attempt that signed in: the pair's count is cleared and
// the address's attempt given back. The account's failures stay counted.
func (a *signinAttempt) succeeded() {
	a.g.byPair.reset(a.pair)
	a.g.byAddr.release(a.addr, a.at)
	a.g.accounts.leave(a.email, a.turn, false)
}

// cancel ends an attempt whose password was never checked.
func (a *signinAttempt) cancel() {
	a.g.byPair.release(a.pair, a.at)
	a.g.byAddr.release(a.addr, a.at)
	a.g.accounts.leave(a.email, a.turn, false)
}

// accountGate lets one password check per account run at a time, and
// keeps an account busy for a while after each failure beyond its first
// few (see accountDelay).
type accountGate struct {
	clock    keyward.Clock
	mu       sync.Mutex
	accounts map[string]*accountTurn
}

// accountTurn is one account's state in the gate.
type accountTurn struct {
	turn      chan struct{} // holds a token while no check of the account runs
	users     int           // attempts holding or waiting for the token
	fails     int           // failures in the window that began at start
	start     time.Time
	busyUntil time.Time // wall time the current holder's delay ends (for Retry-After)
}

// enter takes email's turn. With wait, it waits for the turn (up to
// accountWait); without, it is refused at once while the account is busy.
func (g *accountGate) enter(ctx context.Context, email string, wait bool) (*accountTurn, error) {
	g.mu.Lock()
	st := g.accounts[email]
	if st == nil {
		if len(g.accounts) > 100_000 { // bound memory under a flood
			now := g.clock.Now()
			for k, old := range g.accounts {
				if old.users == 0 && (old.fails == 0 || now.Sub(old.start) >= signinWindow) {
					delete(g.accounts, k)
				}
			}
		}
		st = &accountTurn{turn: make(chan struct{}, 1)}
		st.turn <- struct{}{}
		g.accounts[email] = st
	}
	st.users++
	busyUntil := st.busyUntil
	g.mu.Unlock()

	select {
	case <-st.turn:
		return st, nil
	default:
	}
	if wait {
		t := time.NewTimer(accountWait)
		defer t.Stop()
		select {
		case <-st.turn:
			return st, nil
		case <-t.C:
		case <-ctx.Done():
		}
	}
	g.done(email, st)
	e := keyward.Errorf(keyward.CodeRateLimited, "Too many sign-in attempts for this account right now; try again in a few seconds")
	e.RetryAfter = max(time.Until(busyUntil), time.Second)
	return nil, e
}

// leave gives email's turn back: at once, or, after a failure, once the
// account's delay has passed. The delay runs whether or not the client
// waits for the answer.
func (g *accountGate) leave(email string, st *accountTurn, failed bool) {
	var delay time.Duration
	if failed {
		now := g.clock.Now()
		g.mu.Lock()
		if st.fails == 0 || now.Sub(st.start) >= signinWindow {
			st.fails, st.start = 0, now
		}
		st.fails++
		delay = accountDelay(st.fails)
		st.busyUntil = time.Now().Add(delay)
		g.mu.Unlock()
	}
	give := func() {
		st.turn <- struct{}{}
		g.done(email, st)
	}
	if delay > 0 {
		time.AfterFunc(delay, give)
		return
	}
	give()
}

// done notes that an attempt no longer holds or waits for email's turn,
// and forgets an account nobody uses that has no recent failures.
func (g *accountGate) done(email string, st *accountTurn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st.users--
	if st.users == 0 && (st.fails == 0 || g.clock.Now().Sub(st.start) >= signinWindow) && g.accounts[email] == st {
		delete(g.accounts, email)
	}
}
