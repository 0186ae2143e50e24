package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestEveryPageRenders walks the pages an owner sees: each answers 200
// and every input has a label.
func TestEveryPageRenders(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop", "orders:read")
	srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	org := "/orgs/" + srv.OrgID
	prj := org + "/projects/" + p.ID
	inputs := regexp.MustCompile(`<(input|select)\b[^>]*>`)
	for _, path := range []string{
		"/account", org + "/projects", prj + "/keys", prj + "/keys?status=all", prj + "/members", prj + "/settings",
		prj + "/audit", prj + "/audit?action=key.&actor=" + url.QueryEscape(kwtest.OwnerEmail),
		org + "/keys", org + "/members", org + "/settings", org + "/audit?project_id=" + p.ID,
	} {
		r := b.get(path)
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", path, r.StatusCode, r.Body)
			continue
		}
		for _, in := range inputs.FindAllString(r.Body, -1) {
			if strings.Contains(in, `type="hidden"`) || strings.Contains(in, " hidden") || strings.Contains(in, `type="radio"`) || strings.Contains(in, `type="checkbox"`) {
				continue // hidden, or labelled by the <label> around them
			}
			id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(in)
			if id == nil || !strings.Contains(r.Body, `for="`+id[1]+`"`) {
				t.Errorf("GET %s: input without a label: %s", path, in)
			}
		}
	}
	if r := b.get(org + "/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %d", r.StatusCode)
	}
}

