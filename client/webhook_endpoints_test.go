package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/client/webhooks"
	"github.com/keyward/keyward/internal/kwtest"
)

// waitDelivery polls the endpoint's delivery log until delivery id is no
// longer pending, and returns it.
func waitDelivery(t *testing.T, svc *client.WebhooksService, endpointID, id string) keyward.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for d, err := range svc.AllDeliveries(context.Background(), endpointID, client.ListParams{}) {
			if err != nil {
				t.Fatalf("deliveries: %v", err)
			}
			if d.ID == id && d.Status != keyward.DeliveryPending {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is still pending", id)
		}
		time.Sleep(10 * time.Millisecond) // the worker records the answer just after it comes
	}
}

// TestWebhookEndpointsAgainstRealAPI manages an endpoint through the SDK
// against the real API: its secret is shown at creation and rotation only,
// a test event arrives signed at a loopback receiver and the delivery log
// shows it, a redelivery repeats its webhook-id, and a disabled endpoint
// refuses tests.
func TestWebhookEndpointsAgainstRealAPI(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	c, err := client.New(client.WithBaseURL(srv.URL), client.WithOrgAPIKey(srv.OrgKey), client.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	svc := c.Org().Webhooks()
	recv := kwtest.NewWebhookReceiver(t, http.StatusNoContent)

	ep, err := svc.Create(ctx, client.CreateWebhookInput{URL: recv.URL, Description: "audit sink", Events: []string{keyward.EventKeyCreated}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(ep.Secret, webhooks.SecretPrefix) || !ep.Enabled || ep.URL != recv.URL || !slices.Equal(ep.Events, []string{keyward.EventKeyCreated}) {
		t.Fatalf("create answered url %q, events %v, enabled %v, a secret with prefix %v; want the endpoint and a whsec_ secret",
			ep.URL, ep.Events, ep.Enabled, strings.HasPrefix(ep.Secret, webhooks.SecretPrefix))
	}
	recv.Trust(t, srv, ep.Secret)

	all, err := svc.Create(ctx, client.CreateWebhookInput{URL: recv.URL + "/all"})
	if err != nil {
		t.Fatalf("create with no events: %v", err)
	}
	if !slices.Equal(all.Events, keyward.EventTypes) {
		t.Errorf("an endpoint made without events subscribes to %v; want every type", all.Events)
	}
	page, err := svc.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != ep.ID || page.Data[1].ID != all.ID || page.NextCursor != nil {
		t.Fatalf("list = %d endpoints, cursor %v; want the two, oldest first", len(page.Data), page.NextCursor)
	}
	if got, err := svc.Get(ctx, ep.ID); err != nil || got.Description != "audit sink" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if err := svc.Delete(ctx, all.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := svc.Get(ctx, all.ID); !client.HasCode(err, keyward.CodeNotFound) {
		t.Errorf("get after delete: %v, want NOT_FOUND", err)
	}

	// A test event arrives signed, and the log shows it succeeded.
	d, err := svc.Test(ctx, ep.ID)
	if err != nil {
		t.Fatalf("test: %v", err)
	}
	if d.EndpointID != ep.ID || d.EventType != keyward.EventWebhookTest {
		t.Fatalf("test answered %+v", d)
	}
	first := recv.Next(t)
	if first.Type != keyward.EventWebhookTest || first.ID != d.MessageID {
		t.Errorf("received %s %s; want webhook.test %s", first.Type, first.ID, d.MessageID)
	}
	done := waitDelivery(t, svc, ep.ID, d.ID)
	if done.Status != keyward.DeliverySucceeded || done.Attempts != 1 || done.LastStatusCode != http.StatusNoContent || done.DeliveredAt == nil {
		t.Errorf("delivery after the receiver answered: %+v; want succeeded once with 204", done)
	}

	// A redelivery is a new delivery of the same message.
	again, err := svc.Redeliver(ctx, ep.ID, d.ID)
	if err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	if again.ID == d.ID || again.MessageID != d.MessageID {
		t.Errorf("redeliver answered %s of %s; want a new delivery of %s", again.ID, again.MessageID, d.MessageID)
	}
	if e := recv.Next(t); e.ID != d.MessageID {
		t.Errorf("redelivered webhook-id %s, want %s", e.ID, d.MessageID)
	}
	waitDelivery(t, svc, ep.ID, again.ID)

	// Paging one at a time finds both, newest first.
	var ids []string
	for d, err := range svc.AllDeliveries(ctx, ep.ID, client.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatalf("all deliveries: %v", err)
		}
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []string{again.ID, d.ID}) {
		t.Errorf("deliveries by pages of one = %v, want [%s %s]", ids, again.ID, d.ID)
	}

	// After a rotation only the new secret verifies.
	rotated, err := svc.RotateSecret(ctx, ep.ID)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if rotated.Secret == ep.Secret || !strings.HasPrefix(rotated.Secret, webhooks.SecretPrefix) {
		t.Fatal("rotate-secret did not answer a new whsec_ secret")
	}
	recv.Trust(t, srv, rotated.Secret)
	d, err = svc.Test(ctx, ep.ID)
	if err != nil {
		t.Fatalf("test after rotate: %v", err)
	}
	if e := recv.Next(t); e.ID != d.MessageID {
		t.Errorf("after rotation received %s, want %s", e.ID, d.MessageID)
	}

	// Disabled, the endpoint refuses tests and redeliveries.
	off := false
	upd, err := svc.Update(ctx, ep.ID, client.WebhookPatch{Enabled: &off, Events: &[]string{}})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Enabled || !slices.Equal(upd.Events, keyward.EventTypes) || upd.Description != "audit sink" {
		t.Errorf("after update: enabled %v, events %v, description %q; want disabled, every event, the description kept", upd.Enabled, upd.Events, upd.Description)
	}
	if _, err := svc.Test(ctx, ep.ID); !client.HasCode(err, keyward.CodeConflict) {
		t.Errorf("test of a disabled endpoint: %v, want CONFLICT", err)
	}
	if _, err := svc.Redeliver(ctx, ep.ID, d.ID); !client.HasCode(err, keyward.CodeConflict) {
		t.Errorf("redeliver to a disabled endpoint: %v, want CONFLICT", err)
	}

	bad := "ftp://example.com/hook"
	var apiErr *keyward.Error
	_, err = svc.Update(ctx, ep.ID, client.WebhookPatch{URL: &bad})
	if !errors.As(err, &apiErr) || apiErr.Code != keyward.CodeInvalidRequest || len(apiErr.Details) == 0 || apiErr.Details[0].Field != "url" {
		t.Errorf("update to an ftp URL: %v; want INVALID_REQUEST naming url", err)
	}
}

// TestWebhookEndpointsEmptyID: calls that name an endpoint or delivery
// refuse "" before any request.
func TestWebhookEndpointsEmptyID(t *testing.T) {
	c, err := client.New(client.WithBaseURL("http://127.0.0.1:1"), client.WithOrgAPIKey("kwo_0123456789abcdefghijABCDEFGHIJ000000"), client.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc := c.Org().Webhooks()
	for name, err := range map[string]error{
		"get":       second(svc.Get(ctx, "")),
		"update":    second(svc.Update(ctx, "", client.WebhookPatch{})),
		"delete":    svc.Delete(ctx, ""),
		"rotate":    second(svc.RotateSecret(ctx, "")),
		"test":      second(svc.Test(ctx, "")),
		"list":      second(svc.Deliveries(ctx, "", client.ListParams{})),
		"redeliver": second(svc.Redeliver(ctx, "whk_1", "")),
	} {
		if !errors.Is(err, client.ErrEmptyID) {
			t.Errorf("%s with an empty id: %v, want ErrEmptyID", name, err)
		}
	}
}

// second returns the error of a call's two results.
func second[T any](_ T, err error) error { return err }
