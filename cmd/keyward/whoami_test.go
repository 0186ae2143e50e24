package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWhoami: the project key wins when both are set; the org key is the
// fallback.
func TestWhoami(t *testing.T) {
	api := newFakeAPI(t)
	stdout, _, err := runCLI(t, api.URL, cliProjectKey, cliOrgKey, "", "whoami")
	if err != nil || !strings.Contains(stdout, "key_me") || !strings.Contains(stdout, "prj_1") {
		t.Errorf("project whoami: err %v, stdout:\n%s", err, stdout)
	}
	stdout, _, err = runCLI(t, api.URL, "", cliOrgKey, "", "whoami")
	if err != nil || !strings.Contains(stdout, "key_org") {
		t.Errorf("org whoami: err %v, stdout:\n%s", err, stdout)
	}
	if diff := cmp.Diff([]string{"GET /v1/whoami", "GET /v1/org/whoami"}, api.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestURLFlagOverridesEnvironment(t *testing.T) {
	api := newFakeAPI(t)
	_, _, err := runCLI(t, "http://127.0.0.1:1", cliProjectKey, "", "", "whoami", "--url", api.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(api.requests()); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}
