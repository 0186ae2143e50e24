package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
)

// TestRevokeConfirmation: without --yes only the exact word REVOKE on stdin
// revokes; anything else sends no revoke request and fails.
func TestRevokeConfirmation(t *testing.T) {
	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantErr   bool
		wantCalls []string
	}{
		{"typed REVOKE", "REVOKE\n", nil, false, []string{"GET /v1/keys/key_1", "POST /v1/keys/key_1/revoke"}},
		{"REVOKE without newline", "REVOKE", nil, false, []string{"GET /v1/keys/key_1", "POST /v1/keys/key_1/revoke"}},
		{"lower case", "revoke\n", nil, true, []string{"GET /v1/keys/key_1"}},
		{"no", "no\n", nil, true, []string{"GET /v1/keys/key_1"}},
		{"empty stdin", "", nil, true, []string{"GET /v1/keys/key_1"}},
		{"--yes", "", []string{"--yes"}, false, []string{"POST /v1/keys/key_1/revoke"}},
		{"-y with a reason", "", []string{"-y", "--reason", "leaked"}, false, []string{"POST /v1/keys/key_1/revoke"}},
		{"org key on a project", "REVOKE\n", []string{"--project", "prj_1"}, false,
			[]string{"GET /v1/org/projects/prj_1/keys/key_1", "POST /v1/org/projects/prj_1/keys/key_1/revoke"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			args := append([]string{"keys", "revoke", "key_1"}, tt.args...)
			stdout, stderr, err := runCLI(t, api.URL, cliProjectKey, cliOrgKey, tt.stdin, args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCalls, api.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if !slices.Contains(tt.args, "--yes") && !slices.Contains(tt.args, "-y") {
				if !strings.Contains(stderr, "Type REVOKE") || !strings.Contains(stderr, `"CI deploys"`) {
					t.Errorf("prompt %q does not say what will be revoked", stderr)
				}
			}
			if !tt.wantErr && !strings.Contains(stdout, "Revoked key key_1") {
				t.Errorf("stdout = %q", stdout)
			}
		})
	}
}

