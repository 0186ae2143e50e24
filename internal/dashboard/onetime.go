package dashboard

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/keyward/keyward"
)

// A one-time value (a new key's secret, a reset or invitation link) is
// made by a POST and shown by the GET the browser is redirected to
// (post/redirect/get), so that reloading the page or going Back never
// makes another key nor shows the secret again. The value waits here,
// in this process's memory, keyed by a random nonce that the redirect's
// URL carries (?once=…) and bound to the session that made it. The first
// GET with that nonce and session takes it; a reload finds nothing.
//
// Nothing secret goes into the URL or a cookie. Behind a load balancer
// without sticky sessions, the GET may land on another node, which has
// nothing under the nonce: the page then says the value is no longer
// available instead of failing.
const (
	onceTTL = 5 * time.Minute
	onceMax = 10000 // values waiting at once, across all sessions
	onceArg = "once"
)

// onceStore holds the values waiting to be shown.
type onceStore struct {
	mu    sync.Mutex
	clock keyward.Clock
	items map[string]onceItem
}

type onceItem struct {
	session string
	expires time.Time
	value   any
}

func newOnceStore(clock keyward.Clock) *onceStore {
	return &onceStore{clock: clock, items: map[string]onceItem{}}
}

// put keeps value for the session's next page and returns its nonce.
func (s *onceStore) put(session string, value any) string {
	nonce := rand.Text()
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) >= onceMax {
		for k, it := range s.items {
			if !now.Before(it.expires) {
				delete(s.items, k)
			}
		}
	}
	for len(s.items) >= onceMax { // still full: drop any (map order)
		for k := range s.items {
			delete(s.items, k)
			break
		}
	}
	s.items[nonce] = onceItem{session: session, expires: now.Add(onceTTL), value: value}
	return nonce
}

// take returns and forgets the value under nonce if the session made it
// and it has not expired; otherwise nil. Another session's nonce is left
// alone (and not revealed).
func (s *onceStore) take(session, nonce string) any {
	if nonce == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[nonce]
	if !ok || it.session != session {
		return nil
	}
	delete(s.items, nonce)
	if !s.clock.Now().Before(it.expires) {
		return nil
	}
	return it.value
}
