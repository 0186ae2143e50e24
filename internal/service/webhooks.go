package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client/webhooks"
	"github.com/keyward/keyward/internal/outbox"
)

// Audit actions of webhook endpoints.
const (
	AuditWebhookCreate    = "webhook.create"
	AuditWebhookUpdate    = "webhook.update"
	AuditWebhookDelete    = "webhook.delete"
	AuditWebhookRotate    = "webhook.rotate_secret"
	AuditWebhookTest      = "webhook.test"
	AuditWebhookRedeliver = "webhook.redeliver"
	AuditWebhookRead      = "webhook.read"
)

// Webhook bounds.
const (
	MaxWebhooksPerOrg     = 20
	MaxWebhookDescription = 500
)

// WebhookInput is the body of POST /v1/org/webhooks. Events nil or empty
// means every event type; Enabled nil means enabled.
type WebhookInput struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// WebhookPatch is the body of PATCH /v1/org/webhooks/{id}: the fields
// given change.
type WebhookPatch struct {
	URL         *string   `json:"url,omitempty"`
	Description *string   `json:"description,omitempty"`
	Events      *[]string `json:"events,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

// WebhookWithSecret is an endpoint with its signing secret: the answer to
// its creation and to a rotation of its secret, the only times the secret
// is shown.
type WebhookWithSecret struct {
	keyward.WebhookEndpoint
	Secret string `json:"secret"`
}

func webhookRef(id string) keyward.ActorRef { return keyward.ActorRef{Type: "webhook", ID: id} }

// ListWebhooks returns the org's endpoints.
func (s *Service) ListWebhooks(ctx context.Context, a *Actor) ([]*keyward.WebhookEndpoint, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actWebhooksRead, AuditWebhookRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	return s.store.ListWebhookEndpoints(ctx, a.OrgID)
}

// GetWebhook returns one of the org's endpoints.
func (s *Service) GetWebhook(ctx context.Context, a *Actor, id string) (*keyward.WebhookEndpoint, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actWebhooksRead, AuditWebhookRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	return s.orgWebhook(ctx, s.store, a, id)
}

// orgWebhook reads an endpoint of a's org; another org's is NOT_FOUND.
func (s *Service) orgWebhook(ctx context.Context, q keyward.Queries, a *Actor, id string) (*keyward.WebhookEndpoint, error) {
	e, err := q.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.OrgID != a.OrgID {
		return nil, keyward.NotFound("webhook endpoint")
	}
	return e, nil
}

// changeWebhook runs fn in one transaction on one of a's org's endpoints,
// once a is found allowed to change endpoints (auditAction names the
// change for a denial).
func (s *Service) changeWebhook(ctx context.Context, a *Actor, id, auditAction string, fn func(q keyward.Queries, e *keyward.WebhookEndpoint) error) error {
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := s.orgAccess(ctx, q, a, actWebhooksWrite, auditAction); err != nil {
			return err
		}
		e, err := s.orgWebhook(ctx, q, a, id)
		if err != nil {
			return err
		}
		return fn(q, e)
	})
	return s.finish(ctx, err)
}

// errWebhookDisabled refuses sending events to a disabled endpoint.
var errWebhookDisabled = keyward.Errorf(keyward.CodeConflict, "The endpoint is disabled; enable it to send it events")

// newSecret returns a new signing secret and its sealed form.
func (s *Service) newSecret() (string, []byte, error) {
	secret, err := webhooks.NewSecret()
	if err != nil {
		return "", nil, err
	}
	sealed, err := s.sealSecret(secret)
	return secret, sealed, err
}

// CreateWebhook adds an endpoint with a new signing secret, shown once.
func (s *Service) CreateWebhook(ctx context.Context, a *Actor, in WebhookInput) (*WebhookWithSecret, error) {
	events := in.Events
	if len(events) == 0 {
		events = slices.Clone(keyward.EventTypes)
	}
	enabled := in.Enabled == nil || *in.Enabled
	description, errs := s.checkWebhook(in.URL, in.Description, events)
	if err := invalid(errs...); err != nil {
		return nil, err
	}
	secret, sealed, err := s.newSecret()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	e := &keyward.WebhookEndpoint{
		ID: keyward.NewID(keyward.PrefixWebhook), OrgID: a.OrgID, URL: in.URL, Description: description,
		Events: events, Enabled: enabled, Secret: sealed, CreatedAt: now, UpdatedAt: now,
	}
	err = s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := s.orgAccess(ctx, q, a, actWebhooksWrite, AuditWebhookCreate); err != nil {
			return err
		}
		have, err := q.ListWebhookEndpoints(ctx, a.OrgID)
		if err != nil {
			return err
		}
		if len(have) >= MaxWebhooksPerOrg {
			return keyward.Errorf(keyward.CodeConflict, "An organization has at most %d webhook endpoints; delete one first", MaxWebhooksPerOrg)
		}
		if err := q.CreateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		ev := s.event(a, AuditWebhookCreate, "", webhookRef(e.ID))
		ev.Details = map[string]any{"url": auditURL(e.URL), "events": e.Events, "enabled": e.Enabled}
		return q.InsertAuditEvent(ctx, ev)
	})
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	return &WebhookWithSecret{WebhookEndpoint: *e, Secret: secret}, nil
}

// UpdateWebhook changes an endpoint's URL, description, events or state.
func (s *Service) UpdateWebhook(ctx context.Context, a *Actor, id string, p WebhookPatch) (*keyward.WebhookEndpoint, error) {
	var out *keyward.WebhookEndpoint
	err := s.changeWebhook(ctx, a, id, AuditWebhookUpdate, func(q keyward.Queries, e *keyward.WebhookEndpoint) error {
		changes := map[string]any{}
		if p.URL != nil && *p.URL != e.URL {
			e.URL, changes["url"] = *p.URL, auditURL(*p.URL)
		}
		if p.Description != nil && *p.Description != e.Description {
			e.Description, changes["description"] = *p.Description, *p.Description
		}
		if p.Events != nil {
			events := *p.Events
			if len(events) == 0 {
				events = slices.Clone(keyward.EventTypes)
			}
			e.Events, changes["events"] = events, events
		}
		if p.Enabled != nil && *p.Enabled != e.Enabled {
			e.Enabled, changes["enabled"] = *p.Enabled, *p.Enabled
		}
		description, errs := s.checkWebhook(e.URL, e.Description, e.Events)
		if err := invalid(errs...); err != nil {
			return err
		}
		e.Description = description
		e.UpdatedAt = s.clock.Now()
		if err := q.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		out = e
		ev := s.event(a, AuditWebhookUpdate, "", webhookRef(e.ID))
		ev.Details = changes
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, err
}

// DeleteWebhook deletes an endpoint and its delivery log; deliveries not
// yet sent are dropped.
func (s *Service) DeleteWebhook(ctx context.Context, a *Actor, id string) error {
	return s.changeWebhook(ctx, a, id, AuditWebhookDelete, func(q keyward.Queries, e *keyward.WebhookEndpoint) error {
		if err := q.DeleteWebhookEndpoint(ctx, e.ID); err != nil {
			return err
		}
		ev := s.event(a, AuditWebhookDelete, "", webhookRef(e.ID))
		ev.Details = map[string]any{"url": auditURL(e.URL)}
		return q.InsertAuditEvent(ctx, ev)
	})
}

// RotateWebhookSecret gives an endpoint a new signing secret, shown once;
// deliveries from then on are signed with it alone.
func (s *Service) RotateWebhookSecret(ctx context.Context, a *Actor, id string) (*WebhookWithSecret, error) {
	secret, sealed, err := s.newSecret()
	if err != nil {
		return nil, err
	}
	var out *WebhookWithSecret
	err = s.changeWebhook(ctx, a, id, AuditWebhookRotate, func(q keyward.Queries, e *keyward.WebhookEndpoint) error {
		e.Secret, e.UpdatedAt = sealed, s.clock.Now()
		if err := q.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		out = &WebhookWithSecret{WebhookEndpoint: *e, Secret: secret}
		return q.InsertAuditEvent(ctx, s.event(a, AuditWebhookRotate, "", webhookRef(e.ID)))
	})
	return out, err
}

// TestWebhook sends a webhook.test event to one endpoint, whatever it
// subscribes to (but not while it is disabled), and returns its delivery.
func (s *Service) TestWebhook(ctx context.Context, a *Actor, id string) (*keyward.WebhookDelivery, error) {
	var out *keyward.WebhookDelivery
	err := s.changeWebhook(ctx, a, id, AuditWebhookTest, func(q keyward.Queries, e *keyward.WebhookEndpoint) error {
		if !e.Enabled {
			return errWebhookDisabled
		}
		ev := s.event(a, AuditWebhookTest, "", webhookRef(e.ID))
		m, err := s.message(keyward.EventWebhookTest, ev.OrgID, ev.Time, map[string]any{
			"endpoint_id": e.ID, "actor": ev.Actor, "request_id": ev.RequestID,
		})
		if err != nil {
			return err
		}
		if err := q.CreateWebhookMessage(ctx, m); err != nil {
			return err
		}
		if out, err = s.addDelivery(ctx, q, m, e); err != nil {
			return err
		}
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, err
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (s *Service) ListWebhookDeliveries(ctx context.Context, a *Actor, id string, limit int, cursor string) (*keyward.Page[*keyward.WebhookDelivery], error) {
	if _, err := s.orgAccess(ctx, s.store, a, actWebhooksRead, AuditWebhookRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	limit, before, err := pageArgs(limit, cursor)
	if err != nil {
		return nil, err
	}
	if _, err := s.orgWebhook(ctx, s.store, a, id); err != nil {
		return nil, err
	}
	ds, err := s.store.ListWebhookDeliveries(ctx, id, before, limit+1)
	if err != nil {
		return nil, err
	}
	return makePage(ds, limit, func(d *keyward.WebhookDelivery) string { return d.ID }), nil
}

// RedeliverWebhook sends a delivery's message to its endpoint again, as a
// new delivery with a retry window of its own (the same webhook-id, so a
// receiver that already handled it can tell).
func (s *Service) RedeliverWebhook(ctx context.Context, a *Actor, endpointID, deliveryID string) (*keyward.WebhookDelivery, error) {
	var out *keyward.WebhookDelivery
	err := s.changeWebhook(ctx, a, endpointID, AuditWebhookRedeliver, func(q keyward.Queries, e *keyward.WebhookEndpoint) error {
		d, err := q.GetWebhookDelivery(ctx, deliveryID)
		if err != nil {
			return err
		}
		if d.EndpointID != e.ID {
			return keyward.NotFound("webhook delivery")
		}
		if !e.Enabled {
			return errWebhookDisabled
		}
		m, err := q.GetWebhookMessage(ctx, d.MessageID)
		if err != nil {
			return err
		}
		if out, err = s.addDelivery(ctx, q, m, e); err != nil {
			return err
		}
		ev := s.event(a, AuditWebhookRedeliver, "", webhookRef(e.ID))
		ev.Details = map[string]any{"delivery_id": d.ID, "message_id": m.ID, "new_delivery_id": out.ID}
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, err
}

// auditURL is an endpoint's URL as the audit log keeps it: without its
// query, which may hold the receiver's token (the audit log is read with
// audit:read, endpoints only with webhooks:read).
func auditURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "…", false
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	return u.String()
}

// checkWebhook validates an endpoint's fields and returns its description
// trimmed.
func (s *Service) checkWebhook(url, description string, events []string) (string, []*keyward.FieldError) {
	var errs []*keyward.FieldError
	if err := outbox.CheckURL(url, s.webhookAllowPrivate); err != nil {
		errs = append(errs, &keyward.FieldError{Field: "url", Problem: err.Error()})
	}
	description, fe := checkText("description", description, MaxWebhookDescription, true)
	if fe != nil {
		errs = append(errs, fe)
	}
	for i, t := range events {
		if !slices.Contains(keyward.EventTypes, t) {
			errs = append(errs, &keyward.FieldError{Field: "events", Problem: "has an unknown event type; known: " + strings.Join(keyward.EventTypes, ", ")})
			break
		}
		if slices.Contains(events[:i], t) {
			errs = append(errs, &keyward.FieldError{Field: "events", Problem: "lists " + t + " twice"})
			break
		}
	}
	return description, errs
}

// secretAEAD seals signing secrets at rest with a key derived from the
// pepper (without one, sealing hides nothing from a reader of the
// database; docs/webhooks.md says so).
func (s *Service) secretAEAD() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, s.pepper, nil, "keyward webhook signing secrets", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Service) sealSecret(secret string) ([]byte, error) {
	aead, err := s.secretAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(secret), nil), nil
}

// WebhookSecret opens an endpoint's sealed signing secret (for the
// delivery worker).
func (s *Service) WebhookSecret(e *keyward.WebhookEndpoint) (string, error) {
	aead, err := s.secretAEAD()
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(e.Secret) < n {
		return "", errors.New("webhooks: the stored secret is damaged")
	}
	plain, err := aead.Open(nil, e.Secret[:n], e.Secret[n:], nil)
	if err != nil {
		return "", errors.New("webhooks: the stored secret cannot be opened (was KEYWARD_KEY_PEPPER changed?)")
	}
	return string(plain), nil
}

// webhookWritten wakes this node's delivery worker after a commit that
// wrote deliveries.
func (s *Service) webhookWritten() {
	if f := s.onWebhook.Load(); f != nil {
		(*f)()
	}
}

// OnWebhook sets what is called after each commit that wrote webhook
// deliveries (the local worker's Nudge).
func (s *Service) OnWebhook(f func()) { s.onWebhook.Store(&f) }
