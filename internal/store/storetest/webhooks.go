package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// endpoint stores an enabled endpoint of org subscribed to every event.
func (e *env) endpoint(org *keyward.Org, mods ...func(*keyward.WebhookEndpoint)) *keyward.WebhookEndpoint {
	e.t.Helper()
	ep := &keyward.WebhookEndpoint{
		ID: keyward.NewID(keyward.PrefixWebhook), OrgID: org.ID, URL: "https://example.com/hook/" + unicodeName,
		Description: unicodeName, Events: []string{keyward.EventKeyCreated, keyward.EventKeyRevoked},
		Enabled: true, Secret: digest(), CreatedAt: base, UpdatedAt: base,
	}
	for _, m := range mods {
		m(ep)
	}
	mustNil(e.t, "CreateWebhookEndpoint", e.s.CreateWebhookEndpoint(e.ctx, ep))
	return ep
}

// delivery stores a message of org and a pending delivery of it to ep, due
// at due.
func (e *env) delivery(ep *keyward.WebhookEndpoint, due time.Time) *keyward.WebhookDelivery {
	e.t.Helper()
	m := &keyward.WebhookMessage{
		ID: keyward.NewID(keyward.PrefixMessage), OrgID: ep.OrgID, Type: keyward.EventKeyCreated,
		CreatedAt: base, Payload: []byte(`{"type":"key.created","data":{"name":"` + unicodeName + `"}}`),
	}
	mustNil(e.t, "CreateWebhookMessage", e.s.CreateWebhookMessage(e.ctx, m))
	d := &keyward.WebhookDelivery{
		ID: keyward.NewID(keyward.PrefixDelivery), MessageID: m.ID, EndpointID: ep.ID, OrgID: ep.OrgID,
		EventType: m.Type, Status: keyward.DeliveryPending, CreatedAt: base, NextAttemptAt: &due,
	}
	mustNil(e.t, "CreateWebhookDelivery", e.s.CreateWebhookDelivery(e.ctx, d))
	return d
}

func deliveryIDs(ds []*keyward.WebhookDelivery) []string {
	return ids(ds, func(d *keyward.WebhookDelivery) string { return d.ID })
}

