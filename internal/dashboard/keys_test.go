package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

var countdownRE = regexp.MustCompile(`data-countdown="[^"]+"[^>]*>((\d+d )?\d+h \d+m \d+s|0s)<`)

var secretRE = regexp.MustCompile(`<code id="secret"[^>]*>(kwp_[A-Za-z0-9]+)</code>`)

// TestCreateKeyShowsSecretOnce: the create form's POST makes one key and
// redirects (303, no secret in the URL); the page it redirects to shows
// the secret once, in a dialog; loading that page again shows no secret
// and makes no key.
func TestCreateKeyShowsSecretOnce(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	r := b.post(keysPath(srv, p.ID), url.Values{"name": {"CI deploys"}, "access": {"read-only"}, "expiry": {"30"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: status %d, want 303\n%s", r.StatusCode, r.Body)
	}
	if strings.Contains(r.Body, "kwp_") || strings.Contains(r.Header.Get("Location"), "kwp_") || strings.Contains(r.Header.Get("Set-Cookie"), "kwp_") {
		t.Errorf("the secret is in the redirect itself (body, Location or cookie)")
	}
	page := b.get(r.Header.Get("Location"))
	m := secretRE.FindStringSubmatch(page.Body)
	if page.StatusCode != http.StatusOK || m == nil || !strings.Contains(page.Body, `<dialog id="secret-once"`) || !strings.Contains(page.Body, `id="copy-secret"`) ||
		!strings.Contains(page.Body, `id="secret-done"`) || !strings.Contains(page.Body, "will not be shown again") {
		t.Fatalf("no secret dialog after create: %d\n%s", page.StatusCode, page.Body)
	}
	if page.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", page.Header.Get("Cache-Control"))
	}
	// Reload, and the keys page itself: no secret, no new key.
	for _, path := range []string{r.Header.Get("Location"), keysPath(srv, p.ID)} {
		if again := b.get(path); again.StatusCode != http.StatusOK || strings.Contains(again.Body, m[1]) || strings.Contains(again.Body, "secret-once") {
			t.Errorf("GET %s again: %d; the secret is shown again", path, again.StatusCode)
		}
	}
	res, _ := srv.Service.ListKeys(t.Context(), srv.Owner(), whereProject(p.ID), listAll)
	if len(res.Data) != 1 || strings.Join(res.Data[0].Scopes, " ") != "keys:read audit:read" || res.Data[0].ExpiresAt == nil {
		t.Errorf("keys after create and reloads: %+v, want the one created", res.Data)
	}
}

// TestOneTimeSecretIsTheSessionsAndExpires: another session cannot take
// the secret with the redirect's URL, and it is gone after a few minutes.
func TestOneTimeSecretIsTheSessionsAndExpires(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	other := newBrowser(t, srv)
	other.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)

	loc := b.post(keysPath(srv, p.ID), url.Values{"name": {"a"}, "access": {"full"}, "expiry": {"never"}}).Header.Get("Location")
	if page := other.get(loc); secretRE.MatchString(page.Body) {
		t.Error("another session saw the secret with the redirect's URL")
	}
	if page := b.get(loc); !secretRE.MatchString(page.Body) {
		t.Error("the session that made the key did not see its secret (after another session tried)")
	}

	loc = b.post(keysPath(srv, p.ID), url.Values{"name": {"b"}, "access": {"full"}, "expiry": {"never"}}).Header.Get("Location")
	srv.Clock.Advance(6 * time.Minute)
	if page := b.get(loc); secretRE.MatchString(page.Body) || !strings.Contains(page.Body, "shown only once") {
		t.Error("a secret was shown after it expired, or the page does not say it is gone")
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

// TestCreateKeyErrorsInsideTheDialog: the per-user key limit and a past
// expiry date are shown inside the New key dialog, next to what they
// concern and tied to it for screen readers, not in the page's banner.
func TestCreateKeyErrorsInsideTheDialog(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	max := 1
	if _, err := srv.Service.UpdateSettings(t.Context(), srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &max}); err != nil {
		t.Fatal(err)
	}
	if r := b.postFollow(keysPath(srv, p.ID), url.Values{"name": {"first"}, "access": {"full"}, "expiry": {"never"}}); !secretRE.MatchString(r.Body) {
		t.Fatalf("first key: %d, no secret shown", r.StatusCode)
	}
	r := b.post(keysPath(srv, p.ID), url.Values{"name": {"second"}, "access": {"full"}, "expiry": {"never"}})
	dialog := dialogIn(t, r.Body, "create-dialog")
	if r.StatusCode != http.StatusUnprocessableEntity && r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusConflict && r.StatusCode < 400 {
		t.Errorf("at the limit: status %d, want a 4xx", r.StatusCode)
	}
	if !regexp.MustCompile(`<p id="create-error" class="form-error" role="alert">You have reached the limit of 1 keys`).MatchString(dialog) ||
		!strings.Contains(dialog, `<dialog id="create-dialog" aria-labelledby="create-title" aria-describedby="create-error"`) ||
		!regexp.MustCompile(`<input id="key-name"[^>]* autofocus aria-describedby="create-error">`).MatchString(dialog) || !strings.Contains(dialog, "data-open-on-load") || !strings.Contains(dialog, `value="second"`) {
		t.Errorf("the limit error is not inside the open dialog, tied to it:\n%s", dialog)
	}
	if strings.Count(r.Body, "limit of 1 keys") != 1 || strings.Contains(r.Body, `id="flash"`) {
		t.Error("the limit error is (also) in the page banner behind the dialog")
	}
	if n := countKeys(t, srv, p.ID); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}

	max = 10
	if _, err := srv.Service.UpdateSettings(t.Context(), srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &max}); err != nil {
		t.Fatal(err)
	}
	r = b.post(keysPath(srv, p.ID), url.Values{"name": {"old"}, "access": {"full"}, "expiry": {"date"}, "expiry_date": {"2020-01-01"}})
	dialog = dialogIn(t, r.Body, "create-dialog")
	if r.StatusCode != http.StatusBadRequest ||
		!regexp.MustCompile(`<input id="key-expiry-date"[^>]* aria-invalid="true" aria-describedby="key-expiry-date-problem">\s*<p id="key-expiry-date-problem" class="problem">must be in the future</p>`).MatchString(dialog) {
		t.Errorf("past date: %d; want the problem under the date field, described by it:\n%s", r.StatusCode, dialog)
	}
}

