package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs README's "Five minutes with keyward" block as
// a person pastes it, in bash, against `keyward serve` on a fresh SQLite
// file in the same folder. Only the build line is left out (this test
// binary is the keyward on PATH), and the server's address replaces
// 127.0.0.1:8080 (KEYWARD_URL points the CLI at it). The files that hold
// secrets must be the owner's only, and the last request must be refused.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server and a shell")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; the walkthrough uses it")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Five minutes with keyward.*?```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no walkthrough block")
	}
	script := string(m[1])
	if !strings.Contains(script, "go build -o bin/keyward ./cmd/keyward") {
		t.Fatal("the walkthrough no longer builds bin/keyward: update this test")
	}

	dir := t.TempDir()
	lines, stop := runServe(t, filepath.Join(dir, "keyward.db"))
	defer stop()
	linkRE := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/setup\?token=`)
	base := ""
	for base == "" && lines.Scan() {
		if m := linkRE.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatal("serve printed no setup link")
	}
	go func() { // keep draining the logs
		for lines.Scan() {
		}
	}()

	// bin/keyward is this test binary standing in for the CLI (TestMain).
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\n" + envRunMain + "=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "keyward"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	script = strings.Replace(script, "go build -o bin/keyward ./cmd/keyward && ", "", 1)
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", base)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "KEYWARD_URL=" + base,
		"KEYWARD_DATABASE=sqlite:" + filepath.Join(dir, "keyward.db")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "API_KEY_INVALID") || !strings.Contains(string(out), "HTTP/1.1 401") {
		t.Errorf("the last request was not refused:\n%s", out)
	}
	for _, name := range []string{"bootstrap.json", "key.json"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600: it holds a secret", name, mode)
		}
	}
}