func TestRevokeAlreadyRevoked(t *testing.T) {
	api := newFakeAPI(t)
	_, stderr, err := runCLI(t, api.URL, cliProjectKey, "", "", "keys", "revoke", "key_gone")
	if err != nil || !strings.Contains(stderr, "already revoked") {
		t.Errorf("err = %v, stderr = %q", err, stderr)
	}
	if diff := cmp.Diff([]string{"GET /v1/keys/key_gone"}, api.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRevokeUnknownKeyAsksNothing(t *testing.T) {
	api := newFakeAPI(t)
	_, stderr, err := runCLI(t, api.URL, cliProjectKey, "", "REVOKE\n", "keys", "revoke", "key_nope")
	if err == nil || !strings.HasPrefix(describe(err), "NOT_FOUND") || strings.Contains(stderr, "Type REVOKE") {
		t.Errorf("err = %v, stderr = %q; want NOT_FOUND before any prompt", err, stderr)
	}
}

// TestJSONOutput: --output json prints the API object, as valid JSON, on
// stdout, and nothing else there.
func TestJSONOutput(t *testing.T) {
	tests := []struct {
		args   []string
		wantID string // of the object, or of data[0] for a list
	}{
		{[]string{"keys", "list", "--output", "json"}, "key_1"},
		{[]string{"keys", "get", "key_1", "-o", "json"}, "key_1"},
		{[]string{"keys", "create", "--name", "ci", "-o", "json"}, "key_new"},
		{[]string{"keys", "rotate", "key_1", "-o", "json"}, "key_2"},
		{[]string{"keys", "revoke", "key_1", "--yes", "-o", "json"}, "key_1"},
		{[]string{"projects", "list", "-o", "json"}, "prj_1"},
		{[]string{"projects", "create", "--name", "Shop", "-o", "json"}, "prj_1"},
		{[]string{"whoami", "-o", "json"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api := newFakeAPI(t)
			stdout, _, err := runCLI(t, api.URL, cliProjectKey, cliOrgKey, "", tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ID    string `json:"id"`
				KeyID string `json:"key_id"`
				Data  []struct {
					ID string `json:"id"`
				} `json:"data"`
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
			}
			id := got.ID
			if len(got.Data) > 0 {
				id = got.Data[0].ID
			}
			if tt.args[0] == "whoami" {
				id, tt.wantID = got.KeyID, "key_me"
			}
			if id != tt.wantID {
				t.Errorf("id = %q, want %q in %s", id, tt.wantID, stdout)
			}
		})
	}
}

func TestCreatePrintsSecretOnce(t *testing.T) {
	api := newFakeAPI(t)
	stdout, stderr, err := runCLI(t, api.URL, cliProjectKey, "", "",
		"keys", "create", "--name", "deploys", "--scopes", "keys:read,keys:write", "--expires-in", "720h", "--ip", "10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "kwp_SECRETsecretSECRETsecretSECRET123456"
	if strings.Count(stdout, secret) != 1 {
		t.Errorf("stdout shows the secret %d times, want once:\n%s", strings.Count(stdout, secret), stdout)
	}
	if !strings.Contains(stderr, "will not be shown again") {
		t.Errorf("stderr %q lacks the warning", stderr)
	}
	for _, want := range []string{"deploys", "keys:read, keys:write", "10.0.0.0/8"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCreateBody(t *testing.T) {
	var got keyward.CreateKeyInput
	api := newFakeAPI(t)
	_, _, err := runCLI(t, api.URL, cliProjectKey, "", "",
		"keys", "create", "--name", "deploys", "--scopes", "a,b", "--expires-in", "30d", "--ip", "10.0.0.0/8", "--ip", "::1", "--metadata", "team=ops")
	if err != nil {
		t.Fatal(err)
	}
	api.lastBody(t, &got)
	d := keyward.Duration(720 * time.Hour)
	want := keyward.CreateKeyInput{Name: "deploys", Scopes: []string{"a", "b"}, ExpiresIn: &d,
		IPAllowlist: []string{"10.0.0.0/8", "::1"}, Metadata: map[string]string{"team": "ops"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create body (-want +got):\n%s", diff)
	}
}

func TestRotateGrace(t *testing.T) {
	var got keyward.RotateInput
	api := newFakeAPI(t)
	stdout, stderr, err := runCLI(t, api.URL, cliProjectKey, "", "", "keys", "rotate", "key_1", "--grace", "24h")
	if err != nil {
		t.Fatal(err)
	}
	api.lastBody(t, &got)
	if got.GracePeriod == nil || got.GracePeriod.Std().Hours() != 24 {
		t.Errorf("grace_period = %v, want 24h", got.GracePeriod)
	}
	if !strings.Contains(stdout, "key_2") || !strings.Contains(stdout, "kwp_SECRET") {
		t.Errorf("stdout lacks the new key and secret:\n%s", stdout)
	}
	if !strings.Contains(stderr, "keeps working for 24h.") || !strings.Contains(stderr, "will not be shown again") {
		t.Errorf("stderr = %q", stderr)
	}
	// Written as people write it, whatever way it was given.
	_, stderr, err = runCLI(t, api.URL, cliProjectKey, "", "", "keys", "rotate", "key_1", "--grace", "168h")
	if err != nil || !strings.Contains(stderr, "keeps working for 7d.") {
		t.Errorf("--grace 168h: %v, stderr = %q; want 7d", err, stderr)
	}
}

func TestListTable(t *testing.T) {
	api := newFakeAPI(t)
	stdout, stderr, err := runCLI(t, api.URL, cliProjectKey, "", "", "keys", "list", "--status", "all")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "key_1") ||
		!strings.Contains(lines[1], "kwp_…x7Qa") || !strings.Contains(lines[1], "active") {
		t.Errorf("table:\n%s", stdout)
	}
	if !strings.Contains(stderr, "--cursor cur_2") {
		t.Errorf("stderr %q does not point to the next page", stderr)
	}
}

func TestKeysUseTheRightCredential(t *testing.T) {
	api := newFakeAPI(t)
	if _, _, err := runCLI(t, api.URL, cliProjectKey, cliOrgKey, "", "keys", "get", "key_1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, api.URL, cliProjectKey, cliOrgKey, "", "keys", "get", "key_1", "--project", "prj_1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /v1/keys/key_1", "GET /v1/org/projects/prj_1/keys/key_1"}
	if diff := cmp.Diff(want, api.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if h := api.hdrs[0]; h.Get("X-Api-Key") != cliProjectKey || h.Get("X-Org-Api-Key") != "" {
		t.Errorf("project route headers: %v", h)
	}
	if h := api.hdrs[1]; h.Get("X-Org-Api-Key") != cliOrgKey || h.Get("X-Api-Key") != "" {
		t.Errorf("org route headers: %v", h)
	}
}