// dialogIn is the markup of the dialog with the given id.
func dialogIn(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `<dialog id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no dialog#%s in the page", id)
	}
	j := strings.Index(body[i:], "</dialog>")
	return body[i : i+j]
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
		r := b.post(path, url.Values{"confirm": {confirm}})
		if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusActive {
			t.Fatalf("confirm %q revoked the key", confirm)
		}
		// The dialog is open again, the problem under its field.
		dialog := dialogIn(t, r.Body, "revoke-dialog")
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(dialog, "data-open-on-load") || !strings.Contains(dialog, `action="`+path+`"`) ||
			!strings.Contains(dialog, `aria-describedby="revoke-confirm-problem"`) || !strings.Contains(dialog, `<p id="revoke-confirm-problem" class="problem" role="alert">type REVOKE`) {
			t.Fatalf("confirm %q: %d; want 400 with the revoke dialog open and the problem in it:\n%s", confirm, r.StatusCode, dialog)
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
	post := b.post(keysPath(srv, p.ID)+"/"+k.ID+"/rotate", url.Values{"grace": {"24h"}})
	if post.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: %d, want 303", post.StatusCode)
	}
	r := b.get(post.Header.Get("Location"))
	secret := secretRE.FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || secret == nil {
		t.Fatalf("after rotate: %d, secret shown: %v", r.StatusCode, secret != nil)
	}
	// A reload neither rotates again nor shows the secret again.
	if again := b.get(post.Header.Get("Location")); strings.Contains(again.Body, secret[1]) || strings.Contains(again.Body, "secret-once") {
		t.Error("the rotated key's secret is shown again on reload")
	}
	if n := countKeys(t, srv, p.ID); n != 2 {
		t.Errorf("%d keys after rotate and reload, want 2", n)
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

// TestRotateErrorInsideTheDialog: a grace period longer than the org
// allows re-opens the rotate dialog with the problem under its field.
func TestRotateErrorInsideTheDialog(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	path := keysPath(srv, p.ID) + "/" + k.ID + "/rotate"
	r := b.post(path, url.Values{"grace": {"9999h"}})
	dialog := dialogIn(t, r.Body, "rotate-dialog")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(dialog, "data-open-on-load") || !strings.Contains(dialog, `action="`+path+`"`) ||
		!strings.Contains(dialog, `<span data-key-name>prod</span>`) || !strings.Contains(dialog, `<p id="rotate-grace-problem" class="problem" role="alert">must be between`) {
		t.Errorf("too long a grace: %d; want 400 with the rotate dialog open and the problem in it:\n%s", r.StatusCode, dialog)
	}
	if n := countKeys(t, srv, p.ID); n != 1 {
		t.Errorf("%d keys, want 1", n)
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
	if r.StatusCode != http.StatusSeeOther {
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
