package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

func TestProjectsDelete(t *testing.T) {
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantErr   bool
		wantCalls []string
	}{
		{"typed DELETE", "DELETE\n", nil, false, []string{"GET /v1/org/projects/prj_1", "DELETE /v1/org/projects/prj_1"}},
		{"anything else", "yes\n", nil, true, []string{"GET /v1/org/projects/prj_1"}},
		{"--yes", "", []string{"--yes"}, false, []string{"DELETE /v1/org/projects/prj_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			args := append([]string{"projects", "delete", "prj_1"}, tt.args...)
			_, _, err := runCLI(t, api.URL, "", cliOrgKey, tt.stdin, args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCalls, api.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProjectsListAndCreate(t *testing.T) {
	api := newFakeAPI(t)
	stdout, _, err := runCLI(t, api.URL, "", cliOrgKey, "", "projects", "list")
	if err != nil || !strings.Contains(stdout, "prj_1") || !strings.Contains(stdout, "shop") {
		t.Errorf("list: err %v, stdout:\n%s", err, stdout)
	}
	stdout, _, err = runCLI(t, api.URL, "", cliOrgKey, "", "projects", "create", "--name", "Shop")
	if err != nil || !strings.Contains(stdout, "prj_1") {
		t.Errorf("create: err %v, stdout:\n%s", err, stdout)
	}
	if h := api.hdrs[0]; h.Get("X-Org-Api-Key") != cliOrgKey {
		t.Errorf("projects list did not send the org key: %v", h)
	}
}

// TestProjectsGetUpdate renames a project and sets and clears its custom
// scopes against a real server; a scope taken away is taken off the keys
// that held it, as the API shows.
func TestProjectsGetUpdate(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop", "invoices:read")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "billing", Scopes: []string{keyward.ScopeKeysRead, "invoices:read"}})

	out, _ := mustOrg(t, srv, "projects", "get", p.ID)
	for _, want := range []string{p.ID, "Shop", "invoices:read"} {
		if !strings.Contains(out, want) {
			t.Errorf("projects get lacks %q:\n%s", want, out)
		}
	}

	mustOrg(t, srv, "projects", "update", p.ID, "--name", "Shop EU", "--scopes", "invoices:read,refunds:create")
	var got keyward.Project
	out, _ = mustOrg(t, srv, "projects", "get", p.ID, "-o", "json")
	mustUnmarshal(t, out, &got)
	if got.Name != "Shop EU" || !slices.Equal(got.CustomScopes, []string{"invoices:read", "refunds:create"}) {
		t.Fatalf("after update: %+v", got)
	}

	out, _ = mustOrg(t, srv, "projects", "update", p.ID, "--no-scopes", "-o", "json")
	mustUnmarshal(t, out, &got)
	if got.Name != "Shop EU" || len(got.CustomScopes) != 0 {
		t.Errorf("update --no-scopes answered %+v; want no custom scopes, the name kept", got)
	}
	stored, err := orgSDK(t, srv).Org().Projects().Get(context.Background(), p.ID)
	if err != nil || len(stored.CustomScopes) != 0 {
		t.Errorf("the API shows %+v, %v; want no custom scopes", stored, err)
	}
	key, err := orgSDK(t, srv).Org().ProjectKeys(p.ID).Get(context.Background(), k.ID)
	if err != nil || !slices.Equal(key.Scopes, []string{keyward.ScopeKeysRead}) {
		t.Errorf("the key's scopes after --no-scopes: %v, %v; want only %s", key.Scopes, err, keyward.ScopeKeysRead)
	}

	env := []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey}
	if _, stderr, code := runBinary(t, env, "projects", "update", p.ID, "--scopes", "Invoices Read"); code != 1 ||
		!strings.Contains(stderr, "INVALID_REQUEST") || !strings.Contains(stderr, "\n  custom_scopes: ") {
		t.Errorf("a bad scope: exit %d, %q; want INVALID_REQUEST naming custom_scopes", code, stderr)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"projects", "update", p.ID}, "nothing to change"},
		{[]string{"projects", "update", p.ID, "--scopes", "a:b", "--no-scopes"}, "not both"},
	} {
		if _, _, err := orgCLI(t, srv, srv.OrgKey, "", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("keyward %s: %v; want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	if _, _, err := orgCLI(t, srv, srv.OrgKey, "", "projects", "get", "prj_01J00000000000000000000000"); err == nil || !strings.HasPrefix(describe(err), keyward.CodeNotFound) {
		t.Errorf("get of an unknown project: %v", err)
	}
}
