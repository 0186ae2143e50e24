package service

import (
	"context"
	"crypto/subtle"
	"sync"
	"time"

	"github.com/keyward/keyward"
)

// SetupLifetime is how long a first-start setup link works.
const SetupLifetime = time.Hour

// setupState holds the one-time setup token of an empty store. It lives in
// the memory of the node that printed it.
type setupState struct {
	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewSetupToken returns a one-time token for the first-start setup link
// when the store has no org yet, and "" otherwise.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	n, err := s.store.CountOrgs(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := newToken()
	s.setup.mu.Lock()
	s.setup.token, s.setup.expires = token, s.clock.Now().Add(SetupLifetime)
	s.setup.mu.Unlock()
	return token, nil
}

// SetupTokenValid reports whether token is the live setup token.
func (s *Service) SetupTokenValid(token string) bool {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	return s.setup.token != "" && len(token) == len(s.setup.token) &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.setup.token)) == 1 &&
		s.clock.Now().Before(s.setup.expires)
}

// Setup uses the setup token once: it creates the first org and owner (as
// Bootstrap does) and signs the owner in.
func (s *Service) Setup(ctx context.Context, token string, in BootstrapInput, o Origin) (*BootstrapResult, string, error) {
	if !s.SetupTokenValid(token) {
		return nil, "", keyward.Errorf(keyward.CodeNotFound, "This setup link is invalid, used or expired")
	}
	if fe := checkPassword(in.Password); fe != nil {
		return nil, "", invalid(fe)
	}
	res, err := s.Bootstrap(ctx, in)
	if err != nil {
		return nil, "", err
	}
	s.setup.mu.Lock()
	s.setup.token = ""
	s.setup.mu.Unlock()
	session, _, err := s.startSession(ctx, res.User.ID, o)
	return res, session, err
}
