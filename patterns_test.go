package keyward_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// DurationPattern, which the OpenAPI document states, accepts what
// ParseDuration reads and refuses what it refuses (but for the bounds on
// days and on the total, which it leaves to the server).
func TestDurationPatternMatchesParse(t *testing.T) {
	re := regexp.MustCompile(keyward.DurationPattern)
	for _, s := range []string{
		"0", "+0", "0s", "90s", "30m", "24h", "7d", "1d12h", "1d0", "+1d", "+1h", "1h30m", "1.5h", "1.h", ".5s",
		"300ms", "10us", "10µs", "10μs", "5ns", "36500d", "0d", "00d", "1d1d",
		"", "d", "-1h", "-1d", "1d-5h", "1d+5h", "x", "7 days", "1dd", "1", "00", "1.5", "h", ".s", "1h ", " 1h",
		"1H", "1 h", "1w", "1y", "--1h", "1d 2h", "+", "+d", "1d+0",
	} {
		_, err := keyward.ParseDuration(s)
		if re.MatchString(s) != (err == nil) {
			t.Errorf("%q: pattern matches %v, ParseDuration error %v", s, re.MatchString(s), err)
		}
	}
}

// IDPattern matches exactly the ids ValidID accepts.
func TestIDPatternMatchesValidID(t *testing.T) {
	id := keyward.NewID(keyward.PrefixUser)
	re := regexp.MustCompile(keyward.IDPattern(keyward.PrefixUser))
	for _, s := range []string{id, strings.ToLower(id), id[:len(id)-1], id + "0", "key" + id[3:], strings.Replace(id, "0", "U", 1), "usr_", ""} {
		if re.MatchString(s) != keyward.ValidID(keyward.PrefixUser, s) {
			t.Errorf("%q: pattern %v, ValidID %v", s, re.MatchString(s), keyward.ValidID(keyward.PrefixUser, s))
		}
	}
}

// ErrorCodes and VerifyCodes, the enums of the OpenAPI document, list
// every Code… and Verify… constant.
func TestCodeListsComplete(t *testing.T) {
	for file, list := range map[string][]string{"errors.go": keyward.ErrorCodes, "key.go": keyward.VerifyCodes} {
		prefix := map[string]string{"errors.go": "Code", "key.go": "Verify"}[file]
		consts := stringConsts(t, file, prefix)
		if len(consts) == 0 {
			t.Fatalf("%s: no %s constants found", file, prefix)
		}
		for name, value := range consts {
			if !slices.Contains(list, value) {
				t.Errorf("%s%s = %q is missing from its list", prefix, strings.TrimPrefix(name, prefix), value)
			}
		}
		if len(list) != len(consts) {
			t.Errorf("%s: the list has %d codes, the file %d constants", file, len(list), len(consts))
		}
	}
}

// stringConsts returns the string constants of file whose names start
// with prefix.
func stringConsts(t *testing.T, file, prefix string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					out[name.Name] = v
				}
			}
		}
	}
	return out
}
