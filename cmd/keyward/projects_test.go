package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
