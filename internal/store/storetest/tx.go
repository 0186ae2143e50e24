package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// racers is how many goroutines contend in the race tests.
const racers = 16

var txTests = []test{
	{"CommitAndOwnReads", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		var k *keyward.Key
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			locked, err := q.LockOrg(e.ctx, o.ID)
			mustNil(t, "LockOrg", err)
			diff(t, "the org LockOrg returns", o, locked)
			k = newKey(o, p)
			if err := q.CreateKey(e.ctx, k); err != nil {
				return err
			}
			// The transaction reads its own writes.
			got, err := q.GetKey(e.ctx, k.ID)
			if err != nil {
				return err
			}
			diff(t, "GetKey inside the transaction", k, got)
			n, err := q.CountUsableKeys(e.ctx, keyward.KeyFilter{OrgID: o.ID, ProjectID: p.ID, Now: base})
			if err != nil {
				return err
			}
			diff(t, "CountUsableKeys inside the transaction", 1, n)
			return q.InsertAuditEvent(e.ctx, &keyward.AuditEvent{
				ID: keyward.NewID(keyward.PrefixEvent), OrgID: o.ID, ProjectID: p.ID, Time: base,
				Action: "key.create", Result: keyward.ResultSuccess, Details: map[string]any{}})
		})
		mustNil(t, "InTx", err)
		got, err := e.s.GetKey(e.ctx, k.ID)
		mustNil(t, "GetKey after commit", err)
		diff(t, "committed key", k, got)
		events, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID})
		mustNil(t, "ListAuditEvents", err)
		diff(t, "committed events", 1, len(events))
		locked, err := e.s.LockOrg(e.ctx, o.ID)
		mustNil(t, "LockOrg outside a transaction", err)
		diff(t, "the org LockOrg returns outside a transaction", o, locked)
		err = e.s.InTx(e.ctx, func(q keyward.Queries) error {
			_, err := q.LockOrg(e.ctx, keyward.NewID(keyward.PrefixOrg))
			return err
		})
		wantCode(t, "LockOrg of a missing org", err, keyward.CodeNotFound)
	}},
	{"RollbackLeavesNothing", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		p := e.project(o)
		old := e.key(o, p)
		boom := errors.New("boom")
		var created *keyward.Key
		var newProject *keyward.Project
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			created = newKey(o, p)
			mustNil(t, "CreateKey", q.CreateKey(e.ctx, created))
			revoked := *old
			revoked.RevokedAt, revoked.Digest = &base, nil
			mustNil(t, "UpdateKey", q.UpdateKey(e.ctx, &revoked))
			newProject = &keyward.Project{ID: keyward.NewID(keyward.PrefixProject), OrgID: o.ID, Name: "n", Slug: "rolled-back", CreatedAt: base, UpdatedAt: base}
			mustNil(t, "CreateProject", q.CreateProject(e.ctx, newProject))
			mustNil(t, "PutMember", q.PutMember(e.ctx, &keyward.Member{OrgID: o.ID, UserID: u.ID, Role: keyward.OrgOwner, CreatedAt: base}))
			mustNil(t, "InsertAuditEvent", q.InsertAuditEvent(e.ctx, &keyward.AuditEvent{
				ID: keyward.NewID(keyward.PrefixEvent), OrgID: o.ID, Time: base, Action: "key.create"}))
			mustNil(t, "DeleteProject", q.DeleteProject(e.ctx, p.ID))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		_, err = e.s.GetKey(e.ctx, created.ID)
		wantCode(t, "GetKey(rolled back)", err, keyward.CodeNotFound)
		_, err = e.s.GetProject(e.ctx, newProject.ID)
		wantCode(t, "GetProject(rolled back)", err, keyward.CodeNotFound)
		_, err = e.s.GetMember(e.ctx, o.ID, u.ID)
		wantCode(t, "GetMember(rolled back)", err, keyward.CodeNotFound)
		got, err := e.s.GetKey(e.ctx, old.ID)
		mustNil(t, "GetKey(untouched)", err)
		diff(t, "key updated in a rolled-back transaction", old, got)
		_, err = e.s.GetProject(e.ctx, p.ID)
		mustNil(t, "GetProject(deleted in a rolled-back transaction)", err)
		events, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID})
		mustNil(t, "ListAuditEvents", err)
		diff(t, "events after rollback", []*keyward.AuditEvent{}, events)
	}},
	{"RaceForLastSlot", func(t *testing.T, e *env) {
		const limit = 3
		o := e.org()
		// A race is won or lost by timing, so run a few rounds, each on its
		// own project, to give a broken store several chances to show it.
		for range 10 {
			p := e.project(o)
			for range limit - 1 {
				e.key(o, p)
			}
			filter := keyward.KeyFilter{OrgID: o.ID, Kind: keyward.KindProject, ProjectID: p.ID, Now: base}
			// The service's check counts at most limit keys; the count
			// after the race is not capped, so an extra key would show.
			capped := filter
			capped.Limit = limit
			race(t, func() error {
				return e.s.InTx(e.ctx, func(q keyward.Queries) error {
					// Read as the service does before creating a key: the
					// org's settings with its lock, the project, then the
					// count.
					if _, err := q.LockOrg(e.ctx, o.ID); err != nil {
						return err
					}
					if _, err := q.GetProject(e.ctx, p.ID); err != nil {
						return err
					}
					n, err := q.CountUsableKeys(e.ctx, capped)
					if err != nil {
						return err
					}
					if n >= limit {
						return nil
					}
					return q.CreateKey(e.ctx, newKey(o, p))
				})
			})
			n, err := e.s.CountUsableKeys(e.ctx, filter)
			mustNil(t, "CountUsableKeys", err)
			diff(t, "usable keys after the race", limit, n)
		}
	}},
	{"ConcurrentRevokesAuditOnce", func(t *testing.T, e *env) {
		for range 10 { // several rounds: see RaceForLastSlot
			o := e.org()
			k := e.key(o, e.project(o))
			var n atomic.Int64
			race(t, func() error {
				i := n.Add(1)
				return e.s.InTx(e.ctx, func(q keyward.Queries) error {
					if _, err := q.LockOrg(e.ctx, o.ID); err != nil {
						return err
					}
					cur, err := q.GetKey(e.ctx, k.ID)
					if err != nil {
						return err
					}
					if cur.RevokedAt != nil {
						return nil // idempotent: already revoked
					}
					now := base.Add(time.Duration(i) * time.Second)
					cur.RevokedAt, cur.Digest = &now, nil
					cur.RevokedBy = &keyward.ActorRef{Type: keyward.ActorSystem}
					if err := q.UpdateKey(e.ctx, cur); err != nil {
						return err
					}
					return q.InsertAuditEvent(e.ctx, &keyward.AuditEvent{
						ID: keyward.NewID(keyward.PrefixEvent), OrgID: o.ID, ProjectID: k.ProjectID,
						Time: now, Action: "key.revoke", Target: keyward.ActorRef{Type: "key", ID: k.ID},
						Result: keyward.ResultSuccess})
				})
			})
			events, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID, Action: "key.revoke"})
			mustNil(t, "ListAuditEvents", err)
			diff(t, "revoke events", 1, len(events))
			got, err := e.s.GetKey(e.ctx, k.ID)
			mustNil(t, "GetKey", err)
			if got.RevokedAt == nil || got.Digest != nil {
				t.Errorf("key after revokes: revoked_at %v, digest %x; want revoked and erased", got.RevokedAt, got.Digest)
			}
			if len(events) == 1 && !events[0].Time.Equal(*got.RevokedAt) {
				t.Errorf("audit time %v != revoked_at %v: the event and the revoke came from different transactions",
					events[0].Time, *got.RevokedAt)
			}
		}
	}},
	{"ClosedStoreIsUnavailable", func(t *testing.T, e *env) {
		o := e.org()
		mustNil(t, "Ping", e.s.Ping(e.ctx))
		mustNil(t, "Close", e.s.Close())
		wantCode(t, "Ping(closed)", e.s.Ping(e.ctx), keyward.CodeUnavailable)
		_, err := e.s.GetOrg(e.ctx, o.ID)
		wantCode(t, "GetOrg(closed)", err, keyward.CodeUnavailable)
		wantCode(t, "CreateUser(closed)", e.s.CreateUser(e.ctx, &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "x@example.com"}), keyward.CodeUnavailable)
		err = e.s.InTx(e.ctx, func(keyward.Queries) error { return nil })
		wantCode(t, "InTx(closed)", err, keyward.CodeUnavailable)
	}},
}

// race runs fn in racers goroutines released at once, and fails the test if
// any of them returns an error.
func race(t *testing.T, fn func() error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			<-start
			errs <- fn()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNil(t, "InTx", err)
	}
}
