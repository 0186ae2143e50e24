package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

func webhooksPath(srv *kwtest.Server) string { return "/orgs/" + srv.OrgID + "/webhooks" }

func countWebhooks(t *testing.T, srv *kwtest.Server) int {
	t.Helper()
	es, err := srv.Service.ListWebhooks(context.Background(), srv.Owner())
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// checkedEvents lists the event checkboxes of the form whose fieldset has
// the id set that are checked.
func checkedEvents(page, set string) []string {
	i := strings.Index(page, `id="`+set+`"`)
	if i < 0 {
		return nil
	}
	end := strings.Index(page[i:], "</fieldset>")
	var out []string
	for _, m := range regexp.MustCompile(`<input type="checkbox" name="events" value="([^"]+)"( checked)?>`).FindAllStringSubmatch(page[i:i+end], -1) {
		if m[2] != "" {
			out = append(out, m[1])
		}
	}
	return out
}

// A refused endpoint comes back with the problem under the field it
// concerns, inside the form, and everything typed kept: the URL, the
// description and the events chosen (not only the field at fault).
func TestWebhookFormErrorsNextToTheirFields(t *testing.T) {
	srv, b := signedInOwner(t)
	list := webhooksPath(srv)

	page := b.get(list).Body
	if got := checkedEvents(page, "webhook-events"); len(got) != len(keyward.EventTypes) {
		t.Errorf("a new endpoint's events: %v checked, want all %d", got, len(keyward.EventTypes))
	}

	for _, c := range []struct {
		name  string
		form  url.Values
		id    string
		typed string
	}{
		{"bad URL", url.Values{"url": {"ftp://hooks.example.com/x"}, "description": {"Billing hooks"}, "events": {"key.created", "key.leaked"}}, "webhook-url", `value="ftp://hooks.example.com/x"`},
		{"no events", url.Values{"url": {"https://hooks.example.com/x"}, "description": {"Billing hooks"}}, "webhook-events", `value="https://hooks.example.com/x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := b.post(list, c.form)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("%d, want 303", r.StatusCode)
			}
			if loc := r.Header.Get("Location"); loc != list {
				t.Fatalf("redirected to %s, want the webhooks page", loc)
			}
			page := b.get(list).Body
			form := page[strings.Index(page, `<form id="add-webhook"`):]
			form = form[:strings.Index(form, "</form>")]
			for _, w := range []string{
				`aria-describedby="` + c.id + `-problem"`,
				`<p id="` + c.id + `-problem" class="problem" role="alert">`,
				c.typed, `value="Billing hooks"`,
			} {
				if !strings.Contains(form, w) {
					t.Errorf("no %s in the add form:\n%s", w, form)
				}
			}
			if got, want := checkedEvents(page, "webhook-events"), c.form["events"]; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("events checked after the failure: %v, want %v as typed", got, want)
			}
			if strings.Contains(page, `id="flash"`) {
				t.Error("the problem is in the page's banner too")
			}
			if again := b.get(list).Body; strings.Contains(again, `class="problem"`) {
				t.Error("the problem is shown again on the next visit")
			}
			if n := countWebhooks(t, srv); n != 0 {
				t.Errorf("%d endpoints after a refused form, want 0", n)
			}
		})
	}

	// The settings form of an endpoint: the same, inside its <details>.
	e, err := srv.Service.CreateWebhook(context.Background(), srv.Owner(), service.WebhookInput{URL: "https://hooks.example.com/a", Description: "A"})
	if err != nil {
		t.Fatal(err)
	}
	ep := list + "/" + e.ID
	r := b.post(ep+"/settings", url.Values{"url": {"not a url"}, "description": {"Renamed"}, "events": {"key.revoked"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != ep {
		t.Fatalf("settings with a bad URL: %d to %s, want 303 to the endpoint's page", r.StatusCode, r.Header.Get("Location"))
	}
	page = b.get(ep).Body
	for _, w := range []string{`<details id="webhook-settings-box" class="manage" open>`, `<p id="edit-url-problem" class="problem" role="alert">`, `value="not a url"`, `value="Renamed"`} {
		if !strings.Contains(page, w) {
			t.Errorf("no %s on the endpoint's page after a refused edit", w)
		}
	}
	if got := checkedEvents(page, "edit-events"); strings.Join(got, ",") != "key.revoked" {
		t.Errorf("events checked after the failure: %v, want [key.revoked]", got)
	}
	if got, err := srv.Service.GetWebhook(context.Background(), srv.Owner(), e.ID); err != nil || got.URL != "https://hooks.example.com/a" || got.Description != "A" {
		t.Errorf("the endpoint after a refused edit: %+v, %v", got, err)
	}
	// Every input of both pages has a label.
	inputs := regexp.MustCompile(`<(input|select)\b[^>]*>`)
	for _, path := range []string{list, ep} {
		body := b.get(path).Body
		for _, in := range inputs.FindAllString(body, -1) {
			if strings.Contains(in, `type="hidden"`) || strings.Contains(in, `type="checkbox"`) {
				continue
			}
			id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(in)
			if id == nil || !strings.Contains(body, `for="`+id[1]+`"`) {
				t.Errorf("GET %s: input without a label: %s", path, in)
			}
		}
	}
}

// The signing secret is shown once, on the page the create redirected
// to; it is in neither the redirect's URL nor a cookie, and a reload or
// another visit shows that it was shown already.
func TestWebhookSecretShownOnce(t *testing.T) {
	srv, b := signedInOwner(t)
	r := b.post(webhooksPath(srv), url.Values{"url": {"https://hooks.example.com/k"}, "events": keyward.EventTypes})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	loc := r.Header.Get("Location")
	if !strings.Contains(loc, "?once=") {
		t.Fatalf("create redirected to %s, want the endpoint's page with ?once=", loc)
	}
	secret := regexp.MustCompile(`<code id="secret"[^>]*>(whsec_[^<]+)</code>`)
	first := b.get(loc)
	m := secret.FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("the first visit shows no whsec_ secret in code#secret")
	}
	if strings.Contains(loc, m[1]) || strings.Contains(r.Header.Get("Set-Cookie"), m[1]) || strings.Contains(first.Header.Get("Set-Cookie"), m[1]) {
		t.Error("the secret is in the redirect's URL or a cookie")
	}
	if cc := first.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page with the secret, want no-store", cc)
	}
	again := b.get(loc).Body
	if strings.Contains(again, m[1]) || strings.Contains(again, `id="secret-once"`) {
		t.Error("a reload shows the secret again")
	}
	if !strings.Contains(again, "shown only once") {
		t.Error("a reload does not say that the secret was shown already")
	}

	// Rotation: a new secret, once, different from the first.
	id := loc[strings.LastIndex(loc, "/")+1 : strings.Index(loc, "?")]
	r = b.post(webhooksPath(srv)+"/"+id+"/rotate", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "?once=") {
		t.Fatalf("rotate: %d to %s", r.StatusCode, r.Header.Get("Location"))
	}
	n := secret.FindStringSubmatch(b.get(r.Header.Get("Location")).Body)
	if n == nil || n[1] == m[1] {
		t.Fatal("the rotation shows no new secret")
	}
	if strings.Contains(b.get(r.Header.Get("Location")).Body, n[1]) {
		t.Error("a reload shows the rotated secret again")
	}
}

// Webhooks are the org admins': a plain member sees no link to them, is
// refused their pages and every change; a request from another site is
// refused before it changes anything.
func TestWebhooksAuthority(t *testing.T) {
	srv, owner := signedInOwner(t)
	e, err := srv.Service.CreateWebhook(context.Background(), srv.Owner(), service.WebhookInput{URL: "https://hooks.example.com/a"})
	if err != nil {
		t.Fatal(err)
	}
	list := webhooksPath(srv)
	ep := list + "/" + e.ID
	if page := owner.get("/orgs/" + srv.OrgID + "/projects").Body; !strings.Contains(page, `href="`+list+`"`) {
		t.Error("the owner's nav has no link to the webhooks")
	}

	p := srv.MustProject(t, "Shop")
	_, member := signedInMember(t, srv, "dev@example.com", p.ID, keyward.ProjectAdmin)
	if page := member.get("/orgs/" + srv.OrgID + "/projects").Body; strings.Contains(page, list) {
		t.Error("a plain member's nav links to the webhooks")
	}
	for _, path := range []string{list, ep} {
		if r := member.get(path); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("member GET %s: %d, want 403 or 404", path, r.StatusCode)
		}
	}
	for _, path := range []string{list, ep + "/settings", ep + "/enabled", ep + "/test", ep + "/rotate", ep + "/delete"} {
		form := url.Values{"url": {"https://evil.example.com/"}, "events": {"key.created"}, "enabled": {"false"}}
		if r := member.post(path, form); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("member POST %s: %d, want 403 or 404", path, r.StatusCode)
		}
		if r := owner.post(path, form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, r.StatusCode)
		}
	}
	got, err := srv.Service.GetWebhook(context.Background(), srv.Owner(), e.ID)
	if err != nil {
		t.Fatalf("the endpoint after the refused requests: %v", err)
	}
	if got.URL != e.URL || !got.Enabled || countWebhooks(t, srv) != 1 {
		t.Errorf("the refused requests changed something: %+v, %d endpoints", got, countWebhooks(t, srv))
	}
	res, err := srv.Service.ListWebhookDeliveries(context.Background(), srv.Owner(), e.ID, 10, "")
	if err != nil || len(res.Data) != 0 {
		t.Errorf("deliveries after the refused tests: %d, %v", len(res.Data), err)
	}
	// An endpoint id that is not the org's is not found.
	if r := owner.get(list + "/whk_00000000000000000000000000"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d, want 404", r.StatusCode)
	}
}

// A disabled endpoint cannot be sent a test event: the page says why, next
// to the button, and the log stays empty; enabling it again allows it.
func TestWebhookTestWhileDisabled(t *testing.T) {
	srv, b := signedInOwner(t)
	e, err := srv.Service.CreateWebhook(context.Background(), srv.Owner(), service.WebhookInput{URL: "https://hooks.example.com/a"})
	if err != nil {
		t.Fatal(err)
	}
	ep := webhooksPath(srv) + "/" + e.ID
	if r := b.postFollow(ep+"/enabled", url.Values{"enabled": {"false"}}); !strings.Contains(r.Body, `data-status="disabled"`) || !strings.Contains(r.Body, ">Enable</button>") {
		t.Fatal("after Disable the page does not show the endpoint disabled with an Enable button")
	}
	page := b.postFollow(ep+"/test", nil).Body
	if !strings.Contains(page, `<p id="send-test-problem" class="problem" role="alert">`) {
		t.Errorf("a test of a disabled endpoint: no problem next to the button")
	}
	if res, _ := srv.Service.ListWebhookDeliveries(context.Background(), srv.Owner(), e.ID, 10, ""); len(res.Data) != 0 {
		t.Errorf("%d deliveries to a disabled endpoint", len(res.Data))
	}
	b.postFollow(ep+"/enabled", url.Values{"enabled": {"true"}})
	if r := b.post(ep+"/test", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d", r.StatusCode)
	}
	page = b.get(ep).Body
	if !strings.Contains(page, "webhook.test") || !strings.Contains(page, `data-delivery-id="dlv_`) {
		t.Error("the test's delivery is not in the log")
	}
	// A page of the log that this page did not make is left out, not a 500.
	if r := b.get(ep + "?cursor=not-a-cursor"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="delivery-query-note"`) {
		t.Errorf("a bad cursor: %d, want 200 with a note", r.StatusCode)
	}
}
