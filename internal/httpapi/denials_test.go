package httpapi_test

import (
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// A key retrying a forbidden request cannot flood the audit log: repeats
// of one denied attempt (actor, action, target) within a minute are one
// event whose count says how many there were.
func TestRepeatedDenialsAreOneEventWithACount(t *testing.T) {
	s := newSetup(t)
	weak := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "reader", Scopes: []string{"keys:read"}})
	const n, workers = 1000, 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				r := do(t, s.srv, "POST", "/v1/keys", `{"name":"more"}`, "x-api-key", weak.Secret)
				if r.Status != 403 {
					t.Errorf("denied attempt %d: status %d", i, r.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	// Another action is another event.
	do(t, s.srv, "GET", "/v1/audit-events", nil, "x-api-key", weak.Secret).wantError(t, 403, keyward.CodePermissionDenied)

	denied := func() map[string]int {
		t.Helper()
		var page keyward.Page[keyward.AuditEvent]
		s.pk(t, "GET", "/v1/audit-events?limit=200&actor="+weak.ID, nil).want(t, 200).decode(t, &page)
		rows, counts := map[string]int{}, map[string]int{}
		for _, e := range page.Data {
			if e.Result != keyward.ResultDenied || e.Count < 1 || !keyward.ValidID(keyward.PrefixRequest, e.RequestID) {
				t.Errorf("event %+v", e)
			}
			rows[e.Action]++
			counts[e.Action] += e.Count
		}
		if rows["key.create"] != 1 || rows["audit.read"] != 1 {
			t.Errorf("denied events per action %v, want one each", rows)
		}
		return counts
	}
	if got := denied(); got["key.create"] != n || got["audit.read"] != 1 {
		t.Fatalf("counts %v, want key.create %d, audit.read 1", got, n)
	}

	// A new minute starts a new event.
	s.srv.Clock.Advance(time.Minute)
	do(t, s.srv, "POST", "/v1/keys", `{"name":"more"}`, "x-api-key", weak.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	var page keyward.Page[keyward.AuditEvent]
	s.pk(t, "GET", "/v1/audit-events?action=key.create&actor="+weak.ID, nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 2 || page.Data[0].Count != 1 || page.Data[1].Count != n {
		t.Fatalf("after a minute: %d events (%+v), want a new one with count 1 above the one with %d", len(page.Data), page.Data, n)
	}
	// Successful changes are one event each, count 1.
	s.pk(t, "POST", "/v1/keys", `{"name":"one"}`).want(t, 201)
	s.pk(t, "GET", "/v1/audit-events?action=key.create&actor="+s.key.ID, nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 1 {
		t.Fatalf("%d key.create events by the full key, want 1", len(page.Data))
	}
	for _, e := range page.Data {
		if e.Count != 1 || e.Result != keyward.ResultSuccess {
			t.Errorf("success event %+v, want count 1", e)
		}
	}
}
