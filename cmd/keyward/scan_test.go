package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/apikey"
)

// scanRun runs `keyward scan args…` as a process with stdin, and returns
// its output and exit status.
func scanRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBinaryIn(t, stdin, nil, append([]string{"scan"}, args...)...)
}

// lookAlike changes one character of key's random part: the checksum no
// longer matches.
func lookAlike(key string) string {
	b := []byte(key)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}

func TestScanFindsKeysByChecksumOnly(t *testing.T) {
	project, org := apikey.Generate(apikey.PrefixProject), apikey.Generate(apikey.PrefixOrg)
	dir := t.TempDir()
	files := map[string]string{
		"config.env":       "# settings\nAPI_KEY=" + project + "\nOTHER=1\n",
		"deep/nested/x.go": "package x\n\nconst k = \"" + org + "\" // oops\n",
		"clean.txt": "look-alikes: " + lookAlike(project) + " kwp_short " + "kwp_" + strings.Repeat("A", 36) + "\n" +
			"inside a longer token: x" + project + " and " + project + "9\n",
		".git/config": project + "\n", // skipped
		"binary.bin":  "\x00\x01" + project,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := scanRun(t, "", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (keys found); stdout %q stderr %q", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := []string{
		filepath.Join(dir, "config.env") + ":2:9: project key " + apikey.Hint(project),
		filepath.Join(dir, "deep/nested/x.go") + ":3:12: org key " + apikey.Hint(org),
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("found:\n%s\nwant:\n%s", stdout, strings.Join(want, "\n"))
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, project) || strings.Contains(out, org) {
			t.Fatal("scan printed a whole key")
		}
	}

	// Nothing found: exit 0. A path that cannot be read: exit 2.
	if out, _, code := scanRun(t, "", filepath.Join(dir, "clean.txt")); code != 0 || out != "" {
		t.Fatalf("a file of look-alikes: exit %d, %q", code, out)
	}
	if _, stderr, code := scanRun(t, "", filepath.Join(dir, "missing")); code != 2 || !strings.Contains(stderr, "missing") {
		t.Fatalf("a missing file: exit %d, %q; want 2", code, stderr)
	}
	// Standard input.
	if out, _, code := scanRun(t, "export KEY="+project+"\n"); code != 1 || out != "-:1:12: project key "+apikey.Hint(project)+"\n" {
		t.Fatalf("stdin: exit %d, %q", code, out)
	}
}

func TestScanWritesSARIF(t *testing.T) {
	key := apikey.Generate(apikey.PrefixProject)
	p := filepath.Join(t.TempDir(), "leak.yaml")
	if err := os.WriteFile(p, []byte("a: 1\nkey: "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, code := scanRun(t, "", "--format", "sarif", p)
	if code != 1 || strings.Contains(stdout, key) {
		t.Fatalf("exit %d; whole key in the output: %v", code, strings.Contains(stdout, key))
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 1 || log.Runs[0].Tool.Driver.Rules[0].ID != "keyward-api-key" {
		t.Fatalf("SARIF: %s", stdout)
	}
	r := log.Runs[0].Results[0]
	loc := r.Locations[0].PhysicalLocation
	if r.RuleID != "keyward-api-key" || loc.Region.StartLine != 2 || loc.Region.StartColumn != 6 || !strings.HasSuffix(loc.ArtifactLocation.URI, "leak.yaml") || !strings.Contains(r.Message.Text, apikey.Hint(key)) {
		t.Fatalf("result: %+v", r)
	}
	// Nothing found is an empty run, exit 0.
	if out, _, code := scanRun(t, "nothing here", "--format", "sarif"); code != 0 || !strings.Contains(out, `"results": []`) {
		t.Fatalf("clean SARIF: exit %d\n%s", code, out)
	}
}

// The pre-commit hook of docs/scanning.md, as written there, stops a
// commit that adds a key and lets a clean one through.
func TestScanPreCommitHookFromTheDocs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "scanning.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(doc), "## As a pre-commit hook")
	_, block, _ := strings.Cut(after, "```sh\n")
	hook, _, _ := strings.Cut(block, "```")
	if !strings.Contains(hook, "keyward scan") {
		t.Fatalf("no hook found in docs/scanning.md: %q", hook)
	}
	// keyward on the PATH is this test binary, running main.
	bin := t.TempDir()
	wrapper := "#!/bin/sh\n" + envRunMain + "=1 exec " + os.Args[0] + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "keyward"), []byte(wrapper), 0o700); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	git := func(args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+repo)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := git("init", "-q"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, ".git", "hooks", "pre-commit"), []byte(hook), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("clean.txt", "no key here\n")
	if err := git("add", "clean.txt"); err != nil {
		t.Fatal(err)
	}
	if err := git("commit", "-q", "-m", "clean"); err != nil {
		t.Fatalf("a clean commit was refused: %v", err)
	}
	key := apikey.Generate(apikey.PrefixProject)
	write("settings.env", "KEY="+key+"\n")
	if err := git("add", "settings.env"); err != nil {
		t.Fatal(err)
	}
	err = git("commit", "-q", "-m", "leak")
	if err == nil || !strings.Contains(err.Error(), apikey.Hint(key)) || strings.Contains(err.Error(), key) {
		t.Fatalf("a commit adding a key: %v; want it refused, naming the hint and not the key", err)
	}
}
