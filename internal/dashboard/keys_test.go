package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

var countdownRE = regexp.MustCompile(`data-countdown="[^"]+"[^>]*>((\d+d )?\d+h \d+m \d+s|0s)<`)

var secretRE = regexp.MustCompile(`<code id="secret">(kwp_[A-Za-z0-9]+)</code>`)

func TestCreateKeyShowsSecretOnce(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	r := b.post(keysPath(srv, p.ID), url.Values{"name": {"CI deploys"}, "access": {"read-only"}, "expiry": {"30"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create: status %d\n%s", r.StatusCode, r.Body)
	}
	m := secretRE.FindStringSubmatch(r.Body)
	if m == nil || !strings.Contains(r.Body, `id="secret-once"`) || !strings.Contains(r.Body, `id="copy-secret"`) {
		t.Fatalf("no secret shown after create:\n%s", r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if page := b.get(keysPath(srv, p.ID)); strings.Contains(page.Body, m[1]) || strings.Contains(page.Body, "secret-once") {
		t.Error("the secret is shown again on the keys page")
	}
	res, _ := srv.Service.ListKeys(t.Context(), srv.Owner(), whereProject(p.ID), listAll)
	if len(res.Data) != 1 || strings.Join(res.Data[0].Scopes, " ") != "keys:read audit:read" || res.Data[0].ExpiresAt == nil {
		t.Errorf("created key: %+v", res.Data)
	}
}

func TestCreateKeyProblemsShownInForm(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	r := b.post(keysPath(srv, p.ID), url.Values{"name": {"x"}, "access": {"custom"}, "expiry": {"never"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "choose at least one scope") || !strings.Contains(r.Body, "data-open-on-load") {
		t.Errorf("status %d; want 400 with the dialog open and the problem", r.StatusCode)
	}
	if countKeys(t, srv, p.ID) != 0 {
		t.Error("a key was created")
	}
}

func TestViewerCannotChangeKeys(t *testing.T) {
	srv := newServerT(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	_, viewer := signedInMember(t, srv, "viewer@example.com", p.ID, keyward.ProjectViewer)

	page := viewer.get(keysPath(srv, p.ID))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, k.ID) {
		t.Fatalf("viewer keys page: %d", page.StatusCode)
	}
	if strings.Contains(page.Body, `id="new-key"`) || strings.Contains(page.Body, `class="actions"`) {
		t.Error("viewer is offered New key or a ⋯ menu")
	}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{keysPath(srv, p.ID) + "/" + k.ID + "/revoke", url.Values{"confirm": {"REVOKE"}}},
		{keysPath(srv, p.ID) + "/" + k.ID + "/rotate", url.Values{"grace": {"0s"}}},
		{keysPath(srv, p.ID), url.Values{"name": {"mine"}, "access": {"full"}, "expiry": {"never"}}},
	} {
		if r := viewer.post(tc.path, tc.form); r.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403", tc.path, r.StatusCode)
		}
	}
	if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusActive || got.ReplacedBy != nil {
		t.Errorf("key after viewer's attempts: status %s, replaced by %v", got.Status, got.ReplacedBy)
	}
	if n := countKeys(t, srv, p.ID); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}
}

func TestDeveloperSeesMenuOnlyOnOwnKeys(t *testing.T) {
	srv := newServerT(t)
	p := srv.MustProject(t, "Shop")
	theirs := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "owner's"})
	dev, b := signedInMember(t, srv, "dev@example.com", p.ID, keyward.ProjectDeveloper)
	mine := srv.MustKey(t, srv.User(dev.UserID), p.ID, keyward.CreateKeyInput{Name: "dev's"})
	body := b.get(keysPath(srv, p.ID)).Body
	if !strings.Contains(body, `aria-label="Actions for dev&#39;s"`) {
		t.Error("no ⋯ menu on the developer's own key")
	}
	if strings.Contains(body, `aria-label="Actions for owner&#39;s"`) {
		t.Error("⋯ menu on someone else's key")
	}
	if !strings.Contains(body, `id="new-key"`) {
		t.Error("developer is not offered New key")
	}
	if r := b.post(keysPath(srv, p.ID)+"/"+theirs.ID+"/revoke", url.Values{"confirm": {"REVOKE"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("developer revoking the owner's key: %d, want 403", r.StatusCode)
	}
	if r := b.post(keysPath(srv, p.ID)+"/"+mine.ID+"/revoke", url.Values{"confirm": {"REVOKE"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("developer revoking own key: %d, want 303", r.StatusCode)
	}
}

func TestRevokeNeedsTypedREVOKE(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	path := keysPath(srv, p.ID) + "/" + k.ID + "/revoke"
	for _, confirm := range []string{"", "revoke", "REVOKE ", "yes"} {
		b.post(path, url.Values{"confirm": {confirm}})
		if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusActive {
			t.Fatalf("confirm %q revoked the key", confirm)
		}
	}
	r := b.post(path, url.Values{"confirm": {"REVOKE"}, "status": {"all"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != keysPath(srv, p.ID)+"?status=all" {
		t.Fatalf("revoke: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusRevoked {
		t.Fatalf("status %s after revoke", got.Status)
	}
	page := b.get(r.Header.Get("Location")).Body
	if !strings.Contains(page, `id="flash" role="status"`) || !strings.Contains(page, `data-status="revoked">Revoked</span>`) {
		t.Errorf("after revoke, no flash or Revoked badge:\n%s", page)
	}
	if strings.Contains(page, "Actions for prod") {
		t.Error("a revoked key still has a ⋯ menu")
	}
	if active := b.get(keysPath(srv, p.ID)).Body; strings.Contains(active, k.ID) {
		t.Error("the revoked key is in the Active view")
	}
}

func TestRotateWithGraceShowsCountdown(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	r := b.post(keysPath(srv, p.ID)+"/"+k.ID+"/rotate", url.Values{"grace": {"24h"}})
	if r.StatusCode != http.StatusOK || secretRE.FindString(r.Body) == "" {
		t.Fatalf("rotate: %d, secret shown: %v", r.StatusCode, secretRE.FindString(r.Body) != "")
	}
	end := srv.Clock.Now().Add(24 * 60 * 60e9).UTC().Format("2006-01-02T15:04:05Z07:00")
	// The text depends on the dashboard's clock (the wall clock unless
	// kwtest passes its own); app.js keeps it counting.
	if !strings.Contains(r.Body, `data-countdown="`+end+`"`) || !countdownRE.MatchString(r.Body) {
		t.Errorf("no countdown to %s:\n%s", end, r.Body)
	}
	if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusExpiring {
		t.Errorf("old key: %s, want expiring", got.Status)
	}
}

func TestKeyNamesAreEscaped(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	name := `<script>alert(1)</script>`
	srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: name})
	body := b.get(keysPath(srv, p.ID)).Body
	if strings.Contains(body, name) {
		t.Error("the key name is not escaped")
	}
	if !strings.Contains(body, html.EscapeString(name)) && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped key name is missing")
	}
}

// TestAuditNamesDashboardRequest: an audit event made through the
// dashboard carries the id of the request that made it, the one its
// response's X-Request-Id names.
func TestAuditNamesDashboardRequest(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	r := b.post(keysPath(srv, p.ID), url.Values{"name": {"audited"}, "access": {"read-only"}, "expiry": {"30"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create: status %d\n%s", r.StatusCode, r.Body)
	}
	page, err := srv.Service.ListProjectAudit(t.Context(), srv.Owner(), service.AuditQuery{ProjectID: p.ID, Action: service.AuditKeyCreate})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Header.Get("X-Request-Id")
	if len(page.Data) != 1 || id == "" || page.Data[0].RequestID != id {
		t.Fatalf("audit events %+v; want one key.create with request id %q", page.Data, id)
	}
}
