package keyward_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForwardAuthDocShowsTheTestedFiles fails when docs/forward-auth.md
// does not show every proxy configuration under deploy/forward-auth
// exactly, in a fenced code block of its own: the files are what the
// tests run (nginx, Caddy) or check (Traefik, Envoy), and the document is
// what people copy.
func TestForwardAuthDocShowsTheTestedFiles(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "forward-auth.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]bool{}
	for _, b := range fencedBlocks(string(doc)) {
		blocks[b] = true
	}
	n := 0
	err = filepath.WalkDir(filepath.Join("deploy", "forward-auth"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !blocks[string(b)] {
			t.Errorf("docs/forward-auth.md does not show %s as it is (a fenced block with exactly its content)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("found %d files under deploy/forward-auth, want the nginx, Caddy, Traefik and Envoy ones", n)
	}
}

// fencedBlocks returns the contents of a Markdown file's ``` blocks at
// the start of a line, each with its final newline.
func fencedBlocks(md string) []string {
	var out []string
	var cur *strings.Builder
	for _, line := range strings.SplitAfter(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &strings.Builder{}
		case cur != nil && strings.TrimRight(line, "\n") == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return out
}
