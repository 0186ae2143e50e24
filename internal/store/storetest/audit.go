package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var auditTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		o := e.org()
		p := e.project(o)
		ev := &keyward.AuditEvent{
			ID: keyward.NewID(keyward.PrefixEvent), OrgID: o.ID, ProjectID: p.ID, Time: base,
			Actor:  keyward.ActorRef{Type: keyward.ActorUser, ID: keyward.NewID(keyward.PrefixUser)},
			Action: "key.revoke", Target: keyward.ActorRef{Type: "key", ID: keyward.NewID(keyward.PrefixKey)},
			Result: keyward.ResultDenied, IP: "2001:db8::7", UserAgent: "curl/8 " + unicodeName,
			RequestID: keyward.NewID(keyward.PrefixRequest),
			// JSON numbers read back as float64.
			Details: map[string]any{"reason": unicodeName, "count": float64(3), "ok": true,
				"scopes": []any{"keys:read"}, "nested": map[string]any{"a": "b"}},
			Count: 1,
		}
		mustNil(t, "InsertAuditEvent", e.s.InsertAuditEvent(e.ctx, ev))
		got, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID})
		mustNil(t, "ListAuditEvents", err)
		diff(t, "ListAuditEvents", []*keyward.AuditEvent{ev}, got)

		bare := e.event(o, "org.update", func(ev *keyward.AuditEvent) { ev.Details = nil })
		got, err = e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID, Action: "org.update"})
		mustNil(t, "ListAuditEvents", err)
		bare.Details = map[string]any{} // read back empty, not nil
		diff(t, "event without details", []*keyward.AuditEvent{bare}, got)

		dup := *ev
		wantCode(t, "InsertAuditEvent(same id)", e.s.InsertAuditEvent(e.ctx, &dup), keyward.CodeConflict)

		// A count of 0 (an event built without one) is stored as 1.
		zero := e.event(o, "org.zero", func(ev *keyward.AuditEvent) { ev.Count = 0 })
		got, err = e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID, Action: "org.zero"})
		mustNil(t, "ListAuditEvents", err)
		zero.Count = 1
		diff(t, "event without a count", []*keyward.AuditEvent{zero}, got)
	}},
	{"Aggregate", func(t *testing.T, e *env) {
		// Events with one aggregate key are one event whose count is the
		// sum of theirs, inside and outside transactions; events without a
		// key, or with other keys, are events of their own.
		o := e.org()
		agg := func(key string, count int) func(*keyward.AuditEvent) {
			return func(ev *keyward.AuditEvent) {
				ev.Action, ev.Result, ev.AggregateKey, ev.Count = "key.create", keyward.ResultDenied, key, count
			}
		}
		first := e.event(o, "", agg("k1", 1))
		e.event(o, "", agg("k1", 1), func(ev *keyward.AuditEvent) { ev.Time = base.Add(time.Second) })
		e.event(o, "", agg("k1", 5))
		mustNil(t, "InTx", e.s.InTx(e.ctx, func(q keyward.Queries) error {
			ev := *first
			ev.ID, ev.Count = keyward.NewID(keyward.PrefixEvent), 3
			return q.InsertAuditEvent(e.ctx, &ev)
		}))
		other := e.event(o, "", agg("k2", 1))
		plain1 := e.event(o, "key.create")
		plain2 := e.event(o, "key.create")
		got, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID})
		mustNil(t, "ListAuditEvents", err)
		first.Count, first.AggregateKey, other.AggregateKey = 10, "", ""
		diff(t, "aggregated events", []*keyward.AuditEvent{plain2, plain1, other, first}, got)

		// The same id is still a conflict, key or not.
		dup := *other
		dup.AggregateKey = "k3"
		wantCode(t, "InsertAuditEvent(same id, new key)", e.s.InsertAuditEvent(e.ctx, &dup), keyward.CodeConflict)
	}},
	{"Filters", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		p1, p2 := e.project(o), e.project(o)
		ann, bob := keyward.NewID(keyward.PrefixUser), keyward.NewID(keyward.PrefixUser)
		at := func(d time.Duration) func(*keyward.AuditEvent) {
			return func(ev *keyward.AuditEvent) { ev.Time = base.Add(d) }
		}
		by := func(id string) func(*keyward.AuditEvent) {
			return func(ev *keyward.AuditEvent) { ev.Actor = keyward.ActorRef{Type: keyward.ActorUser, ID: id} }
		}
		in := func(p *keyward.Project) func(*keyward.AuditEvent) {
			return func(ev *keyward.AuditEvent) { ev.ProjectID = p.ID }
		}
		e1 := e.event(o, "org.create", at(0), by(ann))
		key := keyward.NewID(keyward.PrefixKey)
		about := func(ev *keyward.AuditEvent) { ev.Target = keyward.ActorRef{Type: keyward.ActorKey, ID: key} }
		e2 := e.event(o, "key.create", at(time.Minute), by(ann), in(p1), about)
		e3 := e.event(o, "key.revoke", at(2*time.Minute), by(bob), in(p1))
		e4 := e.event(o, "keys.export", at(3*time.Minute), by(bob), in(p2)) // not under "key."
		e5 := e.event(o, "key", at(4*time.Minute), by(ann), in(p2))         // not under "key." either
		e.event(other, "key.create", at(time.Minute), by(ann))

		for _, c := range []struct {
			name string
			f    keyward.AuditFilter
			want []*keyward.AuditEvent
		}{
			{"org", keyward.AuditFilter{}, []*keyward.AuditEvent{e5, e4, e3, e2, e1}},
			{"project", keyward.AuditFilter{ProjectID: p1.ID}, []*keyward.AuditEvent{e3, e2}},
			{"action exact", keyward.AuditFilter{Action: "key.create"}, []*keyward.AuditEvent{e2}},
			{"action exact, no prefix match", keyward.AuditFilter{Action: "key"}, []*keyward.AuditEvent{e5}},
			{"action prefix", keyward.AuditFilter{Action: "key."}, []*keyward.AuditEvent{e3, e2}},
			{"actor", keyward.AuditFilter{ActorID: bob}, []*keyward.AuditEvent{e4, e3}},
			{"target", keyward.AuditFilter{TargetID: key}, []*keyward.AuditEvent{e2}},
			{"since inclusive", keyward.AuditFilter{Since: base.Add(3 * time.Minute)}, []*keyward.AuditEvent{e5, e4}},
			{"until exclusive", keyward.AuditFilter{Until: base.Add(time.Minute)}, []*keyward.AuditEvent{e1}},
			{"since and until", keyward.AuditFilter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}, []*keyward.AuditEvent{e3, e2}},
			{"combined", keyward.AuditFilter{ProjectID: p2.ID, ActorID: ann}, []*keyward.AuditEvent{e5}},
			{"before", keyward.AuditFilter{Before: e3.ID}, []*keyward.AuditEvent{e2, e1}},
			{"limit", keyward.AuditFilter{Limit: 2}, []*keyward.AuditEvent{e5, e4}},
			{"before and limit", keyward.AuditFilter{Before: e4.ID, Limit: 2}, []*keyward.AuditEvent{e3, e2}},
			{"nothing", keyward.AuditFilter{Action: "member."}, []*keyward.AuditEvent{}},
		} {
			c.f.OrgID = o.ID
			got, err := e.s.ListAuditEvents(e.ctx, c.f)
			mustNil(t, "ListAuditEvents", err)
			diff(t, "ListAuditEvents("+c.name+")", ids(c.want, eventID), ids(got, eventID))
		}
	}},
}
