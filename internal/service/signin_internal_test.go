package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward"
)

// However many addresses guess one account's password, it is checked at
// most as often as signin.go says: the first five failures at once, then
// after 1, 2, 4 and 8 s, then once every 10 s. Meanwhile the account's
// owner, from the address they signed in from before, gets the next turn.
// (In a synctest bubble: the delays pass in fake time.)
func TestAccountGuessesBoundedWhateverTheAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSigninGuard(keyward.SystemClock{})
		ctx := context.Background()
		const victim, addrs, attack = "victim@example.com", 1200, time.Hour
		const home = "203.0.113.9"
		a, err := g.begin(ctx, victim, home)
		if err != nil {
			t.Fatal(err)
		}
		a.succeeded()
		end := time.Now().Add(attack)
		var mu sync.Mutex
		checks := 0
		var wg sync.WaitGroup
		for i := range addrs {
			addr := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
			wg.Go(func() {
				// A new address joins every 3 s: the account never runs
				// out of addresses that may wait for its turn.
				time.Sleep(time.Duration(i) * attack / addrs)
				for time.Now().Before(end) {
					a, err := g.begin(ctx, victim, addr)
					if err != nil {
						time.Sleep(max(keyward.AsError(err).RetryAfter, time.Second))
						continue
					}
					mu.Lock()
					if time.Now().Before(end) {
						checks++
					}
					mu.Unlock()
					time.Sleep(50 * time.Millisecond) // the hash
					a.failed()
				}
			})
		}
		// Halfway through, the owner signs in from their own address.
		time.Sleep(attack / 2)
		start := time.Now()
		a, err = g.begin(ctx, victim, home)
		if err != nil {
			t.Errorf("the owner, mid-attack: %v", err)
		} else {
			if w := time.Since(start); w > accountMaxDelay+time.Second {
				t.Errorf("the owner waited %v for the account's turn; want at most one turn", w)
			}
			a.succeeded()
		}
		wg.Wait()

		// Per 15-minute window: 5 at once, 4 more after 1+2+4+8 s, then one
		// per 10 s (and the 50 ms hashes) for the rest of the window.
		perWindow := 5 + 4 + int((signinWindow-15*time.Second+accountMaxDelay-1)/accountMaxDelay)
		bound := perWindow * int(attack/signinWindow)
		t.Logf("%d addresses, %v: %d guesses checked (bound %d; %d without the account rule)", addrs, attack, checks, bound, addrs*signinPairAttempts)
		if checks > bound {
			t.Errorf("%d guesses checked in %v; want at most %d", checks, attack, bound)
		}
	})
}

// An IPv6 client counts as its /64: new addresses from one subscriber's
// block are not new guessers.
func TestSigninCountsIPv6ByItsBlock(t *testing.T) {
	g := newSigninGuard(keyward.SystemClock{})
	for i := range signinPairAttempts {
		a, err := g.begin(context.Background(), "v@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		a.cancel() // given back at once: counted once more below
		a, err = g.begin(context.Background(), "v@example.com", fmt.Sprintf("2001:db8:1:2:%x::1", i+1))
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		a.failed()
	}
	if _, err := g.begin(context.Background(), "v@example.com", "2001:db8:1:2:ffff::9"); keyward.ErrorCode(err) != keyward.CodeRateLimited {
		t.Fatalf("a 6th address of the same /64: %v; want RATE_LIMITED", err)
	}
}

// take keeps a bounded table: past takeMaxKeys new keys are refused, known
// keys still count, and once old windows end new keys are taken again.
func TestThrottleTakeKeepsABoundedTable(t *testing.T) {
	th := newThrottle[int](5, time.Minute)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for k := range takeMaxKeys {
		if _, err := th.take(k, now); err != nil {
			t.Fatalf("key %d: %v", k, err)
		}
	}
	if _, err := th.take(-1, now); keyward.ErrorCode(err) != keyward.CodeRateLimited {
		t.Fatalf("a new key past the bound: %v", err)
	}
	if prior, err := th.take(7, now); err != nil || prior != 1 {
		t.Fatalf("a known key: prior %d, %v", prior, err)
	}
	th.release(7, now)
	if _, err := th.take(-1, now.Add(time.Minute)); err != nil {
		t.Fatalf("a new key once the old windows ended: %v", err)
	}
	if len(th.fails) != 1 {
		t.Fatalf("%d keys after the sweep, want 1", len(th.fails))
	}
	th.release(-1, now.Add(time.Minute))
	if len(th.fails) != 0 {
		t.Fatal("a key given back to no attempts is kept")
	}
}

// Fresh addresses that fill every place to wait for an account's turn do
// not refuse the owner from an address they signed in from before: the
// owner waits at most one turn. (Before, known and fresh addresses shared
// the places, and 80 attackers kept the owner out.)
func TestKnownAddressesKeepAPlaceToWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSigninGuard(keyward.SystemClock{})
		ctx := context.Background()
		const victim, home = "victim@example.com", "203.0.113.9"
		a, err := g.begin(ctx, victim, home)
		if err != nil {
			t.Fatal(err)
		}
		a.succeeded()
		end := time.Now().Add(2 * time.Minute)
		var wg sync.WaitGroup
		var next atomic.Int64 // each attempt from an address never seen (a /48 holds 65,536 /64s)
		for range 2 * accountMaxWaiting {
			wg.Go(func() {
				for time.Now().Before(end) {
					n := next.Add(1)
					addr := fmt.Sprintf("2001:db8:%x:%x::1", n>>16, n&0xffff)
					a, err := g.begin(ctx, victim, addr)
					if err != nil {
						time.Sleep(max(keyward.AsError(err).RetryAfter, time.Second))
						continue
					}
					time.Sleep(50 * time.Millisecond) // the hash
					a.failed()
				}
			})
		}
		time.Sleep(time.Minute) // the attack is in full swing: every place is taken
		start := time.Now()
		a, err = g.begin(ctx, victim, home)
		if err != nil {
			t.Errorf("the owner from their own address, mid-attack: %v", err)
		} else {
			if w := time.Since(start); w > accountMaxDelay+time.Second {
				t.Errorf("the owner waited %v; want at most one turn", w)
			}
			a.succeeded()
		}
		wg.Wait()
	})
}
