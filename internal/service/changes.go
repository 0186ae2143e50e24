package service

import (
	"context"

	"github.com/keyward/keyward"
)

// KeyChangeStream follows the key change log for a caller that verifies
// keys (GET /v1/key-changes): an SDK that caches verification results in
// its own process learns from it which keys to forget. It shows only the
// changes of keys the caller may verify.
type KeyChangeStream struct {
	s         *Service
	a         *Actor
	projectID string // "": every project of the org
	pos       int64
}

// WatchKeyChanges checks that a may verify keys of projectID ("": of any
// project of its org) and returns a stream positioned at the last change
// this node has applied to its cache.
func (s *Service) WatchKeyChanges(ctx context.Context, a *Actor, projectID string) (*KeyChangeStream, error) {
	if err := s.mayVerify(ctx, a, projectID); err != nil {
		return nil, err
	}
	pos, _ := s.cache.Position()
	return &KeyChangeStream{s: s, a: a, projectID: projectID, pos: pos}, nil
}

// Position is the number of the last change the stream has read.
func (st *KeyChangeStream) Position() int64 { return st.pos }

// keyChangesBatch bounds the changes one Next reads (and so one event).
const keyChangesBatch = 500

// Next reads the next batch of the log and returns the ids of the keys
// changed in it that the caller may verify, whether the caller's own key
// changed (it may have been revoked: the stream should end, and the caller
// reconnect and authenticate again), and whether more changes follow.
func (st *KeyChangeStream) Next(ctx context.Context) (ids []string, ownChanged, more bool, err error) {
	cs, err := st.s.store.KeyChanges(ctx, st.pos, keyChangesBatch)
	if err != nil {
		return nil, false, false, err
	}
	for _, c := range cs {
		if st.a.Key != nil && c.KeyID == st.a.Key.ID {
			ownChanged = true
		}
		if st.visible(c) {
			ids = append(ids, c.KeyID)
		}
		st.pos = c.Seq
	}
	return ids, ownChanged, len(cs) == keyChangesBatch, nil
}

// visible reports whether the caller may see change c. Changes recorded
// before the log named owners (migration 0005) are shown to everyone: they
// hold only a key id.
func (st *KeyChangeStream) visible(c keyward.KeyChange) bool {
	if c.OrgID == "" {
		return true
	}
	return c.OrgID == st.a.OrgID && (st.projectID == "" || c.ProjectID == st.projectID)
}
