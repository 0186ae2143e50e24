package dashboard_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// A form outside a dialog that fails comes back with the problem under the
// input it concerns: announced (role=alert), the input described by it and
// marked invalid, what was typed kept; not in the page's banner.
func TestInlineFormErrorsNextToTheirFields(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Shop")
	dev := srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "prod"})
	org := "/orgs/" + srv.OrgID
	prj := org + "/projects/" + p.ID
	for _, c := range []struct {
		name, path string
		form       url.Values
		id, typed  string
		open       string // the <details> the form sits in, opened
	}{
		{"create project", org + "/projects", url.Values{"name": {""}}, "project-name", "", ""},
		{"rename project", prj + "/rename", url.Values{"name": {strings.Repeat("n", 201)}}, "rename-" + p.ID, "", `<details class="manage" open>`},
		{"delete project", prj + "/delete", url.Values{"confirm": {"shop"}}, "delete-" + p.ID, "", `<details class="manage" open>`},
		{"add org member", org + "/members", url.Values{"email": {"not an email"}, "role": {"member"}}, "member-email", "not an email", ""},
		{"add project member", prj + "/members", url.Values{"email": {"nobody"}, "role": {"developer"}}, "member-email", "nobody", ""},
		{"org role", org + "/members/" + dev.UserID + "/role", url.Values{"role": {"boss"}}, "role-" + dev.UserID, "", ""},
		{"project role", prj + "/members/" + dev.UserID + "/role", url.Values{"role": {"boss"}}, "role-" + dev.UserID, "", ""},
		{"remove member", org + "/members/" + dev.UserID + "/remove", url.Values{"confirm": {"someone"}, "key_handling": {"revoke"}}, "remove-confirm-" + dev.UserID, "", `<details class="row-action" open>`},
		{"custom scopes", prj + "/settings", url.Values{"custom_scopes": {"Bad Scope!"}}, "custom-scopes-input", "", ""},
		{"rename key", prj + "/keys/" + k.ID + "/rename", url.Values{"name": {""}}, "key-rename", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := b.post(c.path, c.form)
			if r.StatusCode != 303 {
				t.Fatalf("%d, want 303", r.StatusCode)
			}
			page := b.get(r.Header.Get("Location")).Body
			wants := []string{
				`id="` + c.id + `"`,
				`aria-describedby="` + c.id + `-problem"`,
				`<p id="` + c.id + `-problem" class="problem" role="alert">`,
			}
			if c.typed != "" {
				wants = append(wants, `value="`+c.typed+`"`)
			}
			if c.open != "" {
				wants = append(wants, c.open)
			}
			for _, w := range wants {
				if !strings.Contains(page, w) {
					t.Errorf("no %s in the page", w)
				}
			}
			if strings.Contains(page, `id="flash"`) {
				t.Error("the problem is in the page's banner too")
			}
			// Shown once: the next visit is clean.
			if again := b.get(r.Header.Get("Location")).Body; strings.Contains(again, `class="problem"`) {
				t.Error("the problem is shown again on the next visit")
			}
		})
	}
}

// A problem whose input is gone from the page it comes back to (here the
// member whose role was being changed was removed meanwhile) is shown in
// the page's banner, never dropped.
func TestFormProblemWithoutItsInputGoesToTheBanner(t *testing.T) {
	srv, b := signedInOwner(t)
	dev := srv.MustMember(t, "dev@example.com", keyward.OrgMember, "", "")
	org := "/orgs/" + srv.OrgID
	r := b.post(org+"/members/"+dev.UserID+"/role", url.Values{"role": {"boss"}})
	if r.StatusCode != 303 {
		t.Fatalf("%d, want 303", r.StatusCode)
	}
	if err := srv.Service.RemoveMember(context.Background(), srv.Owner(), dev.UserID, keyward.RemoveMemberInput{}); err != nil {
		t.Fatal(err)
	}
	page := b.get(r.Header.Get("Location")).Body
	if strings.Contains(page, `id="role-`+dev.UserID+`"`) {
		t.Fatal("the removed member's role input is still on the page")
	}
	i := strings.Index(page, `id="flash"`)
	if i < 0 {
		t.Fatalf("the problem is nowhere on the page:\n%s", page)
	}
	if banner := page[i:min(len(page), i+300)]; !strings.Contains(banner, "role") {
		t.Fatalf("the banner does not name the problem: %s", banner)
	}
}
