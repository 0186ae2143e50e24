package apikey

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerateParseRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{PrefixProject, PrefixOrg} {
		for i := 0; i < 2000; i++ {
			k := Generate(prefix)
			if len(k) != 40 {
				t.Fatalf("len(%q) = %d, want 40", k, len(k))
			}
			got, err := Parse(k)
			if err != nil || got != prefix {
				t.Fatalf("Parse(%q) = %q, %v; want %q, nil", k, got, err, prefix)
			}
			if seen[k] {
				t.Fatalf("duplicate key %q", k)
			}
			seen[k] = true
		}
	}
}

// Every one-character change of a valid key must fail the checksum (or the
// format check): CRC32 detects all single-symbol errors in a 40-byte input.
func TestAnyOneCharChangeFails(t *testing.T) {
	for n := 0; n < 20; n++ {
		k := Generate(PrefixProject)
		for i := 0; i < len(k); i++ {
			for _, c := range []byte(alphabet + "_-.") {
				if c == k[i] {
					continue
				}
				b := []byte(k)
				b[i] = c
				if p, err := Parse(string(b)); err == nil {
					t.Fatalf("Parse(%q) (char %d of %q changed) = %q, nil; want error", b, i, k, p)
				}
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	valid := Generate(PrefixProject)
	for _, s := range []string{
		"", "kwp_", valid[:39], valid + "a", "kwx" + valid[3:], "KWP" + valid[3:],
		strings.Replace(valid, "_", "-", 1), " " + valid[1:], valid[:20] + "é" + valid[22:],
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = nil error, want ErrMalformed", s)
		}
	}
}

func TestChecksumEncoding(t *testing.T) {
	// The checksum of the 34-char body is CRC32 base62, left-padded to 6.
	body := "kwp_" + strings.Repeat("0", 30)
	got := string(appendChecksum(nil, []byte(body)))
	if len(got) != 6 {
		t.Fatalf("checksum %q has length %d", got, len(got))
	}
	if _, err := Parse(body + got); err != nil {
		t.Fatalf("Parse(body+checksum) = %v", err)
	}
}

func TestDigest(t *testing.T) {
	k := Generate(PrefixOrg)
	plain := NewDigester(nil).Digest(k)
	peppered := NewDigester([]byte("pepper")).Digest(k)
	other := NewDigester([]byte("other")).Digest(k)
	if len(plain) != 32 || len(peppered) != 32 {
		t.Fatalf("digest lengths %d, %d; want 32", len(plain), len(peppered))
	}
	if bytes.Equal(plain, peppered) || bytes.Equal(peppered, other) {
		t.Fatal("pepper does not change the digest")
	}
	if !bytes.Equal(peppered, NewDigester([]byte("pepper")).Digest(k)) {
		t.Fatal("digest is not deterministic")
	}
}

func TestHint(t *testing.T) {
	k := Generate(PrefixProject)
	if got, want := Hint(k), "kwp_…"+k[36:]; got != want {
		t.Fatalf("Hint = %q, want %q", got, want)
	}
}

// TestParseChecksAlphabet puts every byte into the random part under a
// checksum that matches: only the base62 digits may pass.
func TestParseChecksAlphabet(t *testing.T) {
	valid := Generate(PrefixProject)
	for c := range 256 {
		body := []byte(valid[:Len-checksumLen])
		body[10] = byte(c)
		s := string(appendChecksum(body, body))
		_, err := Parse(s)
		if want := strings.IndexByte(alphabet, byte(c)) >= 0; (err == nil) != want {
			t.Errorf("Parse with byte %#x in the random part: error %v, want accepted=%v", c, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Generate(PrefixProject))
	f.Add(Generate(PrefixOrg))
	f.Add("kwp_000000000000000000000000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if len(s) != Len || (p != PrefixProject && p != PrefixOrg) || s[:3] != p || s[3] != '_' {
			t.Fatalf("Parse(%q) accepted a key of the wrong shape", s)
		}
		for _, c := range []byte(s[4:]) {
			if strings.IndexByte(alphabet, c) < 0 {
				t.Fatalf("Parse(%q) accepted %q, outside base62", s, c)
			}
		}
		// An accepted key's checksum must be the one we would compute.
		if got := string(appendChecksum(nil, []byte(s[:34]))); got != s[34:] {
			t.Fatalf("Parse(%q) accepted checksum %q, want %q", s, s[34:], got)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Generate(PrefixProject)
	}
}

func BenchmarkParseDigest(b *testing.B) {
	k := Generate(PrefixProject)
	d := NewDigester([]byte("a server pepper"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(k); err != nil {
			b.Fatal(err)
		}
		d.Digest(k)
	}
}
