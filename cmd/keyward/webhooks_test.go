package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/client/webhooks"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/spf13/cobra"
)

// cliDelivery polls "keyward webhooks deliveries" until the delivery id has
// had an attempt recorded, and returns it as the CLI lists it.
func cliDelivery(t *testing.T, srv *kwtest.Server, endpointID, id string) keyward.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var page keyward.Page[keyward.WebhookDelivery]
		out, _ := mustOrg(t, srv, "webhooks", "deliveries", endpointID, "--all", "-o", "json")
		mustUnmarshal(t, out, &page)
		for _, d := range page.Data {
			if d.ID == id && d.Attempts > 0 {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s had no attempt recorded in time", id)
		}
		time.Sleep(10 * time.Millisecond) // the worker records the answer just after it comes
	}
}

// TestWebhooksCLILifecycle: create shows the signing secret once and
// get/list never do; a test event arrives signed at a loopback receiver and
// "deliveries" then shows it succeeded, a failing receiver's delivery shows
// its status code, error and next attempt, and redeliver repeats the
// event's webhook-id.
func TestWebhooksCLILifecycle(t *testing.T) {
	srv := kwtest.NewServer(t)
	recv := kwtest.NewWebhookReceiver(t, http.StatusOK)

	out, stderr := mustOrg(t, srv, "webhooks", "create", "--url", recv.URL, "--events", "key.created,key.revoked", "--description", "SIEM")
	i := strings.Index(out, "Signing secret: "+webhooks.SecretPrefix)
	if i < 0 || !strings.Contains(stderr, "shown once") {
		t.Fatalf("create printed no secret line or no 'shown once' warning (stderr %q)", stderr)
	}
	secret := strings.Fields(out[i+len("Signing secret: "):])[0]
	if n := strings.Count(out+stderr, secret); n != 1 {
		t.Errorf("create printed the secret %d times, want once", n)
	}
	id := strings.Fields(out[strings.Index(out, "ID:")+3:])[0]
	if !strings.HasPrefix(id, keyward.PrefixWebhook+"_") || !strings.Contains(out, "key.created,key.revoked") || !strings.Contains(out, "SIEM") {
		t.Fatalf("create printed id %q and lacks the events or description:\n%s", id, strings.ReplaceAll(out, secret, "<secret>"))
	}
	recv.Trust(t, srv, secret)

	for _, args := range [][]string{
		{"webhooks", "list"}, {"webhooks", "list", "-o", "json"},
		{"webhooks", "get", id}, {"webhooks", "get", id, "-o", "json"},
	} {
		out, stderr := mustOrg(t, srv, args...)
		if !strings.Contains(out, id) || !strings.Contains(out, recv.URL) {
			t.Errorf("keyward %s does not show the endpoint", strings.Join(args, " "))
		}
		if all := out + stderr; strings.Contains(all, secret) || strings.Contains(all, webhooks.SecretPrefix) || strings.Contains(all, `"secret"`) {
			t.Errorf("keyward %s shows a secret", strings.Join(args, " "))
		}
	}

	// The test event arrives, verified, and the log shows it succeeded.
	var d keyward.WebhookDelivery
	out, _ = mustOrg(t, srv, "webhooks", "test", id, "-o", "json")
	mustUnmarshal(t, out, &d)
	if d.EndpointID != id || d.EventType != keyward.EventWebhookTest || d.Status != keyward.DeliveryPending {
		t.Fatalf("test -o json = %+v; want a pending webhook.test delivery to %s", d, id)
	}
	if e := recv.Next(t); e.Type != keyward.EventWebhookTest || e.ID != d.MessageID {
		t.Errorf("the receiver got %s %s; want webhook.test %s", e.Type, e.ID, d.MessageID)
	}
	got := cliDelivery(t, srv, id, d.ID)
	if got.Status != keyward.DeliverySucceeded || got.LastStatusCode != http.StatusOK || got.NextAttemptAt != nil {
		t.Errorf("delivery after a 200: status %s, code %d, next attempt %v; want succeeded, 200, none", got.Status, got.LastStatusCode, got.NextAttemptAt)
	}
	out, _ = mustOrg(t, srv, "webhooks", "deliveries", id)
	if row := lineWith(out, d.ID); !fieldsInclude(row, "webhook.test", "succeeded", "1", "200", "0ms") {
		t.Errorf("deliveries row %q; want webhook.test succeeded after 1 attempt with 200 (the test clock makes latency 0ms)\n%s", row, out)
	}

	// Redeliver: a new delivery of the same message.
	out, stderr = mustOrg(t, srv, "webhooks", "redeliver", id, d.ID)
	if !strings.Contains(out, "Queued delivery "+d.ID) || !strings.Contains(stderr, "keyward webhooks deliveries "+id) {
		t.Errorf("redeliver printed %q / %q", out, stderr)
	}
	if e := recv.Next(t); e.ID != d.MessageID {
		t.Errorf("the redelivery's webhook-id is %s, want %s", e.ID, d.MessageID)
	}

	// Two deliveries page one at a time.
	out, stderr = mustOrg(t, srv, "webhooks", "deliveries", id, "--limit", "1")
	if strings.Count(out, "dlv_") != 1 || !strings.Contains(stderr, "--cursor") {
		t.Errorf("deliveries --limit 1: %q / %q; want one row and a cursor", out, stderr)
	}
	var page keyward.Page[keyward.WebhookDelivery]
	out, _ = mustOrg(t, srv, "webhooks", "deliveries", id, "--limit", "1", "--all", "-o", "json")
	mustUnmarshal(t, out, &page)
	if len(page.Data) != 2 || page.Data[1].ID != d.ID {
		t.Errorf("deliveries --all listed %d, want the redelivery then %s", len(page.Data), d.ID)
	}

	// A receiver that answers 500: the log shows the code, the error and
	// when the next attempt is due.
	failing := kwtest.NewWebhookReceiver(t, http.StatusInternalServerError)
	var ep client.WebhookWithSecret
	out, stderr = mustOrg(t, srv, "webhooks", "create", "--url", failing.URL, "-o", "json")
	mustUnmarshal(t, out, &ep)
	if !strings.HasPrefix(ep.Secret, webhooks.SecretPrefix) || !slices.Equal(ep.Events, keyward.EventTypes) || !strings.Contains(stderr, "shown once") {
		t.Fatalf("create -o json: events %v, a whsec_ secret %v, stderr %q; want every event and the secret", ep.Events, strings.HasPrefix(ep.Secret, webhooks.SecretPrefix), stderr)
	}
	failing.Trust(t, srv, ep.Secret)
	out, _ = mustOrg(t, srv, "webhooks", "test", ep.ID, "-o", "json")
	mustUnmarshal(t, out, &d)
	failing.Next(t)
	got = cliDelivery(t, srv, ep.ID, d.ID)
	if got.Status != keyward.DeliveryPending || got.LastStatusCode != 500 || got.NextAttemptAt == nil || got.LastError == "" {
		t.Errorf("delivery after a 500: %+v; want pending, 500, an error and a next attempt", got)
	}
	out, _ = mustOrg(t, srv, "webhooks", "deliveries", ep.ID)
	row := lineWith(out, d.ID)
	if !fieldsInclude(row, "pending", "500") || !strings.Contains(row, got.LastError) || !strings.Contains(row, fmtTime(got.NextAttemptAt, "?")) {
		t.Errorf("deliveries row %q; want pending, 500, %q and the next attempt", row, got.LastError)
	}
}

