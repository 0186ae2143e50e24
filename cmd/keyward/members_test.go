package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/spf13/cobra"
)

// orgCLI runs the CLI against srv with the org key key and no project key.
func orgCLI(t *testing.T, srv *kwtest.Server, key, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCLI(t, srv.URL, "", key, stdin, args...)
}

// mustOrg runs the CLI with srv's org key and fails the test on an error.
func mustOrg(t *testing.T, srv *kwtest.Server, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, err := orgCLI(t, srv, srv.OrgKey, "", args...)
	if err != nil {
		t.Fatalf("keyward %s: %v", strings.Join(args, " "), describe(err))
	}
	return out, errOut
}

// orgSDK is an SDK client with srv's org key: the tests check what the CLI
// did through the API, not through the CLI.
func orgSDK(t *testing.T, srv *kwtest.Server) *client.Client {
	t.Helper()
	c, err := client.New(client.WithBaseURL(srv.URL), client.WithOrgAPIKey(srv.OrgKey), client.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memberByEmail lists the members through the API and returns the one with
// email, or nil.
func memberByEmail(t *testing.T, srv *kwtest.Server, email string) *keyward.Member {
	t.Helper()
	for m, err := range orgSDK(t, srv).Org().Members().All(context.Background(), client.ListParams{}) {
		if err != nil {
			t.Fatalf("listing members: %v", err)
		}
		if m.Email == email {
			return &m
		}
	}
	return nil
}

// TestMembersAddUpdateList: a member added from the terminal is listed with
// their roles, gets a one-time link, and their roles change with update.
func TestMembersAddUpdateList(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")

	out, stderr := mustOrg(t, srv, "members", "add", "--email", "alice@example.com", "--name", "Alice", "--project", p.ID+"=developer")
	alice := memberByEmail(t, srv, "alice@example.com")
	if alice == nil || alice.Role != keyward.OrgMember || len(alice.Projects) != 1 || alice.Projects[0].Role != keyward.ProjectDeveloper {
		t.Fatalf("after add the API lists %+v; want a member, developer in %s", alice, p.ID)
	}
	if !strings.Contains(out, alice.UserID) || !strings.Contains(out, "Link (one-time") || !strings.Contains(out, kwtest.PublicURL+"/invite?token=") {
		t.Errorf("add printed:\n%s\nwant the member and the one-time link", out)
	}
	if !strings.Contains(stderr, "works once") || !strings.Contains(stderr, "not be shown again") {
		t.Errorf("add stderr %q does not say the link is one-time", stderr)
	}

	out, _ = mustOrg(t, srv, "members", "add", "--email", "bob@example.com", "--role", "admin", "-o", "json")
	var bob keyward.Member
	mustUnmarshal(t, out, &bob)
	if bob.Role != keyward.OrgAdmin || bob.Invitation == nil || !strings.HasPrefix(bob.Invitation.URL, kwtest.PublicURL+"/invite?token=") {
		t.Errorf("add -o json = %+v; want an admin with the invitation's URL", bob)
	}

	out, _ = mustOrg(t, srv, "members", "list")
	for _, want := range []string{"alice@example.com", "Alice", p.ID + ":developer", "bob@example.com", "admin"} {
		if !strings.Contains(out, want) {
			t.Errorf("members list lacks %q:\n%s", want, out)
		}
	}

	out, _ = mustOrg(t, srv, "members", "update", alice.UserID, "--role", "admin", "--project", p.ID+"=viewer")
	if !strings.Contains(out, "admin") || !strings.Contains(out, p.ID+":viewer") {
		t.Errorf("update printed:\n%s", out)
	}
	var page keyward.Page[keyward.Member]
	out, _ = mustOrg(t, srv, "members", "list", "-o", "json")
	mustUnmarshal(t, out, &page)
	i := slices.IndexFunc(page.Data, func(m keyward.Member) bool { return m.UserID == alice.UserID })
	if i < 0 || page.Data[i].Role != keyward.OrgAdmin || len(page.Data[i].Projects) != 1 || page.Data[i].Projects[0].Role != keyward.ProjectViewer {
		t.Fatalf("after update, list -o json: %+v", page.Data)
	}

	mustOrg(t, srv, "members", "update", alice.UserID, "--remove-project", p.ID)
	if m := memberByEmail(t, srv, "alice@example.com"); m == nil || len(m.Projects) != 0 || m.Role != keyward.OrgAdmin {
		t.Errorf("after --remove-project: %+v; want an admin in no project", m)
	}
}

// TestMembersBadInput: a role the server refuses is its error contract,
// with the field named and a non-zero exit, and nothing changes; mistakes
// the CLI can see make no request.
func TestMembersBadInput(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	m := srv.MustMember(t, "alice@example.com", keyward.OrgMember, p.ID, keyward.ProjectViewer)
	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}

	for _, tt := range []struct {
		args  []string
		field string
	}{
		{[]string{"members", "update", m.UserID, "--role", "superuser"}, "role"},
		{[]string{"members", "update", m.UserID, "--project", p.ID + "=boss"}, "projects"},
		{[]string{"members", "add", "--email", "carol@example.com", "--role", "boss"}, "role"},
		{[]string{"members", "add", "--email", "not-an-email"}, "email"},
		{[]string{"members", "remove", m.UserID, "--key-handling", "keep", "--yes"}, "key_handling"},
	} {
		_, stderr, code := runBinary(t, env, tt.args...)
		if code != 1 || !strings.Contains(stderr, "INVALID_REQUEST") || !strings.Contains(stderr, "\n  "+tt.field+": ") {
			t.Errorf("keyward %s: exit %d, stderr %q; want INVALID_REQUEST naming %s", strings.Join(tt.args, " "), code, stderr, tt.field)
		}
	}
	if got := memberByEmail(t, srv, "alice@example.com"); got == nil || got.Role != keyward.OrgMember || got.Projects[0].Role != keyward.ProjectViewer {
		t.Errorf("after refused changes: %+v; want the member unchanged", got)
	}
	if memberByEmail(t, srv, "carol@example.com") != nil {
		t.Error("a refused add added carol")
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"members", "update", m.UserID}, "nothing to change"},
		{[]string{"members", "update", m.UserID, "--project", p.ID}, "PROJECT_ID=ROLE"},
		{[]string{"members", "add", "--email", "carol@example.com", "--project", "=admin"}, "PROJECT_ID=ROLE"},
		{[]string{"members", "remove", m.UserID, "--key-handling", "revoke", "--transfer-to", srv.OwnerID, "--yes"}, "--transfer-to goes with --key-handling transfer"},
		{[]string{"members", "add"}, `"email" not set`},
	} {
		_, _, err := orgCLI(t, srv, srv.OrgKey, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("keyward %s: %v; want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	if got := memberByEmail(t, srv, "alice@example.com"); got == nil {
		t.Error("alice was removed")
	}
}

// TestMembersRemove: removing asks for the member's email unless --yes,
// says to pass --yes without a terminal, and revokes or transfers the
// member's keys as asked, which the API then shows.
func TestMembersRemove(t *testing.T) {
	srv := kwtest.NewServer(t)
	ctx := context.Background()
	p := srv.MustProject(t, "Shop")
	keys := orgSDK(t, srv).Org().ProjectKeys(p.ID)
	memberWithKey := func(email string) (*keyward.Member, *keyward.Key) {
		m := srv.MustMember(t, email, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
		return m, srv.MustKey(t, srv.User(m.UserID), p.ID, keyward.CreateKeyInput{Name: email + "'s key"})
	}
	status := func(k *keyward.Key) *keyward.Key {
		t.Helper()
		got, err := keys.Get(ctx, k.ID)
		if err != nil {
			t.Fatalf("get %s: %v", k.ID, err)
		}
		return got
	}

	alice, aliceKey := memberWithKey("alice@example.com")
	// No terminal: nothing to read on stdin.
	_, stderr, code := runBinary(t, []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}, "members", "remove", alice.UserID)
	if code == 0 || !strings.Contains(stderr, "--yes") || !strings.Contains(stderr, "not removed") {
		t.Errorf("remove without a terminal: exit %d, stderr %q; want a non-zero exit naming --yes", code, stderr)
	}
	_, _, err := orgCLI(t, srv, srv.OrgKey, "ALICE@example.com\n", "members", "remove", alice.UserID)
	if err == nil || !strings.Contains(err.Error(), "not removed") {
		t.Errorf("remove confirmed with another spelling: %v", err)
	}
	if memberByEmail(t, srv, "alice@example.com") == nil || status(aliceKey).Status != keyward.StatusActive {
		t.Fatal("a remove that was not confirmed removed the member or revoked their key")
	}

	out, stderr, err := orgCLI(t, srv, srv.OrgKey, "alice@example.com\n", "members", "remove", alice.UserID)
	if err != nil || !strings.Contains(stderr, "Type their email, alice@example.com") || !strings.Contains(stderr, "revoked") {
		t.Fatalf("remove typed: %v, prompt %q", err, stderr)
	}
	if !strings.Contains(out, "Removed alice@example.com") {
		t.Errorf("remove printed %q", out)
	}
	if memberByEmail(t, srv, "alice@example.com") != nil {
		t.Error("alice is still listed")
	}
	if k := status(aliceKey); k.Status != keyward.StatusRevoked {
		t.Errorf("alice's key after remove: %s, want revoked", k.Status)
	}

	bob, bobKey := memberWithKey("bob@example.com")
	out, _ = mustOrg(t, srv, "members", "remove", bob.UserID, "--key-handling", "revoke", "--yes", "-o", "json")
	var res map[string]any
	mustUnmarshal(t, out, &res)
	if res["removed"] != true || res["key_handling"] != "revoke" {
		t.Errorf("remove -o json = %v", res)
	}
	if k := status(bobKey); k.Status != keyward.StatusRevoked {
		t.Errorf("bob's key after --key-handling revoke: %s, want revoked", k.Status)
	}

	carol, carolKey := memberWithKey("carol@example.com")
	mustOrg(t, srv, "members", "remove", carol.UserID, "--transfer-to", srv.OwnerID, "--yes")
	if k := status(carolKey); k.Status != keyward.StatusActive || k.OwnerUserID == nil || *k.OwnerUserID != srv.OwnerID {
		t.Errorf("carol's key after --transfer-to: %s owned by %v; want active, the owner's", k.Status, k.OwnerUserID)
	}
	if memberByEmail(t, srv, "carol@example.com") != nil {
		t.Error("carol is still listed")
	}

	_, _, err = orgCLI(t, srv, srv.OrgKey, "", "members", "remove", "usr_01J00000000000000000000000")
	if err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Errorf("remove of a stranger: %v", err)
	}
}

