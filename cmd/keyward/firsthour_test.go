package main

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// runBinary runs the keyward binary (this test binary standing in for it,
// see TestMain) with args and the environment variables env added to a
// clean one, and returns its output and exit code.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBinaryIn(t, "", env, args...)
}

// runBinaryIn is runBinary with stdin.
func runBinaryIn(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append([]string{envRunMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// TestUnknownSubcommandExitsNonZero: a mistyped subcommand of any group is
// an error with a suggestion, not the group's help and exit 0; a group
// alone still shows its help.
func TestUnknownSubcommandExitsNonZero(t *testing.T) {
	for _, args := range [][]string{{"keys", "lst"}, {"projects", "lst"}, {"members", "lst"}, {"members", "invitations", "lst"}, {"audit", "lst"}, {"settings", "gt"}, {"nope"}} {
		_, stderr, code := runBinary(t, nil, args...)
		if code == 0 || !strings.Contains(stderr, "unknown command") {
			t.Errorf("keyward %s: exit %d, stderr %q; want a non-zero exit and 'unknown command'", strings.Join(args, " "), code, stderr)
		}
		if strings.Contains(stderr, "keyward: keyward:") {
			t.Errorf("keyward %s: doubled prefix in %q", strings.Join(args, " "), stderr)
		}
	}
	if _, stderr, _ := runBinary(t, nil, "keys", "lst"); !strings.Contains(stderr, "Did you mean this?\n\tlist") {
		t.Errorf("keys lst: %q suggests nothing", stderr)
	}
	stdout, _, code := runBinary(t, nil, "keys")
	if code != 0 || !strings.Contains(stdout, "Available Commands") {
		t.Errorf("keyward keys: exit %d, stdout %q; want its help", code, stdout)
	}
}

// TestErrorsHaveOnePrefix: an SDK error that starts with "keyward:" is
// printed once with it, and a malformed KEYWARD_URL is named.
func TestErrorsHaveOnePrefix(t *testing.T) {
	_, stderr, code := runBinary(t, []string{"KEYWARD_URL=localhost:8080", "KEYWARD_API_KEY=kwp_x"}, "keys", "list")
	if code != 1 || !strings.HasPrefix(stderr, "keyward: invalid base URL") || strings.Contains(stderr, "keyward: keyward:") ||
		!strings.Contains(stderr, "KEYWARD_URL") {
		t.Errorf("exit %d, stderr %q; want one 'keyward: ' and the variable named", code, stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	stdout, _, code := runBinary(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "keyward ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("--version: exit %d, %q; want 'keyward VERSION goVERSION'", code, stdout)
	}
}

// TestHealthcheckHonoursURL: KEYWARD_URL picks the server, as for every
// other command; --url still wins.
func TestHealthcheckHonoursURL(t *testing.T) {
	srv := kwtest.NewServer(t)
	gone := httptest.NewServer(nil)
	gone.Close()
	if _, stderr, code := runBinary(t, []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ADDR=" + strings.TrimPrefix(gone.URL, "http://")}, "healthcheck"); code != 0 {
		t.Errorf("KEYWARD_URL at a ready server: exit %d, %s", code, stderr)
	}
	if _, _, code := runBinary(t, []string{"KEYWARD_URL=" + gone.URL}, "healthcheck"); code != 1 {
		t.Errorf("KEYWARD_URL at a closed port: exit %d, want 1", code)
	}
	if _, stderr, code := runBinary(t, []string{"KEYWARD_URL=" + gone.URL}, "healthcheck", "--url", srv.URL); code != 0 {
		t.Errorf("--url over KEYWARD_URL: exit %d, %s", code, stderr)
	}
}

// TestRefusedKeyNamesItsVariable: a key the server refuses is named by the
// variable it came from.
func TestRefusedKeyNamesItsVariable(t *testing.T) {
	srv := kwtest.NewServer(t)
	unknown := "kwp_0123456789abcdefghijABCDEFGHIJ999999"
	_, _, err := runCLI(t, srv.URL, unknown, "", "", "keys", "list")
	if err == nil || !strings.Contains(describe(err), "API_KEY_INVALID") || !strings.Contains(describe(err), "KEYWARD_API_KEY") {
		t.Errorf("project key: %q; want API_KEY_INVALID naming KEYWARD_API_KEY", describeOrNil(err))
	}
	_, _, err = runCLI(t, srv.URL, "", "kwo_0123456789abcdefghijABCDEFGHIJ999999", "", "projects", "list")
	if err == nil || !strings.Contains(describe(err), "KEYWARD_ORG_API_KEY") {
		t.Errorf("org key: %q; want KEYWARD_ORG_API_KEY named", describeOrNil(err))
	}
	_, _, err = runCLI(t, srv.URL, unknown, "kwo_0123456789abcdefghijABCDEFGHIJ999999", "", "keys", "list", "--project", "prj_x")
	if err == nil || !strings.Contains(describe(err), "KEYWARD_ORG_API_KEY") {
		t.Errorf("keys --project: %q; want KEYWARD_ORG_API_KEY named", describeOrNil(err))
	}
}

func describeOrNil(err error) string {
	if err == nil {
		return "<nil>"
	}
	return describe(err)
}

// TestFieldErrorsArePrinted: every field the server refuses is printed,
// not only "The request is invalid".
func TestFieldErrorsArePrinted(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	_, stderr, code := runBinary(t, []string{"KEYWARD_URL=" + srv.URL, "KEYWARD_ORG_API_KEY=" + srv.OrgKey},
		"keys", "create", "--project", p.ID, "--name", "", "--ip", "not-an-ip", "--metadata", strings.Repeat("k", 300)+"=v")
	if code != 1 || !strings.Contains(stderr, "INVALID_REQUEST") {
		t.Fatalf("exit %d, stderr %q; want INVALID_REQUEST", code, stderr)
	}
	lines := strings.Count(stderr, "\n  ")
	if lines < 2 || !strings.Contains(stderr, "\n  name: ") || !strings.Contains(stderr, "\n  ip_allowlist") {
		t.Errorf("stderr %q; want each field at fault on its own line", stderr)
	}
}

// TestPromptWithoutTerminalSaysYes: with nothing on stdin the revoke and
// delete prompts say how a script confirms.
func TestPromptWithoutTerminalSaysYes(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "ci"})
	_, _, err := runCLI(t, srv.URL, k.Secret, "", "", "keys", "revoke", k.ID)
	if err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("revoke with empty stdin: %v; want advice to pass --yes", err)
	}
	_, _, err = runCLI(t, srv.URL, "", srv.OrgKey, "", "projects", "delete", p.ID)
	if err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("delete with empty stdin: %v; want advice to pass --yes", err)
	}
	if _, _, err := runCLI(t, srv.URL, k.Secret, "", "", "whoami"); err != nil {
		t.Errorf("the key stopped working: %v", err)
	}
}

// TestKeysUpdate changes a key's name and rate limit in place, and shows
// the limit as people write it.
func TestKeysUpdate(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	k := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "ci"})
	out, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "keys", "update", k.ID, "--project", p.ID, "--name", "ci (old)", "--rate-limit", "100/1m")
	if err != nil || !strings.Contains(out, "ci (old)") || !strings.Contains(out, "100 per 1m") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, srv.URL, k.Secret, "", "", "keys", "get", k.ID, "-o", "json")
	var got keyward.Key
	mustUnmarshal(t, out, &got)
	if err != nil || got.Name != "ci (old)" || got.RateLimit == nil || got.RateLimit.Limit != 100 || got.RateLimit.Window.Std() != time.Minute {
		t.Fatalf("stored key = %+v, %v", got, err)
	}
	out, _, err = runCLI(t, srv.URL, "", srv.OrgKey, "", "keys", "update", k.ID, "--project", p.ID, "--no-rate-limit")
	if err != nil || !strings.Contains(out, "Rate limit:") || !strings.Contains(out, "none") {
		t.Errorf("--no-rate-limit: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "keys", "update", k.ID, "--project", p.ID); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("update without flags: %v", err)
	}
	if _, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "keys", "update", k.ID, "--project", p.ID, "--rate-limit", "lots"); err == nil || !strings.Contains(err.Error(), "N/WINDOW") {
		t.Errorf("--rate-limit lots: %v", err)
	}
}

