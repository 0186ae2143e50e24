package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// apiCall sends a JSON request with an org key and returns the status and
// the decoded body.
func apiCall(t *testing.T, srv *kwtest.Server, orgKey, method, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-org-api-key", orgKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	// An empty body (204) leaves out nil; anything else must be JSON.
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("%s %s: the answer is not JSON: %v", method, path, err)
	}
	return res.StatusCode, out
}

// A key cannot make a person stronger than itself: a key with
// members:write alone, or one bound by an expiry, an allowlist or a rate
// limit, once added an admin and got the link that sets their password,
// and the admin then made an unbounded key.
func TestAKeyCannotMakeAPersonStrongerThanItself(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	mk := func(in keyward.CreateKeyInput) string {
		k, err := srv.Service.CreateKey(ctx, srv.Owner(), service.Where{}, in)
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	membersOnly := mk(keyward.CreateKeyInput{Name: "members", Scopes: []string{keyward.ScopeMembersWrite}})
	bounded := mk(keyward.CreateKeyInput{Name: "bounded", IPAllowlist: []string{"127.0.0.0/8"}})
	full := mk(keyward.CreateKeyInput{Name: "full"})
	p := srv.MustProject(t, "P")

	for name, key := range map[string]string{"members-only": membersOnly, "bounded": bounded} {
		for _, body := range []map[string]any{
			{"email": "evil-" + name + "@example.com", "role": "admin"},
			{"email": "dev-" + name + "@example.com", "role": "member", "projects": []map[string]any{{"project_id": p.ID, "role": "developer"}}},
		} {
			if status, out := apiCall(t, srv, key, "POST", "/v1/org/members", body); status != http.StatusForbidden {
				t.Errorf("%s key adds %v: %d %v, want 403", name, body, status, out)
			}
		}
	}
	// A plain member with no role anywhere gives nothing away.
	if status, _ := apiCall(t, srv, membersOnly, "POST", "/v1/org/members", map[string]any{"email": "plain@example.com", "role": "member"}); status != http.StatusCreated {
		t.Errorf("members:write key adds a plain member: %d, want 201", status)
	}
	// Promotions are grants too.
	plain, err := srv.Store.GetUserByEmail(ctx, "plain@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := apiCall(t, srv, membersOnly, "PATCH", "/v1/org/members/"+plain.ID, map[string]any{"role": "admin"}); status != http.StatusForbidden {
		t.Errorf("members:write key promotes to admin: %d, want 403", status)
	}
	// A key bounded by nothing and holding every scope may.
	if status, _ := apiCall(t, srv, full, "PATCH", "/v1/org/members/"+plain.ID, map[string]any{"role": "admin"}); status != http.StatusOK {
		t.Errorf("full org key promotes to admin: %d, want 200", status)
	}
}

// A key replaced by rotation changes nothing through any route: not
// projects, custom scopes, members or settings.
func TestARotatedOutOrgKeyChangesNothing(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	old, err := srv.Service.CreateKey(ctx, srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "leaked"})
	if err != nil {
		t.Fatal(err)
	}
	p := srv.MustProject(t, "P", "orders:read")
	dev := srv.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	if status, _ := apiCall(t, srv, old.Secret, "POST", "/v1/org/keys/"+old.ID+"/rotate", map[string]any{"grace_period": "1h"}); status != http.StatusCreated {
		t.Fatalf("rotate: %d", status)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/v1/org/projects/" + p.ID, map[string]any{"custom_scopes": []string{}}},
		{"DELETE", "/v1/org/projects/" + p.ID, nil},
		{"PATCH", "/v1/org/members/" + dev.UserID, map[string]any{"projects": []map[string]any{{"project_id": p.ID, "role": ""}}}},
		{"PATCH", "/v1/org/settings", map[string]any{"max_keys_per_user": 50}},
		{"POST", "/v1/org/members", map[string]any{"email": "late@example.com", "role": "member"}},
		{"POST", "/v1/org/projects", map[string]any{"name": "Q"}},
	} {
		if status, out := apiCall(t, srv, old.Secret, c.method, c.path, c.body); status != http.StatusForbidden {
			t.Errorf("rotated-out key %s %s: %d %v, want 403", c.method, c.path, status, out)
		}
	}
	if got, err := srv.Store.GetProject(ctx, p.ID); err != nil || len(got.CustomScopes) != 1 {
		t.Errorf("project after the refused changes: %+v, %v", got, err)
	}
	// It still authenticates, and may revoke itself.
	if status, _ := apiCall(t, srv, old.Secret, "GET", "/v1/org/whoami", nil); status != http.StatusOK {
		t.Errorf("whoami in the grace period: %d", status)
	}
	if status, _ := apiCall(t, srv, old.Secret, "POST", "/v1/org/keys/"+old.ID+"/revoke", map[string]any{}); status != http.StatusOK {
		t.Errorf("revoke itself: %d", status)
	}
}

