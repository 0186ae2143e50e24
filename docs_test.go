package keyward_test

import (
	"bytes"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The documentation is part of the contract: a link that leads nowhere is
// a broken promise. These tests read every Markdown file of the
// repository.

// inlineLink finds [text](target) and ![alt](target), with an optional
// "title"; refLink finds reference definitions ("[name]: target").
var (
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
)

// TestDocLinksResolve fails on a relative link in a Markdown file whose
// target file is missing, or whose #fragment names no heading of a
// Markdown target.
func TestDocLinksResolve(t *testing.T) {
	files := markdownFiles(t)
	if len(files) == 0 {
		t.Fatal("no Markdown files found")
	}
	checked := 0
	for _, file := range files {
		for _, target := range links(t, file) {
			if isExternal(target) {
				continue
			}
			checked++
			rest, fragment, _ := strings.Cut(target, "#")
			rest, _, _ = strings.Cut(rest, "?")
			dest := file // a bare "#fragment" points into the file itself
			if rest != "" {
				p, err := url.PathUnescape(rest)
				if err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(p))
				if strings.HasPrefix(p, "/") {
					t.Errorf("%s: link %q is absolute; use a path relative to the file", file, target)
					continue
				}
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %q: %s does not exist", file, target, dest)
				continue
			}
			if fragment != "" && strings.HasSuffix(dest, ".md") && !headingAnchors(t, dest)[fragment] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, target, dest, fragment)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link parser is broken")
	}
}

// TestDocsIndexListsEveryDoc fails when a file in docs/ is not linked
// from the index, docs/README.md.
func TestDocsIndexListsEveryDoc(t *testing.T) {
	linked := map[string]bool{}
	for _, target := range links(t, filepath.Join("docs", "README.md")) {
		rest, _, _ := strings.Cut(target, "#")
		linked[strings.TrimSuffix(path.Clean(rest), "/")] = true
	}
	entries, err := os.ReadDir("docs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "README.md" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !linked[e.Name()] {
			t.Errorf("docs/%s is not listed in docs/README.md", e.Name())
		}
	}
}

// TestNoReferencesToOutsideDocuments fails when a tracked file cites a
// section of a specification that is not in the repository: the contract
// is stated in docs/, in the project's own words.
func TestNoReferencesToOutsideDocuments(t *testing.T) {
	// Built at run time, so that this file neither matches itself nor
	// shows up in a plain grep for the word.
	banned := []byte(strings.ToUpper("spec") + " \u00a7")
	for _, file := range trackedFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet in the index
			}
			t.Fatal(err)
		}
		if i := bytes.Index(b, banned); i >= 0 {
			line := 1 + bytes.Count(b[:i], []byte("\n"))
			t.Errorf("%s:%d refers to %q, a document outside the repository", file, line, banned)
		}
	}
}

// markdownFiles lists the repository's Markdown files (tracked ones when
// git can say, else every one under the working directory).
func markdownFiles(t *testing.T) []string {
	var out []string
	for _, f := range trackedFiles(t) {
		if strings.HasSuffix(f, ".md") {
			out = append(out, f)
		}
	}
	return out
}

// trackedFiles lists the files git tracks, and new ones it does not
// ignore, relative to the repository root (this package's directory).
// Without git, or outside a checkout, it walks the tree instead, skipping
// hidden directories and bin/.
func trackedFiles(t *testing.T) []string {
	if out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			files = append(files, filepath.FromSlash(f))
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || p == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// links returns the link targets of a Markdown file, outside code blocks
// and code spans.
func links(t *testing.T, file string) []string {
	var out []string
	for _, line := range proseLines(t, file) {
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
		for _, m := range refLink.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// proseLines returns a Markdown file's lines outside fenced code blocks.
func proseLines(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fence := ""
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```"), strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
		default:
			out = append(out, line)
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub makes for a Markdown file's
// headings: lower case, punctuation dropped, spaces as dashes, a repeated
// heading numbered -1, -2 and so on.
func headingAnchors(t *testing.T, file string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(t, file) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// isExternal reports whether a link target leaves the repository.
func isExternal(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Scheme != ""
}

// TestArchitectureNamesEveryPackage fails when a Go package (a directory
// with Go files other than tests) is missing from README's Architecture
// section, or when the section names a package directory that is gone.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, arch, ok := strings.Cut(string(readme), "\n## Architecture\n")
	if !ok {
		t.Fatal("README.md has no Architecture section")
	}
	arch, _, _ = strings.Cut(arch, "\n## ")
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("\\*\\*`([a-z0-9_/]+)`").FindAllStringSubmatch(arch, -1) {
		named[m[1]] = true
	}
	packages := map[string]bool{}
	for _, f := range trackedFiles(t) {
		f = filepath.ToSlash(f)
		if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") || strings.Contains(f, "testdata/") {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			continue // deleted in the work tree
		}
		dir := path.Dir(f)
		if dir == "." {
			dir = "keyward"
		}
		packages[dir] = true
	}
	for p := range packages {
		if !named[p] {
			t.Errorf("package %s is not named (as **`%s`**) in README's Architecture section", p, p)
		}
	}
	for n := range named {
		if n == "keyward" || strings.HasSuffix(n, "/") {
			continue
		}
		if _, err := os.Stat(n); err != nil {
			t.Errorf("README's Architecture names %s, which does not exist", n)
		}
	}
}
