package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// The README's journey through the CLI against a real server on loopback:
// create a project and a key with the org key, use the key, refuse a
// mistyped confirmation, revoke, and see the key refused.
func TestCLIAgainstRealServer(t *testing.T) {
	srv := kwtest.NewServer(t)

	out, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "projects", "create", "--name", "Billing API", "-o", "json")
	if err != nil {
		t.Fatalf("projects create: %v", err)
	}
	var p keyward.Project
	mustUnmarshal(t, out, &p)

	out, stderr, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "keys", "create", "--project", p.ID, "--name", "CI deploys", "-o", "json")
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	var k keyward.Key
	mustUnmarshal(t, out, &k)
	if !strings.HasPrefix(k.Secret, "kwp_") || !strings.Contains(stderr, "not be shown again") {
		t.Fatalf("create printed %q / %q", out, stderr)
	}

	out, _, err = runCLI(t, srv.URL, k.Secret, "", "", "whoami", "-o", "json")
	if err != nil || !strings.Contains(out, k.ID) {
		t.Fatalf("whoami: %v %q", err, out)
	}
	out, _, err = runCLI(t, srv.URL, k.Secret, "", "", "keys", "list")
	if err != nil || !strings.Contains(out, "CI deploys") || strings.Contains(out, k.Secret) {
		t.Fatalf("keys list: %v %q", err, out)
	}

	// A wrong confirmation leaves the key working.
	if _, _, err := runCLI(t, srv.URL, k.Secret, "", "revoke\n", "keys", "revoke", k.ID); err == nil {
		t.Fatal("revoke confirmed by 'revoke' (lower case)")
	}
	if _, _, err := runCLI(t, srv.URL, k.Secret, "", "", "whoami"); err != nil {
		t.Fatalf("the key stopped working after a refused confirmation: %v", err)
	}

	if _, _, err := runCLI(t, srv.URL, k.Secret, "", "REVOKE\n", "keys", "revoke", k.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, _, err = runCLI(t, srv.URL, k.Secret, "", "", "whoami")
	if err == nil || !strings.Contains(err.Error(), keyward.CodeAPIKeyInvalid) {
		t.Fatalf("whoami after revoke: %v, want %s", err, keyward.CodeAPIKeyInvalid)
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output %q: %v", s, err)
	}
}