// TestWebhooksCLIUpdateDelete: update changes only what its flags say, a
// disabled endpoint refuses a test, and delete asks for DELETE, refuses
// without a terminal unless --yes, and deletes.
func TestWebhooksCLIUpdateDelete(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	svc := orgSDK(t, srv).Org().Webhooks()
	ep, err := svc.Create(ctx, client.CreateWebhookInput{URL: "http://127.0.0.1:9/hook", Description: "old", Events: []string{keyward.EventKeyLeaked}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}

	out, _ := mustOrg(t, srv, "webhooks", "update", ep.ID, "--events", "all", "--disable")
	if !fieldsInclude(lineWith(out, "Events:"), "all") || !fieldsInclude(lineWith(out, "Enabled:"), "no") {
		t.Errorf("update --events all --disable printed:\n%s", out)
	}
	got, err := svc.Get(ctx, ep.ID)
	if err != nil || got.Enabled || !slices.Equal(got.Events, keyward.EventTypes) || got.Description != "old" || got.URL != ep.URL {
		t.Fatalf("after update --events all --disable: %+v, %v; want disabled with every event, the rest kept", got, err)
	}
	_, stderr, code := runBinary(t, env, "webhooks", "test", ep.ID)
	if code != 1 || !strings.Contains(stderr, keyward.CodeConflict) {
		t.Errorf("test of a disabled endpoint: exit %d, %q; want CONFLICT", code, stderr)
	}
	mustOrg(t, srv, "webhooks", "update", ep.ID, "--enable", "--url", "http://127.0.0.1:9/v2", "--description", "new", "--events", "key.revoked")
	got, err = svc.Get(ctx, ep.ID)
	if err != nil || !got.Enabled || got.URL != "http://127.0.0.1:9/v2" || got.Description != "new" || !slices.Equal(got.Events, []string{keyward.EventKeyRevoked}) {
		t.Fatalf("after update --enable --url --description --events: %+v, %v", got, err)
	}

	// No terminal: nothing to read on stdin.
	_, stderr, code = runBinary(t, env, "webhooks", "delete", ep.ID)
	if code == 0 || !strings.Contains(stderr, "--yes") || !strings.Contains(stderr, "not deleted") {
		t.Errorf("delete without a terminal: exit %d, %q; want a non-zero exit naming --yes", code, stderr)
	}
	if _, _, err := orgCLI(t, srv, srv.OrgKey, "delete\n", "webhooks", "delete", ep.ID); err == nil || !strings.Contains(err.Error(), "not deleted") {
		t.Errorf("delete confirmed with another word: %v", err)
	}
	if _, err := svc.Get(ctx, ep.ID); err != nil {
		t.Fatalf("an unconfirmed delete deleted the endpoint: %v", err)
	}
	out, stderr, err = orgCLI(t, srv, srv.OrgKey, "DELETE\n", "webhooks", "delete", ep.ID)
	if err != nil || !strings.Contains(stderr, "Type DELETE") || !strings.Contains(stderr, got.URL) || !strings.Contains(out, "Deleted webhook endpoint "+ep.ID) {
		t.Fatalf("delete typed: %v, %q / %q", err, out, stderr)
	}
	if _, err := svc.Get(ctx, ep.ID); !client.HasCode(err, keyward.CodeNotFound) {
		t.Errorf("get after delete: %v, want NOT_FOUND", err)
	}

	other, err := svc.Create(ctx, client.CreateWebhookInput{URL: "http://127.0.0.1:9/other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runBinary(t, env, "webhooks", "delete", other.ID, "--yes"); code != 0 {
		t.Fatalf("delete --yes: exit %d, %q", code, stderr)
	}
	if _, err := svc.Get(ctx, other.ID); !client.HasCode(err, keyward.CodeNotFound) {
		t.Errorf("get after delete --yes: %v, want NOT_FOUND", err)
	}
}

// TestWebhooksCLIRotateSecret: rotate-secret prints a new secret once, and
// the next delivery verifies with it alone.
func TestWebhooksCLIRotateSecret(t *testing.T) {
	srv := kwtest.NewServer(t)
	recv := kwtest.NewWebhookReceiver(t, http.StatusNoContent)
	var ep client.WebhookWithSecret
	out, _ := mustOrg(t, srv, "webhooks", "create", "--url", recv.URL, "-o", "json")
	mustUnmarshal(t, out, &ep)

	out, stderr := mustOrg(t, srv, "webhooks", "rotate-secret", ep.ID)
	i := strings.Index(out, "Signing secret: "+webhooks.SecretPrefix)
	if i < 0 || !strings.Contains(stderr, "shown once") || !strings.Contains(stderr, "old signing secret") {
		t.Fatalf("rotate-secret printed no secret line or warning (stderr %q)", stderr)
	}
	secret := strings.Fields(out[i+len("Signing secret: "):])[0]
	if secret == ep.Secret {
		t.Fatal("rotate-secret printed the old secret")
	}
	old, err := webhooks.NewVerifier(ep.Secret, webhooks.WithClock(srv.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	recv.Trust(t, srv, secret)
	var d keyward.WebhookDelivery
	out, _ = mustOrg(t, srv, "webhooks", "test", ep.ID, "-o", "json")
	mustUnmarshal(t, out, &d)
	if e := recv.Next(t); e.ID != d.MessageID {
		t.Errorf("after rotation the receiver got %s, want %s", e.ID, d.MessageID)
	}
	if _, err := old.Verify(recv.Latest()); err == nil {
		t.Error("the delivery after rotation verifies with the old secret")
	}
	got := cliDelivery(t, srv, ep.ID, d.ID)
	if got.Status != keyward.DeliverySucceeded {
		t.Errorf("delivery signed after rotation: %s, want succeeded (verified with the new secret)", got.Status)
	}
}

// TestWebhooksCLIBadInput: a URL or event type the server refuses is its
// error contract naming the field, with a non-zero exit and nothing made;
// mistakes the CLI can see make no request.
func TestWebhooksCLIBadInput(t *testing.T) {
	srv := kwtest.NewServer(t)
	svc := orgSDK(t, srv).Org().Webhooks()
	ep, err := svc.Create(context.Background(), client.CreateWebhookInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}
	for _, tt := range []struct {
		args  []string
		field string
	}{
		{[]string{"webhooks", "create", "--url", "ftp://example.com/hook"}, "url"},
		{[]string{"webhooks", "create", "--url", "not a url"}, "url"},
		{[]string{"webhooks", "create", "--url", "https://example.com/hook", "--events", "key.created,key.exploded"}, "events"},
		{[]string{"webhooks", "update", ep.ID, "--url", "ftp://example.com/hook"}, "url"},
	} {
		out, stderr, code := runBinary(t, env, tt.args...)
		if code != 1 || !strings.Contains(stderr, keyward.CodeInvalidRequest) || !strings.Contains(stderr, "\n  "+tt.field+": ") || strings.Contains(out, "whsec_") {
			t.Errorf("keyward %s: exit %d, stderr %q; want INVALID_REQUEST naming %s and no secret", strings.Join(tt.args, " "), code, stderr, tt.field)
		}
	}
	page, err := svc.List(context.Background())
	if err != nil || len(page.Data) != 1 || page.Data[0].URL != ep.URL {
		t.Errorf("after refused changes the org has %+v, %v; want only the first endpoint, unchanged", page, err)
	}

	api := newFakeAPI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"webhooks", "update", ep.ID}, "nothing to change"},
		{[]string{"webhooks", "update", ep.ID, "--enable", "--disable"}, "not both"},
		{[]string{"webhooks", "create"}, `"url" not set`},
		{[]string{"webhooks", "redeliver", ep.ID}, "accepts 2 arg"},
	} {
		_, _, err := runCLI(t, api.URL, "", cliOrgKey, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("keyward %s: %v; want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	if got := api.requests(); len(got) != 0 {
		t.Errorf("mistakes the CLI can see made requests: %v", got)
	}
}

// TestWebhooksCLIWriteNeedsScope: an org key with webhooks:read only may
// list and read but not change, test or redeliver; the CLI says which key
// was refused.
func TestWebhooksCLIWriteNeedsScope(t *testing.T) {
	srv := kwtest.NewServer(t)
	ep, err := orgSDK(t, srv).Org().Webhooks().Create(context.Background(), client.CreateWebhookInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := mustOrg(t, srv, "keys", "create", "--org", "--name", "reader", "--scopes", keyward.ScopeWebhooksRead, "-o", "json")
	var reader keyward.Key
	mustUnmarshal(t, out, &reader)
	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + reader.Secret}

	for _, args := range [][]string{{"webhooks", "list"}, {"webhooks", "get", ep.ID}, {"webhooks", "deliveries", ep.ID}} {
		out, stderr, code := runBinary(t, env, args...)
		if code != 0 || args[1] != "deliveries" && !strings.Contains(out, ep.ID) {
			t.Errorf("keyward %s with webhooks:read: exit %d, %q; want the endpoint", strings.Join(args, " "), code, stderr)
		}
	}
	for _, args := range [][]string{
		{"webhooks", "create", "--url", "http://127.0.0.1:9/other"},
		{"webhooks", "update", ep.ID, "--disable"},
		{"webhooks", "delete", ep.ID, "--yes"},
		{"webhooks", "rotate-secret", ep.ID},
		{"webhooks", "test", ep.ID},
		{"webhooks", "redeliver", ep.ID, "dlv_01J00000000000000000000000"},
	} {
		out, stderr, code := runBinary(t, env, args...)
		if code != 1 || !strings.Contains(stderr, keyward.CodePermissionDenied) || !strings.Contains(stderr, keyward.ScopeWebhooksWrite) ||
			!strings.Contains(stderr, "KEYWARD_ORG_API_KEY") || strings.Contains(out, "whsec_") {
			t.Errorf("keyward %s: exit %d, stderr %q; want PERMISSION_DENIED naming webhooks:write and the key's variable", strings.Join(args, " "), code, stderr)
		}
	}
	page, err := orgSDK(t, srv).Org().Webhooks().List(context.Background())
	if err != nil || len(page.Data) != 1 || !page.Data[0].Enabled {
		t.Errorf("after refused changes: %+v, %v; want the one endpoint, still enabled", page, err)
	}
}

// TestWebhooksCLIHelpHasExamples: every webhooks command shows an example.
func TestWebhooksCLIHelpHasExamples(t *testing.T) {
	for _, c := range newRootCmd().Commands() {
		if c.Name() != "webhooks" {
			continue
		}
		var names []string
		for _, sub := range append([]*cobra.Command{c}, c.Commands()...) {
			if sub.Example == "" {
				t.Errorf("%s has no example", sub.CommandPath())
			}
			names = append(names, sub.Name())
		}
		want := []string{"webhooks", "create", "delete", "deliveries", "get", "list", "redeliver", "rotate-secret", "test", "update"}
		if !slices.Equal(names, want) {
			t.Errorf("webhooks commands = %v, want %v", names, want)
		}
		return
	}
	t.Fatal("no webhooks command")
}

// lineWith returns the first line of s that contains sub, or "".
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// fieldsInclude reports whether the whitespace-separated fields of line
// include every one of want.
func fieldsInclude(line string, want ...string) bool {
	fields := strings.Fields(line)
	for _, w := range want {
		if !slices.Contains(fields, w) {
			return false
		}
	}
	return true
}