func TestOtherOrgsAndProjectsAreNotFound(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Secret project")
	_, b := signedInMember(t, srv, "outsider@example.com", "", "")
	for _, path := range []string{
		"/orgs/" + srv.OrgID + "/projects/" + p.ID + "/keys",
		"/orgs/org_00000000000000000000000000/projects",
	} {
		if r := b.get(path); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	if r := b.get("/orgs/" + srv.OrgID + "/members"); r.StatusCode != http.StatusForbidden {
		t.Errorf("plain member on org members: %d, want 403", r.StatusCode)
	}
}

func TestProjectLifecycle(t *testing.T) {
	srv, b := signedInOwner(t)
	org := "/orgs/" + srv.OrgID
	r := b.post(org+"/projects", url.Values{"name": {"Web shop"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", r.StatusCode)
	}
	prj := strings.TrimSuffix(r.Header.Get("Location"), "/keys")
	id := prj[strings.LastIndex(prj, "/")+1:]
	page := b.get(org + "/projects").Body
	if !strings.Contains(page, `data-project-id="`+id+`"`) || !strings.Contains(page, "Web shop") {
		t.Fatalf("project not listed:\n%s", page)
	}
	b.post(prj+"/rename", url.Values{"name": {"Shop"}})
	b.post(prj+"/delete", url.Values{"confirm": {"Web shop"}}) // the old name: refused
	if page := b.get(org + "/projects").Body; !strings.Contains(page, `data-project-id="`+id+`"`) || !strings.Contains(page, ">Shop<") {
		t.Fatalf("after rename and a wrong confirmation:\n%s", page)
	}
	if r := b.post(prj+"/delete", url.Values{"confirm": {"Shop"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if page := b.get(org + "/projects").Body; strings.Contains(page, id) {
		t.Error("deleted project still listed")
	}
}

func TestMembersAndPasswordReset(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	org := "/orgs/" + srv.OrgID
	if r := b.postFollow(org+"/members", url.Values{"email": {"ann@example.com"}, "role": {"member"}}); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `<code id="invite-url">`+kwtest.PublicURL+`/invite?token=`) {
		t.Fatalf("add: %d", r.StatusCode)
	}
	// Ann is an org member now; the project page adds her by email.
	prj := org + "/projects/" + p.ID
	if r := b.post(prj+"/members", url.Values{"email": {"ann@example.com"}, "role": {"developer"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add to project: %d", r.StatusCode)
	}
	body := b.get(prj + "/members").Body
	m := regexp.MustCompile(`<tr data-user-id="(usr_[^"]+)">\s*<td data-col="email" data-label="Email">ann@example.com`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("ann not among the project's members:\n%s", body)
	}
	ann := m[1]
	k := srv.MustKey(t, srv.User(ann), p.ID, keyward.CreateKeyInput{Name: "ann's"})
	// Removing says what it does to their keys, and asks for the member's
	// email, typed, like revoking a key.
	if body := b.get(prj + "/members").Body; !strings.Contains(body, "They own 1 usable key in this project") {
		t.Errorf("the removal form does not say how many keys the member owns:\n%s", body)
	}
	if r := b.postFollow(prj+"/members/"+ann+"/remove", url.Values{"key_handling": {"transfer"}}); !strings.Contains(r.Body, "type the member") {
		t.Errorf("a removal without the typed email was not refused:\n%s", r.Body)
	}
	if r := b.post(prj+"/members/"+ann+"/remove", url.Values{"key_handling": {"transfer"}, "confirm": {"ann@example.com"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove from project: %d", r.StatusCode)
	}
	if got := mustGetKey(t, srv, p.ID, k.ID); got.Status != keyward.StatusActive || got.OwnerUserID == nil || *got.OwnerUserID != srv.OwnerID {
		t.Errorf("ann's key after transfer: %s, owner %v", got.Status, got.OwnerUserID)
	}

	r := b.postFollow(org+"/members/"+ann+"/reset-password", nil)
	link := regexp.MustCompile(`<code id="secret">[^<]*(/reset\?token=[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || link == nil {
		t.Fatalf("reset link: %d\n%s", r.StatusCode, r.Body)
	}
	token := strings.TrimPrefix(link[1], "/reset?token=")
	anon := newBrowser(t, srv)
	if r := anon.post("/reset", url.Values{"token": {token}, "password": {"ann's new password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", r.StatusCode, r.Body)
	}
	anon.mustLogin("ann@example.com", "ann's new password")
	if r := anon.post("/reset", url.Values{"token": {token}, "password": {"another password"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("reset link used twice: %d, want 404", r.StatusCode)
	}

	if r := b.post(org+"/members/"+ann+"/role", url.Values{"role": {"admin"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("role change: %d", r.StatusCode)
	}
	if r := b.post(org+"/members/"+ann+"/remove", url.Values{"key_handling": {"revoke"}, "confirm": {"ann@example.com"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("remove: %d", r.StatusCode)
	}
	if strings.Contains(b.get(org+"/members").Body, "ann@example.com") {
		t.Error("ann is still listed")
	}
}

func TestSettings(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	org := "/orgs/" + srv.OrgID
	b.post(org+"/projects/"+p.ID+"/settings", url.Values{"custom_scopes": {"orders:read, orders:write"}})
	got, err := srv.Service.GetProject(t.Context(), srv.Owner(), p.ID)
	if err != nil || strings.Join(got.CustomScopes, " ") != "orders:read orders:write" {
		t.Errorf("custom scopes: %v %v", got, err)
	}
	form := url.Values{"max_keys_per_user": {"5"}, "max_keys_per_project": {"50"}, "max_org_keys": {"4"}, "max_key_lifetime": {"90d"}, "rotation_max_grace": {"24h"}}
	if r := b.post(org+"/settings", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d", r.StatusCode)
	}
	st, _ := srv.Service.GetSettings(t.Context(), srv.Owner())
	if st.MaxKeysPerUser != 5 || st.MaxOrgKeys != 4 || st.MaxKeyLifetime == nil || st.RotationMaxGrace.Std().Hours() != 24 {
		t.Errorf("settings: %+v", st)
	}
	// The rotate dialog offers only graces within the new maximum.
	if body := b.get(keysPath(srv, p.ID)).Body; strings.Contains(body, `value="168h"`) || !strings.Contains(body, `value="24h"`) {
		t.Error("rotate dialog offers graces beyond rotation_max_grace")
	}
	form.Set("max_org_keys", "0")
	r := b.post(org+"/settings", form)
	// The problem is under its field, which it describes, with what was
	// typed; not in the page's banner.
	page := b.get(r.Header.Get("Location")).Body
	for _, want := range []string{
		`<input id="max_org_keys" name="max_org_keys" type="number" min="1" max="1000000" required value="0" aria-invalid="true" aria-describedby="max_org_keys-problem" autofocus>`,
		`<p id="max_org_keys-problem" class="problem" role="alert">must be between 1 and 1000000</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("invalid setting not reported next to its field: no %s in\n%s", want, page)
		}
	}
	if strings.Contains(page, `id="flash"`) {
		t.Error("the problem of a field is in the page's banner too")
	}
	r = b.post(org+"/settings", url.Values{"max_keys_per_user": {"x"}, "max_keys_per_project": {"5"}, "max_org_keys": {"4"}, "rotation_max_grace": {"soon"}})
	page = b.get(r.Header.Get("Location")).Body
	for _, want := range []string{`<p id="max_keys_per_user-problem" class="problem" role="alert">must be a whole number</p>`, `<p id="rotation_max_grace-problem" class="problem" role="alert">must be a duration`, `value="soon"`} {
		if !strings.Contains(page, want) {
			t.Errorf("two invalid settings: no %s", want)
		}
	}
}

func TestAuditFilters(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	b.post(keysPath(srv, p.ID)+"/"+k.ID+"/revoke", url.Values{"confirm": {"REVOKE"}})
	body := b.get("/orgs/" + srv.OrgID + "/projects/" + p.ID + "/audit?action=key.revoke").Body
	if n := strings.Count(body, `<tr data-event-id=`); n != 1 || !strings.Contains(body, `<td data-col="action" data-label="Action"><code>key.revoke</code>`) {
		t.Errorf("key.revoke filter: %d rows\n%s", n, body)
	}
	if body := b.get("/orgs/" + srv.OrgID + "/audit?actor=nobody@example.com").Body; strings.Contains(body, "<tr data-event-id=") {
		t.Error("actor filter for an unknown email shows events")
	}
}

// TestMemberLinksShownOnce: adding a member and making a reset link
// redirect (303); the page they redirect to shows the one-time link once,
// and a reload shows it no more (nor makes another).
func TestMemberLinksShownOnce(t *testing.T) {
	srv, b := signedInOwner(t)
	members := "/orgs/" + srv.OrgID + "/members"
	r := b.post(members, url.Values{"email": {"ann@example.com"}, "role": {"member"}})
	if r.StatusCode != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "token") {
		t.Fatalf("add: %d to %q, want 303 without the link", r.StatusCode, r.Header.Get("Location"))
	}
	loc := r.Header.Get("Location")
	link, _ := linkIn(inviteLinkRE, b.get(loc).Body)
	if link == "" {
		t.Fatal("no invitation link after the add")
	}
	if again := b.get(loc).Body; strings.Contains(again, link) || strings.Contains(again, `id="invite-link"`) {
		t.Error("the invitation link is shown again on reload")
	}

	m := srv.MustMember(t, "bob@example.com", keyward.OrgMember, "", "")
	r = b.post(members+"/"+m.UserID+"/reset-password", nil)
	if r.StatusCode != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "token") {
		t.Fatalf("reset link: %d to %q, want 303 without the link", r.StatusCode, r.Header.Get("Location"))
	}
	loc = r.Header.Get("Location")
	reset, _ := linkIn(resetLinkRE, b.get(loc).Body)
	if reset == "" {
		t.Fatal("no reset link")
	}
	if again := b.get(loc).Body; strings.Contains(again, reset) || strings.Contains(again, `id="reset-link"`) || !strings.Contains(again, "shown only once") {
		t.Error("the reset link is shown again on reload, or the page does not say it is gone")
	}
}

// Deleting a project says how many working keys go with it.
func TestDeleteProjectSaysHowManyKeys(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	for range 2 {
		srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "k"})
	}
	if body := b.get("/orgs/" + srv.OrgID + "/projects").Body; !strings.Contains(body, "deletes its 2 usable keys") {
		t.Errorf("the delete confirmation does not say how many keys go:\n%s", body)
	}
}
