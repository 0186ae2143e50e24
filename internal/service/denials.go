package service

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/keyward/keyward"
)

// denialWindow is the span within which repeats of one denied attempt
// (same actor, action, target and project) are one audit event.
const denialWindow = time.Minute

// recordDenial writes the audit event of a denied attempt, aggregated: the
// first attempt of an actor on a target in a minute inserts the event with
// count 1, and every repeat in the same minute adds 1 to that event's count
// instead of adding a row. A client that retries a forbidden request in a
// loop costs one row per minute, not one per request, and the log still
// says how often it tried.
//
// The aggregation lives in the store (an upsert on the event's aggregate
// key, in the same statement as the insert), not in this process's memory:
// every node adds to the same event, the count is exact whatever node
// answered, and a crash loses nothing that was already answered. Each
// denial is still one write (as it was before aggregation); what the
// aggregation bounds is the audit log's size, not the store's write rate.
// The event keeps the first attempt's time, address and request id.
func (s *Service) recordDenial(ctx context.Context, ev *keyward.AuditEvent) error {
	ev.Count = 1
	ev.AggregateKey = denialKey(ev)
	return s.store.InsertAuditEvent(ctx, ev)
}

// denialKey is the aggregate key of a denied attempt: a digest of its org,
// project, actor, action, target and minute (each field length-prefixed, so
// no two different tuples share a key).
func denialKey(ev *keyward.AuditEvent) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{ev.OrgID, ev.ProjectID, ev.Actor.Type, ev.Actor.ID, ev.Action, ev.Target.Type, ev.Target.ID, ev.Result} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	binary.BigEndian.PutUint64(n[:], uint64(ev.Time.UTC().Truncate(denialWindow).Unix())) //nolint:gosec // G115: the bits are hashed; any time maps to one key
	h.Write(n[:])
	return "denied:" + hex.EncodeToString(h.Sum(nil))
}
