package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/keyward/keyward"
)

// webhookTypes are the audited actions that fire webhook events. The
// event is written by the transaction that writes the audit event (see
// keyWrites.InsertAuditEvent), so no change can commit without its event,
// and no event can be sent for a change that rolled back.
var webhookTypes = map[string]string{
	AuditKeyCreate:    keyward.EventKeyCreated,
	AuditKeyRotate:    keyward.EventKeyRotated,
	AuditKeyRevoke:    keyward.EventKeyRevoked,
	AuditKeyLeaked:    keyward.EventKeyLeaked,
	AuditMemberRemove: keyward.EventMemberRemoved,
}

// keyFate is what a removed member's key became, for member.removed.
type keyFate struct {
	KeyID    string `json:"key_id"`
	Action   string `json:"action"` // "revoked" or "transferred"
	ToUserID string `json:"to_user_id,omitempty"`
	fromUser string
}

// InsertAuditEvent writes e and, when e records a change that webhooks
// report, the event's message and a delivery for each endpoint of the org
// that subscribes to it, in the same transaction.
func (w *keyWrites) InsertAuditEvent(ctx context.Context, e *keyward.AuditEvent) error {
	if err := w.Queries.InsertAuditEvent(ctx, e); err != nil {
		return err
	}
	if e.Result != keyward.ResultSuccess {
		return nil
	}
	if from, ok := e.Details["from_user_id"].(string); ok && (e.Action == AuditKeyRevoke || e.Action == AuditKeyTransfer) {
		f := keyFate{KeyID: e.Target.ID, Action: "revoked", fromUser: from}
		if e.Action == AuditKeyTransfer {
			f.Action = "transferred"
			f.ToUserID, _ = e.Details["to_user_id"].(string)
		}
		w.fates = append(w.fates, f)
	}
	typ := webhookTypes[e.Action]
	if typ == "" {
		return nil
	}
	var data map[string]any
	build := func() (map[string]any, error) {
		if data != nil {
			return data, nil
		}
		var err error
		data, err = w.s.eventData(ctx, w, typ, e)
		return data, err
	}
	if err := w.fanOut(ctx, e.OrgID, typ, e.Time, build); err != nil {
		return err
	}
	// A leaked key that the org's policy revoked is also a revoked key,
	// for endpoints that follow revocations only.
	if typ == keyward.EventKeyLeaked && e.Details["action"] == keyward.LeakRevoked {
		return w.fanOut(ctx, e.OrgID, keyward.EventKeyRevoked, e.Time, func() (map[string]any, error) {
			d, err := build()
			return map[string]any{"key": d["key"], "actor": d["actor"], "reason": "leaked"}, err
		})
	}
	return nil
}

// eventData builds an event's data from its audit event: who did it, the
// request, the audit details, and the key (as the API shows it, never its
// secret) or the removed member and what became of their keys.
func (s *Service) eventData(ctx context.Context, w *keyWrites, typ string, e *keyward.AuditEvent) (map[string]any, error) {
	data := map[string]any{}
	for k, v := range e.Details {
		data[k] = v
	}
	data["actor"], data["request_id"] = e.Actor, e.RequestID
	switch typ {
	case keyward.EventMemberRemoved:
		delete(data, "keys")
		user := map[string]any{"id": e.Target.ID}
		if u, err := w.GetUser(ctx, e.Target.ID); err == nil {
			user["email"] = u.Email
		} else if keyward.ErrorCode(err) != keyward.CodeNotFound {
			return nil, err
		}
		data["user"] = user
		fates := []keyFate{}
		for _, f := range w.fates {
			if f.fromUser == e.Target.ID {
				fates = append(fates, f)
			}
		}
		data["keys"] = fates
	default:
		k, err := w.GetKey(ctx, e.Target.ID)
		if err != nil {
			return nil, err
		}
		data["key"] = s.shownKey(k)
		if id, ok := e.Details["new_key_id"].(string); ok {
			nk, err := w.GetKey(ctx, id)
			if err != nil {
				return nil, err
			}
			data["new_key"] = s.shownKey(nk)
			delete(data, "new_key_id")
		}
	}
	return data, nil
}

// shownKey is a key as events show it: without its secret, with its
// status now.
func (s *Service) shownKey(k *keyward.Key) *keyward.Key {
	c := *k
	c.Secret, c.Digest = "", nil
	c.Status = c.StatusAt(s.clock.Now())
	return &c
}

// fanOut writes a message of type typ, with the data build makes, and a
// delivery of it to each of the org's endpoints that subscribes to typ.
// An org without such endpoints pays one read of its endpoints per
// transaction, and build is not called.
func (w *keyWrites) fanOut(ctx context.Context, orgID, typ string, at time.Time, build func() (map[string]any, error)) error {
	eps, err := w.orgEndpoints(ctx, orgID)
	if err != nil {
		return err
	}
	var subs []*keyward.WebhookEndpoint
	for _, e := range eps {
		if e.Subscribes(typ) {
			subs = append(subs, e)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	data, err := build()
	if err != nil {
		return err
	}
	m, err := w.s.message(typ, orgID, at, data)
	if err != nil {
		return err
	}
	if err := w.CreateWebhookMessage(ctx, m); err != nil {
		return err
	}
	for _, e := range subs {
		if _, err := w.s.addDelivery(ctx, w, m, e); err != nil {
			return err
		}
	}
	return nil
}

// orgEndpoints returns the org's endpoints, read once per transaction (a
// member's removal reports each of their keys): changes to endpoints
// report no event, so the list cannot change under a transaction that
// reports one.
func (w *keyWrites) orgEndpoints(ctx context.Context, orgID string) ([]*keyward.WebhookEndpoint, error) {
	if w.endpoints != nil && w.endpointsOrg == orgID {
		return w.endpoints, nil
	}
	eps, err := w.ListWebhookEndpoints(ctx, orgID)
	if err != nil {
		return nil, err
	}
	w.endpoints, w.endpointsOrg = eps, orgID
	return eps, nil
}

// message makes an event's message: the JSON body every attempt sends,
// {"type", "timestamp", "data"}.
func (s *Service) message(typ, orgID string, at time.Time, data map[string]any) (*keyward.WebhookMessage, error) {
	at = at.UTC().Truncate(time.Microsecond)
	body, err := json.Marshal(struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}{typ, at, data})
	if err != nil {
		return nil, err
	}
	return &keyward.WebhookMessage{ID: keyward.NewID(keyward.PrefixMessage), OrgID: orgID, Type: typ, CreatedAt: at, Payload: body}, nil
}

// addDelivery writes a delivery of m to e, due now, in a transaction of
// inTx, which wakes this node's worker once it commits.
func (s *Service) addDelivery(ctx context.Context, q keyward.Queries, m *keyward.WebhookMessage, e *keyward.WebhookEndpoint) (*keyward.WebhookDelivery, error) {
	now := s.clock.Now()
	d := &keyward.WebhookDelivery{
		ID: keyward.NewID(keyward.PrefixDelivery), MessageID: m.ID, EndpointID: e.ID, OrgID: e.OrgID,
		EventType: m.Type, Status: keyward.DeliveryPending, CreatedAt: now, NextAttemptAt: &now,
	}
	if w, ok := q.(*keyWrites); ok {
		w.webhooks = true
	}
	return d, q.CreateWebhookDelivery(ctx, d)
}
