package dashboard_test

import (
	"context"
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

// cell returns the contents of the first <td data-col="col"> of the table
// row whose opening tag contains rowAttr, or fails t.
func cell(t *testing.T, body, rowAttr, col string) string {
	t.Helper()
	i := strings.Index(body, rowAttr)
	if i < 0 {
		t.Fatalf("no row with %s in:\n%s", rowAttr, body)
	}
	row := body[i:]
	if end := strings.Index(row, "</tr>"); end >= 0 {
		row = row[:end]
	}
	m := regexp.MustCompile(`(?s)<td data-col="` + col + `"[^>]*>(.*?)</td>`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("row %s has no %s cell:\n%s", rowAttr, col, row)
	}
	return m[1]
}

var tags = regexp.MustCompile(`<[^>]*>`)

// shown is what a person reads in a cell (its text, tags and <wbr> left
// out) and the first id on hover (title).
func shown(cell string) (text, title string) {
	text = strings.Join(strings.Fields(tags.ReplaceAllString(cell, "")), " ")
	if m := regexp.MustCompile(`title="([^"]*)"`).FindStringSubmatch(cell); m != nil {
		title = m[1]
	}
	return text, title
}

// A viewer (the least role) sees the org owner, who owns keys in every
// project without being a project member, by email with the id on hover,
// not as usr_….
func TestViewerSeesKeyOwnersByEmail(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	_, viewer := signedInMember(t, srv, "viewer@example.com", p.ID, keyward.ProjectViewer)

	owner := cell(t, viewer.get(keysPath(srv, p.ID)).Body, `data-key-id="`+k.ID+`"`, "owner")
	want := `<span title="` + srv.OwnerID + `">` + kwtest.OwnerEmail + `</span>`
	if owner != want {
		t.Errorf("owner cell = %q, want %q", owner, want)
	}
}

// The audit log names the revoked key by name and hint and the person who
// revoked it by email, ids on hover; a viewer reads it so too. The actor
// of an event by an org key, which a project viewer may not see, stays an
// id: the key's name is not told.
func TestAuditNamesKeysAndPeople(t *testing.T) {
	srv, owner := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	if r := owner.post(keysPath(srv, p.ID)+"/"+k.ID+"/revoke", url.Values{"confirm": {"REVOKE"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	orgKey, err := srv.Service.CreateKey(context.Background(), srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "robot"})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := apiCall(t, srv, orgKey.Secret, "POST", "/v1/org/projects/"+p.ID+"/keys", map[string]any{"name": "by automation"}); status != http.StatusCreated {
		t.Fatalf("create by org key: %d %v", status, out)
	}
	_, viewer := signedInMember(t, srv, "viewer@example.com", p.ID, keyward.ProjectViewer)

	audit := "/orgs/" + srv.OrgID + "/projects/" + p.ID + "/audit"
	for who, b := range map[string]*browser{"owner": owner, "viewer": viewer} {
		body := b.get(audit + "?action=key.revoke").Body
		if text, title := shown(cell(t, body, "data-event-id=", "target")); text != "prod ("+k.Hint+")" || title != k.ID {
			t.Errorf("%s: revoked key shown as %q (title %q), want %q (title %q)", who, text, title, "prod ("+k.Hint+")", k.ID)
		}
		if text, title := shown(cell(t, body, "data-event-id=", "actor")); text != kwtest.OwnerEmail || title != srv.OwnerID {
			t.Errorf("%s: actor shown as %q (title %q), want %q (title %q)", who, text, title, kwtest.OwnerEmail, srv.OwnerID)
		}
	}
	body := viewer.get(audit + "?action=key.create").Body
	if strings.Contains(body, "robot") || strings.Contains(body, orgKey.Hint) {
		t.Errorf("a project viewer is told the name of an org key:\n%s", body)
	}
	if text, _ := shown(cell(t, body, "data-event-id=", "actor")); text != orgKey.ID {
		t.Errorf("the org key's event shows its actor as %q, want the bare id %s", text, orgKey.ID)
	}
	body = owner.get("/orgs/" + srv.OrgID + "/audit?action=key.create").Body
	if text, _ := shown(cell(t, body, "data-event-id=", "actor")); text != "robot ("+orgKey.Hint+")" {
		t.Errorf("the owner sees the org key as %q, want it by name and hint", text)
	}
}

// After a rotation with a grace period the two rows are told apart: the
// old one is "replaced by" the new one (name and hint) and counts down,
// the new one "replaces" the old one. Rows carry name, hint and status
// for the revoke and rotate dialogs.
func TestRotatedPairToldApart(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	old := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments"})
	if r := b.post(keysPath(srv, p.ID)+"/"+old.ID+"/rotate", url.Values{"grace": {"24h"}}); r.StatusCode >= 400 {
		t.Fatalf("rotate: %d\n%s", r.StatusCode, r.Body)
	}
	replacement := mustGetKey(t, srv, p.ID, old.ID).ReplacedBy
	if replacement == nil {
		t.Fatal("not rotated")
	}
	fresh := mustGetKey(t, srv, p.ID, *replacement)

	body := b.get(keysPath(srv, p.ID)).Body
	oldStatus := cell(t, body, `data-key-id="`+old.ID+`"`, "status")
	if want := `replaced by <span title="` + fresh.ID + `">payments (` + fresh.Hint + `)</span>`; !strings.Contains(oldStatus, want) || !strings.Contains(oldStatus, `class="countdown"`) {
		t.Errorf("old row's status cell %q lacks its countdown or %q", oldStatus, want)
	}
	newStatus := cell(t, body, `data-key-id="`+fresh.ID+`"`, "status")
	if want := `replaces <span title="` + old.ID + `">payments (` + old.Hint + `)</span>`; !strings.Contains(newStatus, want) || strings.Contains(newStatus, "replaced by") {
		t.Errorf("new row's status cell %q lacks %q", newStatus, want)
	}
	for _, want := range []string{
		`data-key-id="` + old.ID + `" data-key-name="payments" data-key-hint="` + old.Hint + `" data-key-status="expiring"`,
		`data-key-id="` + fresh.ID + `" data-key-name="payments" data-key-hint="` + fresh.Hint + `" data-key-status="active"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("keys page lacks the row attributes %s", want)
		}
	}
}

// Org settings show durations as people write them.
func TestSettingsShowDurationsAsWritten(t *testing.T) {
	srv, b := signedInOwner(t)
	body := b.get("/orgs/" + srv.OrgID + "/settings").Body
	if !strings.Contains(body, `name="rotation_max_grace" value="7d"`) {
		t.Errorf("default grace not shown as 7d:\n%s", body)
	}
	lifetime := keyward.Duration(90 * 24 * time.Hour)
	grace := keyward.Duration(24 * time.Hour)
	if _, err := srv.Service.UpdateSettings(context.Background(), srv.Owner(), keyward.SettingsPatch{MaxKeyLifetime: &lifetime, RotationMaxGrace: &grace}); err != nil {
		t.Fatal(err)
	}
	body = b.get("/orgs/" + srv.OrgID + "/settings").Body
	for _, want := range []string{`name="max_key_lifetime" value="90d"`, `name="rotation_max_grace" value="24h"`} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "0m0s") {
		t.Error("settings page shows a Go duration")
	}
	// What is shown is read back unchanged.
	form := url.Values{"max_keys_per_user": {"3"}, "max_keys_per_project": {"100"}, "max_org_keys": {"10"}, "max_key_lifetime": {"90d"}, "rotation_max_grace": {"24h"}}
	if r := b.post("/orgs/"+srv.OrgID+"/settings", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", r.StatusCode)
	}
}

// The leak policy is set from the settings page; a value the service
// does not know comes back under its field.
func TestSettingsLeakPolicy(t *testing.T) {
	srv, b := signedInOwner(t)
	path := "/orgs/" + srv.OrgID + "/settings"
	if body := b.get(path).Body; !strings.Contains(body, `<option value="revoke" selected>`) {
		t.Fatalf("the default policy (revoke) is not the one selected:\n%s", body)
	}
	form := url.Values{"max_keys_per_user": {"3"}, "max_keys_per_project": {"100"}, "max_org_keys": {"10"}, "rotation_max_grace": {"24h"}, "leak_policy": {"flag"}}
	if r := b.post(path, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", r.StatusCode)
	}
	st, err := srv.Service.GetSettings(context.Background(), srv.Owner())
	if err != nil || st.LeakPolicy != keyward.LeakFlag {
		t.Fatalf("leak policy after saving flag: %+v, %v", st, err)
	}
	if body := b.get(path).Body; !strings.Contains(body, `<option value="flag" selected>`) {
		t.Errorf("the saved policy is not shown selected")
	}
	form.Set("leak_policy", "shrug")
	r := b.post(path, form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("bad policy: %d", r.StatusCode)
	}
	body := b.get(r.Header.Get("Location")).Body
	if !strings.Contains(body, `id="leak_policy-problem"`) {
		t.Errorf("a bad policy is not shown under its field:\n%s", body)
	}
	if st, _ := srv.Service.GetSettings(context.Background(), srv.Owner()); st.LeakPolicy != keyward.LeakFlag {
		t.Errorf("a refused form changed the policy to %q", st.LeakPolicy)
	}
}

// A full-access key reads "Full access", not a chip per scope; the last
// use reads as people say it, with the time on hover; a project without
// keys says how to make one and try it.
func TestKeysTableReadsAsPeopleSayIt(t *testing.T) {
	srv, b := signedInOwner(t)
	empty := srv.MustProject(t, "Empty")
	page := b.get(keysPath(srv, empty.ID)).Body
	if !strings.Contains(page, `id="example"`) || !strings.Contains(page, "/v1/whoami") || !strings.Contains(page, "x-api-key") {
		t.Errorf("an empty project's keys page has no example to try:\n%s", page)
	}
	p := srv.MustProject(t, "P", "orders:read")
	full := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "full"})
	srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "narrow", Scopes: []string{keyward.ScopeKeysRead}})
	if err := srv.Store.TouchKeys(context.Background(), map[string]keyward.KeyUse{full.ID: {At: srv.Clock.Now().Add(-3 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	page = b.get(keysPath(srv, p.ID)).Body
	row := func(id string) string {
		i := strings.Index(page, `data-key-id="`+id+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", id)
		}
		end := strings.Index(page[i:], "</tr>")
		return page[i : i+end]
	}
	fr := row(full.ID)
	if !strings.Contains(fr, ">Full access<") || strings.Contains(fr, `<span class="scope">keys:write</span>`) {
		t.Errorf("the full-access row does not read Full access:\n%s", fr)
	}
	if !strings.Contains(fr, "3 min ago") {
		t.Errorf("the last use does not read 3 min ago:\n%s", fr)
	}
	if strings.Contains(page, `id="example"`) {
		t.Error("a project with keys still shows the empty state")
	}
}

// A key's own page shows everything about it, renames it, and lists the
// audit events about it, named for people.
func TestKeyPage(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "P")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "payments", IPAllowlist: []string{"10.0.0.0/8"},
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Minute)}, Metadata: map[string]string{"team": "billing"}})
	page := keysPath(srv, p.ID) + "/" + k.ID
	if list := b.get(keysPath(srv, p.ID)).Body; !strings.Contains(list, `href="`+page+`"`) {
		t.Errorf("the keys table does not link the key's page")
	}
	r := b.get(page)
	for _, want := range []string{k.Hint, "10.0.0.0/8", "100 requests per 1m", "billing", kwtest.OwnerEmail, "key.create", k.ID} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the key's page lacks %q", want)
		}
	}
	if rr := b.post(page+"/rename", url.Values{"name": {"payments v2"}}); rr.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", rr.StatusCode)
	}
	if got := mustGetKey(t, srv, p.ID, k.ID); got.Name != "payments v2" {
		t.Errorf("renamed key is %q", got.Name)
	}
	if body := b.get(page).Body; !strings.Contains(body, "key.update") {
		t.Error("the rename is not in the key's audit trail")
	}
	// Another project's key is not found through this project.
	other := srv.MustProject(t, "Other")
	if r := b.get(keysPath(srv, other.ID) + "/" + k.ID); r.StatusCode != http.StatusNotFound {
		t.Errorf("the key through another project: %d, want 404", r.StatusCode)
	}
}

// The keys table shows 25 keys a page, with the way to older keys and
// back to the newest.
func TestKeysPaged(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "P")
	if _, err := srv.Service.UpdateSettings(context.Background(), srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: ptrInt(40)}); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "k"})
	}
	first := b.get(keysPath(srv, p.ID)).Body
	if n := strings.Count(first, "<tr data-key-id="); n != 25 {
		t.Errorf("the first page shows %d keys, want 25", n)
	}
	m := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(first)
	if m == nil {
		t.Fatal("no link to older keys")
	}
	second := b.get(strings.ReplaceAll(m[1], "&amp;", "&")).Body
	if n := strings.Count(second, "<tr data-key-id="); n != 5 {
		t.Errorf("the second page shows %d keys, want 5", n)
	}
	if !strings.Contains(second, `id="first-page"`) {
		t.Error("the second page has no way back to the newest keys")
	}
}

func ptrInt(n int) *int { return &n }