var webhookTests = []test{
	{"EndpointRoundTrip", func(t *testing.T, e *env) {
		org, other := e.org(), e.org()
		a := e.endpoint(org)
		b := e.endpoint(org, func(ep *keyward.WebhookEndpoint) { ep.Enabled = false; ep.Events = []string{} })
		e.endpoint(other)
		got, err := e.s.GetWebhookEndpoint(e.ctx, a.ID)
		mustNil(t, "GetWebhookEndpoint", err)
		diff(t, "GetWebhookEndpoint", a, got)
		list, err := e.s.ListWebhookEndpoints(e.ctx, org.ID)
		mustNil(t, "ListWebhookEndpoints", err)
		diff(t, "ListWebhookEndpoints", []*keyward.WebhookEndpoint{a, b}, list)

		a.URL, a.Description, a.Events, a.Enabled = "http://10.0.0.1/x", "", []string{keyward.EventKeyLeaked}, false
		a.Secret, a.UpdatedAt = digest(), base.Add(time.Hour)
		mustNil(t, "UpdateWebhookEndpoint", e.s.UpdateWebhookEndpoint(e.ctx, a))
		got, err = e.s.GetWebhookEndpoint(e.ctx, a.ID)
		mustNil(t, "GetWebhookEndpoint after update", err)
		diff(t, "after update", a, got)

		mustNil(t, "DeleteWebhookEndpoint", e.s.DeleteWebhookEndpoint(e.ctx, a.ID))
		_, err = e.s.GetWebhookEndpoint(e.ctx, a.ID)
		wantCode(t, "GetWebhookEndpoint deleted", err, keyward.CodeNotFound)
		wantCode(t, "DeleteWebhookEndpoint again", e.s.DeleteWebhookEndpoint(e.ctx, a.ID), keyward.CodeNotFound)
		wantCode(t, "UpdateWebhookEndpoint deleted", e.s.UpdateWebhookEndpoint(e.ctx, a), keyward.CodeNotFound)
	}},
	{"DeliveryRoundTripAndPages", func(t *testing.T, e *env) {
		org := e.org()
		ep := e.endpoint(org)
		var made []*keyward.WebhookDelivery
		for range 5 {
			made = append(made, e.delivery(ep, base))
		}
		got, err := e.s.GetWebhookDelivery(e.ctx, made[0].ID)
		mustNil(t, "GetWebhookDelivery", err)
		diff(t, "GetWebhookDelivery", made[0], got)
		m, err := e.s.GetWebhookMessage(e.ctx, made[0].MessageID)
		mustNil(t, "GetWebhookMessage", err)
		if m.OrgID != org.ID || m.Type != keyward.EventKeyCreated || !m.CreatedAt.Equal(base) || string(m.Payload) == "" {
			t.Errorf("GetWebhookMessage = %+v", m)
		}
		page, err := e.s.ListWebhookDeliveries(e.ctx, ep.ID, "", 3)
		mustNil(t, "ListWebhookDeliveries", err)
		diff(t, "first page", []string{made[4].ID, made[3].ID, made[2].ID}, deliveryIDs(page))
		page, err = e.s.ListWebhookDeliveries(e.ctx, ep.ID, made[2].ID, 3)
		mustNil(t, "ListWebhookDeliveries page 2", err)
		diff(t, "second page", []string{made[1].ID, made[0].ID}, deliveryIDs(page))

		// Deleting the endpoint takes its deliveries with it.
		mustNil(t, "DeleteWebhookEndpoint", e.s.DeleteWebhookEndpoint(e.ctx, ep.ID))
		_, err = e.s.GetWebhookDelivery(e.ctx, made[0].ID)
		wantCode(t, "GetWebhookDelivery after endpoint delete", err, keyward.CodeNotFound)
	}},
	{"ClaimTakesDueDeliveriesOfEnabledEndpointsOnce", func(t *testing.T, e *env) {
		org := e.org()
		ep := e.endpoint(org)
		off := e.endpoint(org, func(ep *keyward.WebhookEndpoint) { ep.Enabled = false })
		due1, due2 := e.delivery(ep, base.Add(-time.Minute)), e.delivery(ep, base)
		e.delivery(ep, base.Add(time.Second)) // not due yet
		e.delivery(off, base)                 // endpoint disabled
		lease := base.Add(time.Minute)
		got, err := e.s.ClaimWebhookDeliveries(e.ctx, base, lease, "claim-a", 10, 0)
		mustNil(t, "ClaimWebhookDeliveries", err)
		diff(t, "claimed", []string{due1.ID, due2.ID}, deliveryIDs(got))
		for _, d := range got {
			if d.Claim != "claim-a" || !d.LeaseUntil.Equal(lease) {
				t.Errorf("claimed %s: claim %q lease %v", d.ID, d.Claim, d.LeaseUntil)
			}
		}
		again, err := e.s.ClaimWebhookDeliveries(e.ctx, base, base.Add(time.Hour), "claim-b", 10, 0)
		mustNil(t, "second claim within the lease", err)
		diff(t, "claimed again within the lease", []string{}, deliveryIDs(again))

		// Once the lease has run out, another claim takes them over, and
		// the first claim can no longer record a result.
		later, err := e.s.ClaimWebhookDeliveries(e.ctx, lease, lease.Add(time.Minute), "claim-b", 1, 0)
		mustNil(t, "claim after the lease", err)
		diff(t, "claimed after the lease", []string{due1.ID}, deliveryIDs(later))
		stale := *got[0]
		stale.Status, stale.Attempts = keyward.DeliverySucceeded, 1
		wantCode(t, "FinishWebhookAttempt with a lost claim", e.s.FinishWebhookAttempt(e.ctx, &stale), keyward.CodeNotFound)

		// The holder records the result and releases the claim.
		done := *later[0]
		at := lease.Add(time.Second)
		done.Status, done.Attempts, done.NextAttemptAt = keyward.DeliverySucceeded, 1, nil
		done.LastAttemptAt, done.DeliveredAt, done.LastStatusCode, done.LastLatencyMS = &at, &at, 204, 12
		mustNil(t, "FinishWebhookAttempt", e.s.FinishWebhookAttempt(e.ctx, &done))
		stored, err := e.s.GetWebhookDelivery(e.ctx, done.ID)
		mustNil(t, "GetWebhookDelivery", err)
		done.Claim, done.LeaseUntil = "", time.Time{}
		diff(t, "finished delivery", &done, stored)
		wantCode(t, "FinishWebhookAttempt twice", e.s.FinishWebhookAttempt(e.ctx, later[0]), keyward.CodeNotFound)

		// A failed attempt with a next attempt goes back to the queue.
		retry := *got[1]
		retry.Claim = "claim-a"
		next := lease.Add(time.Hour)
		retry.Attempts, retry.NextAttemptAt, retry.LastStatusCode, retry.LastError = 1, &next, 500, "server error"
		mustNil(t, "FinishWebhookAttempt retry", e.s.FinishWebhookAttempt(e.ctx, &retry))
		none, err := e.s.ClaimWebhookDeliveries(e.ctx, next.Add(-time.Second), next.Add(time.Hour), "claim-c", 10, 0)
		mustNil(t, "claim before the retry is due", err)
		if containsID(none, retry.ID) {
			t.Errorf("a delivery was claimed before its next attempt")
		}
		due, err := e.s.ClaimWebhookDeliveries(e.ctx, next, next.Add(time.Hour), "claim-c", 10, 0)
		mustNil(t, "claim when the retry is due", err)
		if !containsID(due, retry.ID) {
			t.Errorf("a due retry was not claimed: %v", deliveryIDs(due))
		}
	}},
	{"ConcurrentClaimsNeverShare", func(t *testing.T, e *env) {
		org := e.org()
		ep := e.endpoint(org)
		want := map[string]bool{}
		for range 40 {
			want[e.delivery(ep, base).ID] = true
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 4 {
			claim := string(rune('a' + w))
			wg.Go(func() {
				for {
					got, err := e.s.ClaimWebhookDeliveries(e.ctx, base, base.Add(time.Hour), claim, 3, 0)
					if err != nil {
						t.Errorf("claim %s: %v", claim, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						if by, ok := seen[d.ID]; ok {
							t.Errorf("delivery %s claimed by %s and %s", d.ID, by, claim)
						}
						seen[d.ID] = claim
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != len(want) {
			t.Errorf("claimed %d deliveries, want %d", len(seen), len(want))
		}
	}},
	{"ClaimCapsEachEndpoint", func(t *testing.T, e *env) {
		org := e.org()
		busy, quiet := e.endpoint(org), e.endpoint(org)
		var busyIDs []string
		for range 5 {
			busyIDs = append(busyIDs, e.delivery(busy, base.Add(-time.Minute)).ID)
		}
		q1 := e.delivery(quiet, base)
		lease := base.Add(time.Minute)
		got, err := e.s.ClaimWebhookDeliveries(e.ctx, base, lease, "a", 10, 2)
		mustNil(t, "claim with a cap of 2", err)
		diff(t, "first claim", []string{busyIDs[0], busyIDs[1], q1.ID}, deliveryIDs(got))
		// The two held count against the cap: nothing more of busy until
		// one is released.
		got, err = e.s.ClaimWebhookDeliveries(e.ctx, base, lease, "b", 10, 2)
		mustNil(t, "second claim", err)
		diff(t, "second claim", []string{}, deliveryIDs(got))
		first, err := e.s.GetWebhookDelivery(e.ctx, busyIDs[0])
		mustNil(t, "GetWebhookDelivery", err)
		first.Status, first.Attempts, first.NextAttemptAt = keyward.DeliverySucceeded, 1, nil
		mustNil(t, "finish one", e.s.FinishWebhookAttempt(e.ctx, first))
		got, err = e.s.ClaimWebhookDeliveries(e.ctx, base, lease, "c", 10, 2)
		mustNil(t, "claim after one ended", err)
		diff(t, "claim after one ended", []string{busyIDs[2]}, deliveryIDs(got))
		// Without a cap, the rest of them.
		got, err = e.s.ClaimWebhookDeliveries(e.ctx, base, lease, "d", 10, 0)
		mustNil(t, "claim without a cap", err)
		diff(t, "claim without a cap", []string{busyIDs[3], busyIDs[4]}, deliveryIDs(got))
	}},
	{"DeferMovesOnlyDueUnheldDeliveries", func(t *testing.T, e *env) {
		org := e.org()
		ep, other := e.endpoint(org), e.endpoint(org)
		held := e.delivery(ep, base)
		_, err := e.s.ClaimWebhookDeliveries(e.ctx, base, base.Add(time.Minute), "h", 1, 0)
		mustNil(t, "claim one", err)
		due, later := e.delivery(ep, base), e.delivery(ep, base.Add(2*time.Hour))
		elsewhere := e.delivery(other, base)
		until := base.Add(time.Hour)
		mustNil(t, "DeferWebhookDeliveries", e.s.DeferWebhookDeliveries(e.ctx, ep.ID, base, until))
		for _, c := range []struct {
			d    *keyward.WebhookDelivery
			want time.Time
		}{{held, base}, {due, until}, {later, base.Add(2 * time.Hour)}, {elsewhere, base}} {
			got, err := e.s.GetWebhookDelivery(e.ctx, c.d.ID)
			mustNil(t, "GetWebhookDelivery", err)
			if !got.NextAttemptAt.Equal(c.want) {
				t.Errorf("delivery %s next attempt %v, want %v", c.d.ID, got.NextAttemptAt, c.want)
			}
		}
	}},
	{"Prune", func(t *testing.T, e *env) {
		org := e.org()
		ep := e.endpoint(org)
		old, pending := e.delivery(ep, base), e.delivery(ep, base)
		claimed, err := e.s.ClaimWebhookDeliveries(e.ctx, base, base.Add(time.Minute), "c", 1, 0)
		mustNil(t, "claim", err)
		if len(claimed) != 1 || claimed[0].ID != old.ID {
			t.Fatalf("claimed %v, want %s", deliveryIDs(claimed), old.ID)
		}
		at := base.Add(time.Second)
		d := *claimed[0]
		d.Status, d.Attempts, d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = keyward.DeliverySucceeded, 1, nil, &at, &at
		mustNil(t, "finish", e.s.FinishWebhookAttempt(e.ctx, &d))

		mustNil(t, "PruneWebhooks before the end", e.s.PruneWebhooks(e.ctx, at))
		_, err = e.s.GetWebhookDelivery(e.ctx, old.ID)
		mustNil(t, "ended delivery kept until its time", err)
		mustNil(t, "PruneWebhooks", e.s.PruneWebhooks(e.ctx, at.Add(time.Hour)))
		_, err = e.s.GetWebhookDelivery(e.ctx, old.ID)
		wantCode(t, "ended delivery pruned", err, keyward.CodeNotFound)
		_, err = e.s.GetWebhookMessage(e.ctx, old.MessageID)
		wantCode(t, "its message pruned", err, keyward.CodeNotFound)
		_, err = e.s.GetWebhookDelivery(e.ctx, pending.ID)
		mustNil(t, "pending delivery never pruned", err)
		_, err = e.s.GetWebhookMessage(e.ctx, pending.MessageID)
		mustNil(t, "message of a pending delivery kept", err)
	}},
	{"KeyNotices", func(t *testing.T, e *env) {
		org := e.org()
		p := e.project(org)
		in := func(d time.Duration) func(*keyward.Key) {
			return func(k *keyward.Key) { k.ExpiresAt = ptr(base.Add(d)) }
		}
		soon := e.key(org, p, in(time.Hour))
		week := e.key(org, p, in(6*24*time.Hour))
		e.key(org, p, in(30*24*time.Hour))                                                     // too far
		e.key(org, p)                                                                          // never expires
		e.key(org, p, in(2*time.Hour), func(k *keyward.Key) { k.RevokedAt = ptr(base) })       // revoked
		e.key(org, p, in(2*time.Hour), func(k *keyward.Key) { k.ReplacedBy = ptr("key_new") }) // rotated out
		gone := e.key(org, p, in(-time.Hour))

		due, err := e.s.KeysDueNotice(e.ctx, keyward.NoticeExpiring7d, base, base.Add(7*24*time.Hour), 10)
		mustNil(t, "KeysDueNotice", err)
		diff(t, "due in a week", []string{soon.ID, week.ID}, keyIDs(due))
		expired, err := e.s.KeysDueNotice(e.ctx, keyward.NoticeExpired, base.Add(-24*time.Hour), base, 10)
		mustNil(t, "KeysDueNotice expired", err)
		diff(t, "expired", []string{gone.ID}, keyIDs(expired))

		ok, err := e.s.AddKeyNotice(e.ctx, week.ID, keyward.NoticeExpiring7d, base)
		mustNil(t, "AddKeyNotice", err)
		if !ok {
			t.Errorf("AddKeyNotice = false for a first notice")
		}
		ok, err = e.s.AddKeyNotice(e.ctx, week.ID, keyward.NoticeExpiring7d, base)
		mustNil(t, "AddKeyNotice again", err)
		if ok {
			t.Errorf("AddKeyNotice = true for a notice already sent")
		}
		due, err = e.s.KeysDueNotice(e.ctx, keyward.NoticeExpiring7d, base, base.Add(7*24*time.Hour), 10)
		mustNil(t, "KeysDueNotice after notice", err)
		diff(t, "due after notice", []string{soon.ID}, keyIDs(due))
		other, err := e.s.KeysDueNotice(e.ctx, keyward.NoticeExpiring1d, base, base.Add(7*24*time.Hour), 10)
		mustNil(t, "KeysDueNotice other kind", err)
		diff(t, "other kinds unaffected", []string{soon.ID, week.ID}, keyIDs(other))
	}},
}

func containsID(ds []*keyward.WebhookDelivery, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

func keyIDs(ks []*keyward.Key) []string {
	return ids(ks, func(k *keyward.Key) string { return k.ID })
}