// TestInvitations: a new person's link and an existing account's
// invitation are listed; revoking one stops its link, and revoking it again
// is a conflict.
func TestInvitations(t *testing.T) {
	srv := kwtest.NewServer(t)
	out, _ := mustOrg(t, srv, "members", "add", "--email", "alice@example.com", "-o", "json")
	var alice keyward.Member
	mustUnmarshal(t, out, &alice)

	out, _ = mustOrg(t, srv, "members", "invitations", "list")
	if !strings.Contains(out, alice.Invitation.ID) || !strings.Contains(out, "alice@example.com") || strings.Contains(out, "token=") {
		t.Errorf("invitations list:\n%s\nwant alice's invitation, without its link", out)
	}

	// Alice leaves, so her account exists outside the org: adding her
	// again invites her.
	mustOrg(t, srv, "members", "remove", alice.UserID, "--yes")
	out, stderr := mustOrg(t, srv, "members", "add", "--email", "alice@example.com", "--role", "admin")
	if !strings.Contains(out, "Status:") || !strings.Contains(out, "pending") || !strings.Contains(stderr, "already has a keyward account") {
		t.Errorf("add of an existing account: %q / %q; want it pending", out, stderr)
	}
	link := out[strings.Index(out, kwtest.PublicURL):]
	link = strings.TrimSpace(strings.Replace(link, kwtest.PublicURL, srv.URL, 1))
	if code := httpStatus(t, link); code != http.StatusOK {
		t.Fatalf("the invitation link answers %d before the revoke", code)
	}

	var page keyward.Page[keyward.Invitation]
	out, _ = mustOrg(t, srv, "members", "invitations", "list", "-o", "json")
	mustUnmarshal(t, out, &page)
	if len(page.Data) != 1 || page.Data[0].Email != "alice@example.com" || page.Data[0].Role != keyward.OrgAdmin || page.Data[0].URL != "" {
		t.Fatalf("invitations list -o json: %+v; want alice's pending invitation, without its link", page.Data)
	}
	inv := page.Data[0]

	out, _ = mustOrg(t, srv, "members", "invitations", "revoke", inv.ID)
	if !strings.Contains(out, "Revoked invitation "+inv.ID) {
		t.Errorf("revoke printed %q", out)
	}
	if code := httpStatus(t, link); code == http.StatusOK {
		t.Error("the invitation link still works after the revoke")
	}
	if out, _ := mustOrg(t, srv, "members", "invitations", "list"); strings.Contains(out, inv.ID) {
		t.Errorf("the revoked invitation is still listed:\n%s", out)
	}
	_, stderr, code := runBinary(t, []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}, "members", "invitations", "revoke", inv.ID)
	if code != 1 || !strings.Contains(stderr, keyward.CodeConflict) {
		t.Errorf("revoke again: exit %d, %q; want CONFLICT", code, stderr)
	}
	if memberByEmail(t, srv, "alice@example.com") != nil {
		t.Error("alice became a member")
	}
}

