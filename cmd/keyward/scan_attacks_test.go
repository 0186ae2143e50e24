package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keyward/keyward/internal/apikey"
)

// A file larger than what scan reads must not pass as clean: a key after
// the first 64 MiB is past what was read, so the scan says so (exit 2)
// instead of exit 0; keys in the part read are still reported.
func TestScanDoesNotPassATruncatedFileAsClean(t *testing.T) {
	early, late := apikey.Generate(apikey.PrefixProject), apikey.Generate(apikey.PrefixOrg)
	p := filepath.Join(t.TempDir(), "big.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1023) + "\n"
	if _, err := f.WriteString(early + "\n" + strings.Repeat(line, 64<<10) + late); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := scanRun(t, "", p)
	if code != 2 || !strings.Contains(stderr, "big.log") || !strings.Contains(stderr, "64 MiB") {
		t.Fatalf("a file past the limit: exit %d, stderr %q; want 2 naming the file and the limit", code, stderr)
	}
	if stdout != p+":1:1: project key "+apikey.Hint(early)+"\n" {
		t.Fatalf("stdout %q: want the key in the part read", stdout)
	}
}

// Keys at the very start and end of stdin, with CRLF line ends, are
// found; FIFOs and symlinks (in the tree or named) are neither read nor
// followed, so scan neither hangs nor leaves the tree.
func TestScanEdgesFIFOsAndSymlinks(t *testing.T) {
	first, last := apikey.Generate(apikey.PrefixProject), apikey.Generate(apikey.PrefixProject)
	out, _, code := scanRun(t, first+"\r\nx\r\n"+last)
	if code != 1 || out != "-:1:1: project key "+apikey.Hint(first)+"\n-:3:1: project key "+apikey.Hint(last)+"\n" {
		t.Fatalf("stdin: exit %d, %q", code, out)
	}

	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.env"), []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.env"), filepath.Join(dir, "link.env")); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := scanRun(t, "", dir, filepath.Join(dir, "pipe"), filepath.Join(dir, "link.env")); code != 0 || out != "" {
		t.Fatalf("a tree with a FIFO and symlinks out of it: exit %d, %q %q", code, out, stderr)
	}
}
