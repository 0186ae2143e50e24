package apikey

import (
	"strings"
	"testing"
)

// Find reports every key standing alone, with its offset and hint, and no
// look-alike.
func TestFind(t *testing.T) {
	a, b := Generate(PrefixProject), Generate(PrefixOrg)
	bad := []byte(a)
	bad[20] ^= 1 // one character off: the checksum fails
	text := "x=" + a + "\n\"" + b + "\" " + string(bad) + " _" + a + " " + a + "Z"
	got := Find([]byte(text))
	if len(got) != 2 || got[0] != (Found{Offset: 2, Prefix: PrefixProject, Hint: Hint(a)}) || got[1] != (Found{Offset: 2 + Len + 2, Prefix: PrefixOrg, Hint: Hint(b)}) {
		t.Fatalf("Find = %+v", got)
	}
	if got := Find([]byte(strings.Repeat("kwp_", 100))); len(got) != 0 {
		t.Fatalf("Find in noise = %+v", got)
	}
}

// FuzzFind: whatever the text, everything Find reports parses as a key and
// stands where it says.
func FuzzFind(f *testing.F) {
	f.Add("a " + Generate(PrefixProject) + " b")
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range Find([]byte(s)) {
			key := s[k.Offset : k.Offset+Len]
			if p, err := Parse(key); err != nil || p != k.Prefix || Hint(key) != k.Hint {
				t.Fatalf("Find reported %q at %d", key, k.Offset)
			}
		}
	})
}
