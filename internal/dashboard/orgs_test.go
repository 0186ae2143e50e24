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

// otherOrg stores a second org with its own owner, straight in the store (as
// if made on another day), and signs that owner in.
func otherOrg(t *testing.T, srv *kwtest.Server, name, email string) (*keyward.Org, *keyward.User, *browser) {
	t.Helper()
	ctx := context.Background()
	now := srv.Clock.Now()
	u := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: email, PasswordHash: service.HashPassword(email + " password"), CreatedAt: now}
	org := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: name, Slug: strings.ToLower(name), Settings: keyward.DefaultSettings(), CreatedAt: now}
	for _, err := range []error{
		srv.Store.CreateUser(ctx, u),
		srv.Store.CreateOrg(ctx, org),
		srv.Store.PutMember(ctx, &keyward.Member{OrgID: org.ID, UserID: u.ID, Role: keyward.OrgOwner, CreatedAt: now}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, srv)
	b.mustLogin(email, email+" password")
	return org, u, b
}

var (
	resetLinkRE  = regexp.MustCompile(`<code id="secret">([^<]*/reset\?token=([A-Za-z0-9_-]+))</code>`)
	inviteLinkRE = regexp.MustCompile(`<code id="invite-url">([^<]*/invite\?token=([A-Za-z0-9_%-]+))</code>`)
)

// linkIn returns the one-time link and its token that re finds in body.
func linkIn(re *regexp.Regexp, body string) (link, token string) {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return "", ""
	}
	token, _ = url.QueryUnescape(m[2])
	return m[1], token
}

// The attack this rule stops: the owner of org B adds org A's owner to B by
// email, makes a password-reset link for them and takes over org A. Adding
// an existing account now only invites it, and even once the person has
// accepted, B's owner may not make a reset link for an account that
// belongs to another org.
func TestOtherOrgsOwnerCannotTakeOverAnAccount(t *testing.T) {
	srv := kwtest.NewServer(t)
	orgB, _, mallory := otherOrg(t, srv, "Evil", "mallory@example.com")
	bMembers := "/orgs/" + orgB.ID + "/members"

	r := mallory.postFollow(bMembers, url.Values{"email": {kwtest.OwnerEmail}, "role": {"member"}})
	if r.StatusCode >= 400 {
		t.Fatalf("add A's owner to B: %d", r.StatusCode)
	}
	_, inviteToken := linkIn(inviteLinkRE, r.Body)
	steal := func(when string) {
		t.Helper()
		r := mallory.postFollow(bMembers+"/"+srv.OwnerID+"/reset-password", nil)
		if link, token := linkIn(resetLinkRE, r.Body); token != "" {
			anon := newBrowser(t, srv)
			anon.post("/reset", url.Values{"token": {token}, "password": {"mallory owns you"}})
			if anon.login(kwtest.OwnerEmail, "mallory owns you").StatusCode == http.StatusSeeOther {
				t.Fatalf("%s: B's owner got the reset link %s and signed in as A's owner", when, link)
			}
			t.Fatalf("%s: B's owner got a reset link for A's owner", when)
		}
		if r.StatusCode < 400 {
			t.Fatalf("%s: reset link for A's owner: status %d, want a refusal", when, r.StatusCode)
		}
	}
	steal("after the add")
	if inviteToken == "" {
		t.Fatal("adding an existing account showed no invitation link")
	}
	// Nothing attached A's owner to B behind their back.
	owner := newBrowser(t, srv)
	owner.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
	if r := owner.get("/orgs/" + orgB.ID + "/projects"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("A's owner sees B before accepting: %d", r.StatusCode)
	}

	// A's owner accepts; B's owner still may not reset their password.
	if r := owner.post("/invite", url.Values{"token": {inviteToken}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", r.StatusCode, r.Body)
	}
	r = mallory.postFollow(bMembers+"/"+srv.OwnerID+"/reset-password", nil)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "also belongs to another organization") {
		t.Errorf("reset link for a shared account: %d, want 403 with a clear message\n%s", r.StatusCode, r.Body)
	}
	steal("after accepting")
	owner.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
}

