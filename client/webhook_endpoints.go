package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/keyward/keyward"
)

// CreateWebhookInput is a new webhook endpoint. Events nil or empty means
// every event type (keyward.EventTypes); Enabled nil means enabled.
type CreateWebhookInput struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// WebhookPatch changes an endpoint: only the fields that are set change.
// Events set to an empty list means every event type.
type WebhookPatch struct {
	URL         *string   `json:"url,omitempty"`
	Description *string   `json:"description,omitempty"`
	Events      *[]string `json:"events,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

// WebhookWithSecret is an endpoint with its signing secret ("whsec_…"),
// the answer to its creation and to a rotation of its secret: the only
// times the secret is shown.
type WebhookWithSecret struct {
	keyward.WebhookEndpoint
	Secret string `json:"secret"`
}

// WebhooksService manages the org's webhook endpoints and their delivery
// log (org key: webhooks:read to read, webhooks:write to change, test or
// redeliver).
type WebhooksService struct{ c *Client }

// Webhooks returns the org's webhook endpoints.
func (o *OrgService) Webhooks() *WebhooksService { return &WebhooksService{c: o.c} }

// webhookPath is the path of endpoint id.
func webhookPath(id string) string { return "/v1/org/webhooks/" + escape(id) }

// List returns the org's endpoints, oldest first, in one page (an org has
// at most 20: the answer has no cursor). Secrets are never listed.
func (s *WebhooksService) List(ctx context.Context) (*keyward.Page[keyward.WebhookEndpoint], error) {
	var page keyward.Page[keyward.WebhookEndpoint]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/webhooks", cred: credOrg, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// Create adds an endpoint. The answer's Secret, which receivers verify
// deliveries with, is shown only this once. It is never retried.
func (s *WebhooksService) Create(ctx context.Context, in CreateWebhookInput) (*WebhookWithSecret, error) {
	return s.withSecret(ctx, call{method: http.MethodPost, path: "/v1/org/webhooks", body: in})
}

// Get returns one endpoint, without its secret.
func (s *WebhooksService) Get(ctx context.Context, id string) (*keyward.WebhookEndpoint, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.endpoint(ctx, call{method: http.MethodGet, path: webhookPath(id), idempotent: true})
}

// Update changes an endpoint's URL, description or events, or enables or
// disables it.
func (s *WebhooksService) Update(ctx context.Context, id string, patch WebhookPatch) (*keyward.WebhookEndpoint, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.endpoint(ctx, call{method: http.MethodPatch, path: webhookPath(id), body: patch})
}

// Delete deletes an endpoint and its delivery log; deliveries not yet
// sent are dropped.
func (s *WebhooksService) Delete(ctx context.Context, id string) error {
	if id == "" {
		return ErrEmptyID
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: webhookPath(id), cred: credOrg, idempotent: true}, nil)
}

// RotateSecret gives an endpoint a new signing secret, shown only in the
// answer; the old one stops signing at once. It is never retried.
func (s *WebhooksService) RotateSecret(ctx context.Context, id string) (*WebhookWithSecret, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.withSecret(ctx, call{method: http.MethodPost, path: webhookPath(id) + "/rotate-secret"})
}

// Test sends a webhook.test event to the endpoint, whatever it subscribes
// to, and returns its delivery, which is pending until the delivery worker
// sends it. A disabled endpoint is a CONFLICT error. It is never retried.
func (s *WebhooksService) Test(ctx context.Context, id string) (*keyward.WebhookDelivery, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.delivery(ctx, call{method: http.MethodPost, path: webhookPath(id) + "/test"})
}

// Deliveries returns one page of the endpoint's delivery log, newest
// first: each delivery's status, attempts and what its latest attempt got.
func (s *WebhooksService) Deliveries(ctx context.Context, id string, p ListParams) (*keyward.Page[keyward.WebhookDelivery], error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	var page keyward.Page[keyward.WebhookDelivery]
	err := s.c.do(ctx, call{method: http.MethodGet, path: webhookPath(id) + "/deliveries", query: p.values(), cred: credOrg, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// AllDeliveries iterates over the endpoint's deliveries from p.Cursor on,
// newest first.
func (s *WebhooksService) AllDeliveries(ctx context.Context, id string, p ListParams) iter.Seq2[keyward.WebhookDelivery, error] {
	return all(ctx, p.Cursor, func(ctx context.Context, cursor string) (*keyward.Page[keyward.WebhookDelivery], error) {
		p.Cursor = cursor
		return s.Deliveries(ctx, id, p)
	})
}

// Redeliver sends a delivery's event to the endpoint again, as a new
// delivery (with the same webhook-id, so a receiver that handled it can
// tell), and returns the new delivery. A disabled endpoint is a CONFLICT
// error. It is never retried.
func (s *WebhooksService) Redeliver(ctx context.Context, id, deliveryID string) (*keyward.WebhookDelivery, error) {
	if id == "" || deliveryID == "" {
		return nil, ErrEmptyID
	}
	return s.delivery(ctx, call{method: http.MethodPost, path: webhookPath(id) + "/deliveries/" + escape(deliveryID) + "/redeliver"})
}

func (s *WebhooksService) endpoint(ctx context.Context, cl call) (*keyward.WebhookEndpoint, error) {
	cl.cred = credOrg
	var e keyward.WebhookEndpoint
	if err := s.c.do(ctx, cl, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *WebhooksService) withSecret(ctx context.Context, cl call) (*WebhookWithSecret, error) {
	cl.cred = credOrg
	var e WebhookWithSecret
	if err := s.c.do(ctx, cl, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *WebhooksService) delivery(ctx context.Context, cl call) (*keyward.WebhookDelivery, error) {
	cl.cred = credOrg
	var d keyward.WebhookDelivery
	if err := s.c.do(ctx, cl, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
