package service

import (
	"context"
	"fmt"
	"sync"
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
