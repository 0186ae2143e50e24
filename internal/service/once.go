package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// OnceTTL is how long the dashboard keeps a one-time value for the page a
// POST redirects to.
const OnceTTL = 5 * time.Minute

// KeepOnce stores a sealed one-time value for session sessionID (the
// dashboard's post/redirect/get) and returns its id. It is kept in the
// store, so that whichever node answers the redirect finds it.
func (s *Service) KeepOnce(ctx context.Context, sessionID string, seal func(id string) ([]byte, error)) (string, error) {
	id := keyward.NewID("once")
	sealed, err := seal(id)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	v := &keyward.OnceValue{ID: id, SessionID: sessionID, Sealed: sealed, ExpiresAt: now.Add(OnceTTL)}
	if err := s.store.PutOnce(ctx, v, now); err != nil {
		return "", err
	}
	return id, nil
}

// TakeOnce returns and forgets session sessionID's one-time value id, or
// NOT_FOUND when it is not there (taken, expired, or another session's).
func (s *Service) TakeOnce(ctx context.Context, sessionID, id string) ([]byte, error) {
	if len(id) > 64 {
		return nil, keyward.NotFound("one-time value")
	}
	v, err := s.store.TakeOnce(ctx, id, sessionID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	return v.Sealed, nil
}
