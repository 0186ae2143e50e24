package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// NoticeEvery is how often a node looks for keys due an expiry event.
const NoticeEvery = time.Minute

// noticeBatch bounds the keys read per kind of notice and round.
const noticeBatch = 500

// notice is one kind of expiry event and the window of expiry times that
// calls for it.
type notice struct {
	kind, typ, within string
	from, to          time.Duration // relative to now
}

// notices: key.expiring 7 days and 1 day before a key expires (a key with
// less than a day left gets only the second), and key.expired once it has
// (within a week: keys that expired before a node last looked are still
// told, older ones are not).
var notices = []notice{
	{keyward.NoticeExpired, keyward.EventKeyExpired, "", -7 * 24 * time.Hour, 0},
	{keyward.NoticeExpiring1d, keyward.EventKeyExpiring, "1d", 0, 24 * time.Hour},
	{keyward.NoticeExpiring7d, keyward.EventKeyExpiring, "7d", 24 * time.Hour, 7 * 24 * time.Hour},
}

// SendExpiryNotices writes the expiry events that are due: each key gets
// each notice once, whatever the number of nodes (the notice is recorded
// in the transaction that writes the event, and a second node's insert
// finds it there). Keys replaced by rotation get none: key.rotated told of
// their end. It returns how many notices it recorded.
func (s *Service) SendExpiryNotices(ctx context.Context) (int, error) {
	sent := 0
	for _, n := range notices {
		for range 20 {
			now := s.clock.Now()
			keys, err := s.store.KeysDueNotice(ctx, n.kind, now.Add(n.from), now.Add(n.to), noticeBatch)
			if err != nil {
				return sent, err
			}
			for _, k := range keys {
				ok, err := s.sendNotice(ctx, n, k, now)
				if err != nil {
					return sent, err
				}
				if ok {
					sent++
				}
			}
			if len(keys) < noticeBatch {
				break
			}
		}
	}
	return sent, nil
}

// sendNotice records notice n of key k and writes its event.
func (s *Service) sendNotice(ctx context.Context, n notice, k *keyward.Key, now time.Time) (bool, error) {
	first := false
	err := s.inTx(ctx, func(q keyward.Queries) error {
		// The key as it is now: one revoked, rotated or given another
		// expiry since the list was read gets no notice.
		cur, err := q.GetKey(ctx, k.ID)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.RevokedAt != nil || cur.ReplacedBy != nil || cur.ExpiresAt == nil || !cur.ExpiresAt.Equal(*k.ExpiresAt) {
			return nil
		}
		ok, err := q.AddKeyNotice(ctx, cur.ID, n.kind, now)
		if err != nil || !ok {
			return err
		}
		first = true
		return q.(*keyWrites).fanOut(ctx, cur.OrgID, n.typ, now, func() (map[string]any, error) {
			data := map[string]any{"key": s.shownKey(cur), "expires_at": cur.ExpiresAt}
			if n.within != "" {
				data["within"] = n.within
			}
			return data, nil
		})
	})
	return first, err
}

// RunNotices sends expiry notices every NoticeEvery until ctx ends.
func (s *Service) RunNotices(ctx context.Context) {
	t := time.NewTicker(NoticeEvery)
	defer t.Stop()
	for {
		if _, err := s.SendExpiryNotices(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks: looking for keys due an expiry event failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
