package httpapi

import (
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// webhookPatchClears: nothing of an endpoint is cleared with null.
var webhookPatchClears = clears[service.WebhookPatch]{}

// webhookRoutes manage the org's webhook endpoints and their delivery log
// (docs/webhooks.md).
func (a *API) webhookRoutes() []route {
	const one = "/v1/org/webhooks/{id}"
	return []route{
		{Method: "GET", Path: "/v1/org/webhooks", ID: "listWebhooks", Tag: tagWebhooks, Summary: "List the org's webhook endpoints", Auth: authOrg, Out: keyward.Page[keyward.WebhookEndpoint]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				eps, err := a.svc.ListWebhooks(c.r.Context(), c.actor)
				if err != nil {
					return nil, err
				}
				return keyward.Page[*keyward.WebhookEndpoint]{Data: eps}, nil
			}},
		{Method: "POST", Path: "/v1/org/webhooks", ID: "createWebhook", Tag: tagWebhooks, Summary: "Add a webhook endpoint; the answer holds its signing secret, shown this once", Auth: authOrg, In: service.WebhookInput{}, Out: service.WebhookWithSecret{}, Status: 201, Errors: []int{409},
			Handle: func(c *call) (any, error) {
				var in service.WebhookInput
				if err := decode(c.r, &in, false); err != nil {
					return nil, err
				}
				return a.svc.CreateWebhook(c.r.Context(), c.actor, in)
			}},
		{Method: "GET", Path: one, ID: "getWebhook", Tag: tagWebhooks, Summary: "Get a webhook endpoint", Auth: authOrg, Out: keyward.WebhookEndpoint{}, Status: 200,
			Handle: func(c *call) (any, error) { return a.svc.GetWebhook(c.r.Context(), c.actor, c.r.PathValue("id")) }},
		{Method: "PATCH", Path: one, ID: "updateWebhook", Tag: tagWebhooks, Summary: "Change a webhook endpoint's URL, description, events, or enable or disable it" + nullRule(webhookPatchClears), Auth: authOrg, In: service.WebhookPatch{}, Out: keyward.WebhookEndpoint{}, Status: 200,
			Handle: func(c *call) (any, error) {
				var in service.WebhookPatch
				if err := decodePatch(c.r, &in, webhookPatchClears); err != nil {
					return nil, err
				}
				return a.svc.UpdateWebhook(c.r.Context(), c.actor, c.r.PathValue("id"), in)
			}},
		{Method: "DELETE", Path: one, ID: "deleteWebhook", Tag: tagWebhooks, Summary: "Delete a webhook endpoint and its delivery log", Auth: authOrg, Status: 204,
			Handle: func(c *call) (any, error) {
				return nil, a.svc.DeleteWebhook(c.r.Context(), c.actor, c.r.PathValue("id"))
			}},
		{Method: "POST", Path: one + "/rotate-secret", ID: "rotateWebhookSecret", Tag: tagWebhooks, Summary: "Give a webhook endpoint a new signing secret, shown this once; the old one stops at once", Auth: authOrg, Out: service.WebhookWithSecret{}, Status: 200,
			Handle: func(c *call) (any, error) {
				return a.svc.RotateWebhookSecret(c.r.Context(), c.actor, c.r.PathValue("id"))
			}},
		{Method: "POST", Path: one + "/test", ID: "testWebhook", Tag: tagWebhooks, Summary: "Send a webhook.test event to the endpoint", Auth: authOrg, Out: keyward.WebhookDelivery{}, Status: 202, Errors: []int{409},
			Handle: func(c *call) (any, error) {
				return a.svc.TestWebhook(c.r.Context(), c.actor, c.r.PathValue("id"))
			}},
		{Method: "GET", Path: one + "/deliveries", ID: "listWebhookDeliveries", Tag: tagWebhooks, Summary: "The endpoint's delivery log, newest first: status, attempts, the last attempt's answer and latency", Auth: authOrg, Query: []string{"limit", "cursor"}, Out: keyward.Page[keyward.WebhookDelivery]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				limit, err := limitParam(c.r)
				if err != nil {
					return nil, err
				}
				return a.svc.ListWebhookDeliveries(c.r.Context(), c.actor, c.r.PathValue("id"), limit, c.r.URL.Query().Get("cursor"))
			}},
		{Method: "POST", Path: one + "/deliveries/{delivery_id}/redeliver", ID: "redeliverWebhook", Tag: tagWebhooks, Summary: "Send a delivery's event to the endpoint again, as a new delivery with the same webhook-id", Auth: authOrg, Out: keyward.WebhookDelivery{}, Status: 202, Errors: []int{409},
			Handle: func(c *call) (any, error) {
				return a.svc.RedeliverWebhook(c.r.Context(), c.actor, c.r.PathValue("id"), c.r.PathValue("delivery_id"))
			}},
	}
}