// httpStatus is the status of a GET of url.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMembersWriteNeedsScope: an org key without members:write may list
// members but not change them, and the CLI says which key was refused.
func TestMembersWriteNeedsScope(t *testing.T) {
	srv := kwtest.NewServer(t)
	m := srv.MustMember(t, "alice@example.com", keyward.OrgMember, "", "")
	out, _ := mustOrg(t, srv, "keys", "create", "--org", "--name", "reader", "--scopes", keyward.ScopeMembersRead, "-o", "json")
	var reader keyward.Key
	mustUnmarshal(t, out, &reader)
	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + reader.Secret}

	if out, stderr, code := runBinary(t, env, "members", "list"); code != 0 || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("members list with members:read: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{
		{"members", "add", "--email", "bob@example.com"},
		{"members", "update", m.UserID, "--role", "admin"},
		{"members", "remove", m.UserID, "--yes"},
		{"members", "invitations", "revoke", "inv_01J00000000000000000000000"},
	} {
		_, stderr, code := runBinary(t, env, args...)
		if code != 1 || !strings.Contains(stderr, keyward.CodePermissionDenied) || !strings.Contains(stderr, keyward.ScopeMembersWrite) ||
			!strings.Contains(stderr, "KEYWARD_ORG_API_KEY") {
			t.Errorf("keyward %s: exit %d, stderr %q; want PERMISSION_DENIED naming members:write and the key's variable", strings.Join(args, " "), code, stderr)
		}
	}
	if got := memberByEmail(t, srv, "alice@example.com"); got == nil || got.Role != keyward.OrgMember {
		t.Errorf("alice after refused changes: %+v", got)
	}
	if memberByEmail(t, srv, "bob@example.com") != nil {
		t.Error("a refused add added bob")
	}
}

// TestMembersAndProjectsHelpHasExamples: every command of the members and
// projects groups shows an example in its help.
func TestMembersAndProjectsHelpHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range newRootCmd().Commands() {
		if c.Name() == "members" || c.Name() == "projects" {
			walk(c)
		}
	}
}