// An invitation stops working with whoever made it: a removed admin's
// pending invitation, accepted afterwards, made its person an admin.
func TestAnInvitationEndsWithItsMaker(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	_, invitee, _ := otherOrg(t, srv, "Beta", "beta@example.com")
	admin := srv.MustMember(t, "admin@example.com", keyward.OrgAdmin, "", "")
	adminKey, err := srv.Service.CreateKey(ctx, srv.User(admin.UserID), service.Where{}, keyward.CreateKeyInput{Name: "admin's"})
	if err != nil {
		t.Fatal(err)
	}
	status, out := apiCall(t, srv, adminKey.Secret, "POST", "/v1/org/members", map[string]any{"email": invitee.Email, "role": "admin"})
	inv, _ := out["invitation"].(map[string]any)
	link, _ := inv["url"].(string)
	if status != http.StatusAccepted || link == "" {
		t.Fatalf("invite: %d %v", status, out)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")

	if status, _ := apiCall(t, srv, srv.OrgKey, "DELETE", "/v1/org/members/"+admin.UserID, nil); status != http.StatusNoContent {
		t.Fatalf("remove the admin: %d", status)
	}
	b := newBrowser(t, srv)
	b.mustLogin(invitee.Email, invitee.Email+" password")
	if r := b.post("/invite", url.Values{"token": {token}}); r.StatusCode != http.StatusConflict {
		t.Errorf("accepting a removed admin's invitation: %d, want 409\n%s", r.StatusCode, r.Body)
	}
	if _, err := srv.Store.GetMember(ctx, srv.OrgID, invitee.ID); keyward.ErrorCode(err) != keyward.CodeNotFound {
		t.Errorf("the invitee is a member after all: %v", err)
	}
}

// A password-reset link stops working with the owner who made it.
func TestAResetLinkEndsWithItsOwner(t *testing.T) {
	srv := kwtest.NewServer(t)
	second := srv.MustMember(t, "second@example.com", keyward.OrgOwner, "", "")
	srv.MustPassword(t, second.UserID, "second owner's password")
	victim := srv.MustMember(t, "victim@example.com", keyward.OrgAdmin, "", "")
	srv.MustPassword(t, victim.UserID, "victim's password")

	b := newBrowser(t, srv)
	b.mustLogin("second@example.com", "second owner's password")
	_, token := linkIn(resetLinkRE, b.postFollow("/orgs/"+srv.OrgID+"/members/"+victim.UserID+"/reset-password", nil).Body)
	if token == "" {
		t.Fatal("no reset link")
	}
	owner := newBrowser(t, srv)
	owner.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
	if r := owner.post("/orgs/"+srv.OrgID+"/members/"+second.UserID+"/role", url.Values{"role": {"member"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("demote the second owner: %d\n%s", r.StatusCode, r.Body)
	}
	anon := newBrowser(t, srv)
	if r := anon.post("/reset", url.Values{"token": {token}, "password": {"taken over now"}}); r.StatusCode < 400 {
		t.Errorf("a demoted owner's reset link: %d, want a refusal", r.StatusCode)
	}
	if r := anon.login("victim@example.com", "taken over now"); r.StatusCode == http.StatusSeeOther {
		t.Error("signed in with the password the demoted owner's link set")
	}
}

// A project admin manages the project's settings, which a key changes only
// with projects:write: a key without it once made a project admin and,
// through them, changed the project's custom scopes.
func TestAKeyCannotMakeAProjectAdminBeyondItself(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	k, err := srv.Service.CreateKey(ctx, srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "no projects:write",
		Scopes: []string{keyward.ScopeMembersWrite, keyward.ScopeMembersRead, keyward.ScopeKeysRead, keyward.ScopeKeysWrite, keyward.ScopeKeysVerify, keyward.ScopeAuditRead}})
	if err != nil {
		t.Fatal(err)
	}
	p := srv.MustProject(t, "P")
	body := map[string]any{"email": "puppet@example.com", "role": "member", "projects": []map[string]any{{"project_id": p.ID, "role": "admin"}}}
	if status, out := apiCall(t, srv, k.Secret, "POST", "/v1/org/members", body); status != http.StatusForbidden {
		t.Errorf("a key without projects:write makes a project admin: %d %v, want 403", status, out)
	}
	body["projects"] = []map[string]any{{"project_id": p.ID, "role": "developer"}}
	if status, out := apiCall(t, srv, k.Secret, "POST", "/v1/org/members", body); status != http.StatusCreated {
		t.Errorf("the same key makes a developer: %d %v, want 201", status, out)
	}
}

// A reset link is for a member of the org whose owner made it: removed
// from the org, the person is nobody that owner may reset.
func TestAResetLinkEndsWhenItsPersonLeaves(t *testing.T) {
	srv := kwtest.NewServer(t)
	e := srv.MustMember(t, "e@example.com", keyward.OrgMember, "", "")
	srv.MustPassword(t, e.UserID, "e's own password")
	owner := newBrowser(t, srv)
	owner.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
	_, token := linkIn(resetLinkRE, owner.postFollow("/orgs/"+srv.OrgID+"/members/"+e.UserID+"/reset-password", nil).Body)
	if token == "" {
		t.Fatal("no reset link")
	}
	if status, _ := apiCall(t, srv, srv.OrgKey, "DELETE", "/v1/org/members/"+e.UserID, nil); status != http.StatusNoContent {
		t.Fatalf("remove: %d", status)
	}
	anon := newBrowser(t, srv)
	if r := anon.post("/reset", url.Values{"token": {token}, "password": {"the owner's choice"}}); r.StatusCode < 400 {
		t.Errorf("a removed member's reset link: %d, want a refusal", r.StatusCode)
	}
	if r := anon.login("e@example.com", "the owner's choice"); r.StatusCode == http.StatusSeeOther {
		t.Error("signed in as the removed member with the password the owner chose")
	}
}

// A signed-in session cannot guess the account's password through the
// password change form any faster than sign-in allows.
func TestPasswordChangeFormIsThrottled(t *testing.T) {
	_, b := signedInOwner(t)
	refused := 0
	for i := range 20 {
		r := b.post("/account/password", url.Values{"current_password": {fmt.Sprintf("guess %d", i)}, "new_password": {"a new password"}})
		if r.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Error("20 wrong current passwords through the form were all checked")
	}
}

// The org's only owner is not offered removing themselves, which the
// server refuses; with a second owner, both are.
func TestTheLastOwnerIsNotOfferedRemoval(t *testing.T) {
	srv, b := signedInOwner(t)
	members := "/orgs/" + srv.OrgID + "/members"
	removeForm := regexp.MustCompile(`action="` + regexp.QuoteMeta(members+"/"+srv.OwnerID+"/remove") + `"`)
	if page := b.get(members).Body; removeForm.MatchString(page) {
		t.Error("the only owner is offered Remove from organization on themselves")
	}
	srv.MustMember(t, "second@example.com", keyward.OrgOwner, "", "")
	if page := b.get(members).Body; !removeForm.MatchString(page) {
		t.Error("with a second owner, removing the first is not offered")
	}
}