// TestOrgCommands: org keys, members, the audit log and settings from the
// terminal, against a real server.
func TestOrgCommands(t *testing.T) {
	srv := kwtest.NewServer(t)
	org := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", args...)
		if err != nil {
			t.Fatalf("keyward %s: %v", strings.Join(args, " "), describe(err))
		}
		return out
	}

	out := org("keys", "create", "--org", "--name", "deploy bot", "--scopes", "projects:read", "-o", "json")
	var k keyward.Key
	mustUnmarshal(t, out, &k)
	if k.Kind != keyward.KindOrg || !strings.HasPrefix(k.Secret, "kwo_") {
		t.Fatalf("keys create --org made %+v", k)
	}
	if out := org("keys", "list", "--org"); !strings.Contains(out, "deploy bot") {
		t.Errorf("keys list --org:\n%s", out)
	}
	if out := org("members", "list"); !strings.Contains(out, "owner@example.com") || !strings.Contains(out, "owner") {
		t.Errorf("members list:\n%s", out)
	}
	// The test server's clock is its own: --since takes a time here (and a
	// duration back from now in TestParseWhen).
	if out := org("audit", "list", "--org", "--since", "2000-01-01T00:00:00Z", "--action", "key."); !strings.Contains(out, "key.create") {
		t.Errorf("audit list --org:\n%s", out)
	}
	if out := org("settings", "get"); !strings.Contains(out, "Rotation max grace:") || !strings.Contains(out, "7d") || strings.Contains(out, "168h") {
		t.Errorf("settings get:\n%s", out)
	}
	if out := org("settings", "set", "--max-key-lifetime", "90d"); !strings.Contains(out, "90d") {
		t.Errorf("settings set --max-key-lifetime 90d:\n%s", out)
	}
	if out := org("settings", "set", "--no-max-key-lifetime"); !strings.Contains(out, "Max key lifetime:") || strings.Contains(out, "90d") {
		t.Errorf("settings set --no-max-key-lifetime:\n%s", out)
	}
	if _, _, err := runCLI(t, srv.URL, "", srv.OrgKey, "", "audit", "list", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("--since yesterday: %v", err)
	}
}

// TestHelpShowsExamplesAndScopes: the help a newcomer reads lists the
// scopes a key may hold and shows examples.
func TestHelpShowsExamplesAndScopes(t *testing.T) {
	for _, args := range [][]string{{"keys", "create", "--help"}, {"keys", "update", "--help"}, {"keys", "--help"}} {
		out, _, err := runCLI(t, "http://127.0.0.1:1", "", "", "", args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Examples:", keyward.ScopeKeysVerify, keyward.ScopeAuditRead, keyward.ScopeProjectsRead} {
			if !strings.Contains(out, want) {
				t.Errorf("keyward %s lacks %q", strings.Join(args, " "), want)
			}
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2026-01-31T00:00:00Z": time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseWhen("--since", in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWhen("--since", "yesterday", now); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("parseWhen(yesterday) = %v, want an error naming the flag", err)
	}
}