// A reset link B's owner made while the account was B's alone stops working
// once the account joins another org.
func TestResetLinkEndsWhenTheAccountJoinsAnotherOrg(t *testing.T) {
	srv, owner := signedInOwner(t)
	orgB, _, bOwner := otherOrg(t, srv, "Beta", "beta@example.com")
	bMembers := "/orgs/" + orgB.ID + "/members"
	r := bOwner.postFollow(bMembers, url.Values{"email": {"dana@example.com"}, "role": {"member"}})
	dana := regexp.MustCompile(`<tr data-user-id="(usr_[^"]+)">\s*<td data-col="email" data-label="Email">dana@example.com`).FindStringSubmatch(r.Body)
	if dana == nil {
		t.Fatalf("dana not added: %d", r.StatusCode)
	}
	_, setPw := linkIn(inviteLinkRE, r.Body)
	// Dana sets her password with B's link; B's owner makes a reset link
	// while she is B's alone; then A invites her and she joins.
	if r := newBrowser(t, srv).post("/invite/password", url.Values{"token": {setPw}, "password": {"dana's password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d\n%s", r.StatusCode, r.Body)
	}
	_, reset := linkIn(resetLinkRE, bOwner.postFollow(bMembers+"/"+dana[1]+"/reset-password", nil).Body)
	if reset == "" {
		t.Fatal("no reset link for dana while she belongs to B alone")
	}
	_, invA := linkIn(inviteLinkRE, owner.postFollow("/orgs/"+srv.OrgID+"/members", url.Values{"email": {"dana@example.com"}, "role": {"member"}}).Body)
	db := newBrowser(t, srv)
	db.mustLogin("dana@example.com", "dana's password")
	if r := db.post("/invite", url.Values{"token": {invA}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept A: %d", r.StatusCode)
	}
	if r := newBrowser(t, srv).post("/reset", url.Values{"token": {reset}, "password": {"beta owns dana"}}); r.StatusCode < 400 {
		t.Errorf("B's old reset link after dana joined A: %d, want a refusal", r.StatusCode)
	}
	db.mustLogin("dana@example.com", "dana's password")
}

// Reset links are built from --public-url, never from the Host header.
func TestResetLinkOnPublicURL(t *testing.T) {
	srv, b := signedInOwner(t)
	m := srv.MustMember(t, "ann@example.com", keyward.OrgMember, "", "")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orgs/"+srv.OrgID+"/members/"+m.UserID+"/reset-password", nil)
	req.Host = "evil.example"
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(b.sessionCookie()) // the jar goes by the Host header, which is not the server's here
	r := b.do(req)
	if r.StatusCode == http.StatusSeeOther { // the link is on the page it redirects to
		r = b.get(r.Header.Get("Location"))
	}
	link, _ := linkIn(resetLinkRE, r.Body)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(link, kwtest.PublicURL+"/reset?token=") {
		t.Fatalf("status %d (%s), link %q; want a link on %s", r.StatusCode, r.Header.Get("Location"), link, kwtest.PublicURL)
	}
	if strings.Contains(r.Body, "evil.example") {
		t.Error("the page names the request's Host")
	}
}

// A used reset link or a password change ends every other outstanding reset
// link of the account, and its other sessions.
func TestPasswordChangeEndsOtherResetLinks(t *testing.T) {
	srv, owner := signedInOwner(t)
	m := srv.MustMember(t, "ann@example.com", keyward.OrgMember, "", "")
	resetPath := "/orgs/" + srv.OrgID + "/members/" + m.UserID + "/reset-password"
	makeLink := func() string {
		t.Helper()
		_, token := linkIn(resetLinkRE, owner.postFollow(resetPath, nil).Body)
		if token == "" {
			t.Fatal("no reset link")
		}
		return token
	}
	first, second := makeLink(), makeLink()
	if r := newBrowser(t, srv).post("/reset", url.Values{"token": {first}, "password": {"ann's password 1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first link: %d", r.StatusCode)
	}
	if r := newBrowser(t, srv).post("/reset", url.Values{"token": {second}, "password": {"someone else's"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("second link after the first was used: %d, want 404", r.StatusCode)
	}

	third := makeLink()
	ann, other := newBrowser(t, srv), newBrowser(t, srv)
	ann.mustLogin("ann@example.com", "ann's password 1")
	other.mustLogin("ann@example.com", "ann's password 1")
	if r := ann.post("/account/password", url.Values{"current_password": {"ann's password 1"}, "new_password": {"ann's password 2"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d", r.StatusCode)
	}
	if r := newBrowser(t, srv).post("/reset", url.Values{"token": {third}, "password": {"someone else's"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("reset link after a password change: %d, want 404", r.StatusCode)
	}
	if r := other.get("/account"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("other session after a password change: %d, want 303 to sign-in", r.StatusCode)
	}
	ann.mustLogin("ann@example.com", "ann's password 2")
}

// Adding an existing account invites it; the person accepts signed in with
// their own password, once. Pending invitations are listed and can be
// revoked; revoked, used and expired links fail with a clear message.
func TestInvitationOfAnExistingAccount(t *testing.T) {
	srv := kwtest.NewServer(t)
	orgB, _, bOwner := otherOrg(t, srv, "Beta", "beta@example.com")
	bMembers := "/orgs/" + orgB.ID + "/members"
	ctx := context.Background()

	r := bOwner.postFollow(bMembers, url.Values{"email": {kwtest.OwnerEmail}, "role": {"admin"}})
	link, token := linkIn(inviteLinkRE, r.Body)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(link, kwtest.PublicURL+"/invite?token=") {
		t.Fatalf("invite: %d, link %q\n%s", r.StatusCode, link, r.Body)
	}
	if !strings.Contains(r.Body, "they are invited") {
		t.Error("the page does not say the member is pending")
	}
	list := bOwner.get(bMembers).Body
	if !regexp.MustCompile(`<tr data-invitation-id="inv_[^"]+">\s*<td data-col="email" data-label="Email">` + regexp.QuoteMeta(kwtest.OwnerEmail)).MatchString(list) {
		t.Errorf("pending invitation not listed:\n%s", list)
	}
	if strings.Contains(list, "/invite?token=") {
		t.Error("the members page shows the link again")
	}

	// The link alone does nothing for an account that has a password.
	anon := newBrowser(t, srv)
	page := anon.get("/invite?token=" + url.QueryEscape(token))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Body, "Sign in to accept") || strings.Contains(page.Body, `action="/invite/password"`) {
		t.Errorf("invitation page, signed out: %d\n%s", page.StatusCode, page.Body)
	}
	if r := anon.post("/invite/password", url.Values{"token": {token}, "password": {"taken over!"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("setting an existing account's password with the link: %d, want 409", r.StatusCode)
	}
	// Someone else, signed in, cannot accept it.
	if r := bOwner.post("/invite", url.Values{"token": {token}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("accept as another account: %d, want 403", r.StatusCode)
	}

	owner := newBrowser(t, srv)
	owner.mustLogin(kwtest.OwnerEmail, kwtest.OwnerPassword)
	if r := owner.post("/invite", url.Values{"token": {token}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+orgB.ID+"/projects" {
		t.Fatalf("accept: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := owner.get("/orgs?org=" + orgB.ID); r.StatusCode != http.StatusSeeOther {
		t.Errorf("switch to B: %d", r.StatusCode)
	}
	if r := owner.get("/orgs/" + orgB.ID + "/members"); r.StatusCode != http.StatusOK {
		t.Errorf("B's members page as the invited admin: %d", r.StatusCode)
	}
	r = owner.post("/invite", url.Values{"token": {token}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "already used") {
		t.Errorf("accept twice: %d\n%s", r.StatusCode, r.Body)
	}

	// Revoked and expired invitations fail with a message that says so.
	carol := srv.MustMember(t, "carol@example.com", keyward.OrgMember, "", "")
	srv.MustPassword(t, carol.UserID, "carol's password")
	cb := newBrowser(t, srv)
	cb.mustLogin("carol@example.com", "carol's password")
	_, revoked := linkIn(inviteLinkRE, bOwner.postFollow(bMembers, url.Values{"email": {"carol@example.com"}, "role": {"member"}}).Body)
	inv := regexp.MustCompile(`data-invitation-id="(inv_[^"]+)">\s*<td data-col="email" data-label="Email">carol@example.com`).FindStringSubmatch(bOwner.get(bMembers).Body)
	if inv == nil || revoked == "" {
		t.Fatal("carol's invitation not made or not listed")
	}
	if r := bOwner.post("/orgs/"+orgB.ID+"/invitations/"+inv[1]+"/revoke", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := cb.post("/invite", url.Values{"token": {revoked}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "revoked") {
		t.Errorf("accept a revoked invitation: %d\n%s", r.StatusCode, r.Body)
	}
	if r := cb.get("/invite?token=" + url.QueryEscape(revoked)); r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "revoked") {
		t.Errorf("open a revoked invitation: %d", r.StatusCode)
	}
	_, expired := linkIn(inviteLinkRE, bOwner.postFollow(bMembers, url.Values{"email": {"carol@example.com"}, "role": {"member"}}).Body)
	srv.Clock.Advance(service.InvitationLifetime + time.Second)
	cb.mustLogin("carol@example.com", "carol's password")
	if r := cb.post("/invite", url.Values{"token": {expired}}); r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "expired") {
		t.Errorf("accept an expired invitation: %d\n%s", r.StatusCode, r.Body)
	}
	if r := cb.post("/invite", url.Values{"token": {"not-a-token"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("accept an unknown token: %d", r.StatusCode)
	}
	if r := cb.get("/orgs/" + orgB.ID + "/projects"); r.StatusCode != http.StatusNotFound {
		t.Errorf("carol sees B: %d", r.StatusCode)
	}

	// Each step is in B's audit log.
	events, err := srv.Store.ListAuditEvents(ctx, keyward.AuditFilter{OrgID: orgB.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range events {
		if ev.Result == keyward.ResultSuccess {
			seen[ev.Action]++
		}
	}
	if seen[service.AuditMemberInvite] != 3 || seen[service.AuditInvitationAccept] != 1 || seen[service.AuditInvitationRevoke] != 1 {
		t.Errorf("audit events: %v", seen)
	}
}

// A new person's link sets their password and accepts, once.
func TestInvitationOfANewPersonSetsPassword(t *testing.T) {
	srv, owner := signedInOwner(t)
	r := owner.postFollow("/orgs/"+srv.OrgID+"/members", url.Values{"email": {"newbie@example.com"}, "role": {"member"}})
	_, token := linkIn(inviteLinkRE, r.Body)
	if token == "" {
		t.Fatalf("no link for a new person: %d", r.StatusCode)
	}
	nb := newBrowser(t, srv)
	if page := nb.get("/invite?token=" + url.QueryEscape(token)); !strings.Contains(page.Body, `action="/invite/password"`) {
		t.Fatalf("no password form for a new person: %d\n%s", page.StatusCode, page.Body)
	}
	if r := nb.post("/invite/password", url.Values{"token": {token}, "password": {"short"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("short password: %d", r.StatusCode)
	}
	if r := nb.post("/invite/password", url.Values{"token": {token}, "password": {"newbie's password"}}); r.StatusCode != http.StatusSeeOther || nb.sessionCookie() == nil {
		t.Fatalf("set password: %d\n%s", r.StatusCode, r.Body)
	}
	if r := nb.get("/orgs/" + srv.OrgID + "/projects"); r.StatusCode != http.StatusOK {
		t.Errorf("the new member's projects page: %d", r.StatusCode)
	}
	if r := newBrowser(t, srv).post("/invite/password", url.Values{"token": {token}, "password": {"taken over!"}}); r.StatusCode != http.StatusConflict {
		t.Errorf("link used twice: %d, want 409", r.StatusCode)
	}
	newBrowser(t, srv).mustLogin("newbie@example.com", "newbie's password")
}

// A signed-in person creates another org and becomes its owner; a slug
// that is taken is a clear error.
func TestCreateOrg(t *testing.T) {
	srv, b := signedInOwner(t)
	if r := b.get("/orgs/new"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="create-org"`) {
		t.Fatalf("new org page: %d", r.StatusCode)
	}
	r := b.post("/orgs", url.Values{"name": {"Beta Corp"}})
	m := regexp.MustCompile(`^/orgs/(org_[0-9A-Z]+)/projects$`).FindStringSubmatch(r.Header.Get("Location"))
	if r.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	beta := m[1]
	page := b.get("/orgs/" + beta + "/members").Body
	if !regexp.MustCompile(`<option value="`+beta+`" selected>Beta Corp</option>`).MatchString(page) ||
		!strings.Contains(page, `<option value="`+srv.OrgID+`">Acme</option>`) {
		t.Errorf("the org switcher does not offer both orgs:\n%s", page)
	}
	if !regexp.MustCompile(`<tr data-user-id="` + srv.OwnerID + `">[\s\S]*?<option value="owner" selected>`).MatchString(page) {
		t.Error("the creator is not the new org's owner")
	}
	if r := b.get("/orgs?org=" + beta); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+beta+"/projects" {
		t.Errorf("switch: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.post("/orgs", url.Values{"name": {"Beta, Corp!"}})
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, `slug &#34;beta-corp&#34; already exists`) {
		t.Errorf("duplicate slug: %d\n%s", r.StatusCode, r.Body)
	}
	if r := b.post("/orgs", url.Values{"name": {"Gamma"}, "slug": {"Not A Slug"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad slug: %d", r.StatusCode)
	}
	events, err := srv.Store.ListAuditEvents(context.Background(), keyward.AuditFilter{OrgID: beta, Action: service.AuditOrgCreate, Limit: 10})
	if err != nil || len(events) != 1 || events[0].Actor.ID != srv.OwnerID {
		t.Errorf("org.create audit events: %+v, %v", events, err)
	}
}
