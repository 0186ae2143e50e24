package keyward

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// base32Bitwise is the definition base32 must match: 130 bits, two leading
// zero bits then raw, five at a time, most significant first.
func base32Bitwise(raw [16]byte) string {
	var out [26]byte
	for i := range out {
		var v byte
		for j := 0; j < 5; j++ {
			p := 5*i + j - 2
			v <<= 1
			if p >= 0 {
				v |= raw[p/8] >> (7 - p%8) & 1
			}
		}
		out[i] = crockford[v]
	}
	return string(out[:])
}

func TestBase32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := [][16]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 10000 {
		var raw [16]byte
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		cases = append(cases, raw)
	}
	for _, raw := range cases {
		if got, want := string(base32(raw)), base32Bitwise(raw); got != want {
			t.Fatalf("base32(%x) = %s, want %s", raw, got, want)
		}
	}
}

// checkIncreasing makes 10,000 ids with next: each must be a valid id
// and sort after the one before.
func checkIncreasing(t *testing.T, name string, next func() string) {
	t.Helper()
	prev := ""
	for range 10000 {
		id := next()
		if !ValidID(PrefixRequest, id) {
			t.Fatalf("%s = %q, not a valid id", name, id)
		}
		if strings.Compare(id, prev) <= 0 {
			t.Fatalf("%s = %q after %q: ids must increase", name, id, prev)
		}
		prev = id
	}
}

func TestNewID(t *testing.T) {
	checkIncreasing(t, "NewID", func() string { return NewID(PrefixRequest) })
}

func TestNewSequentialID(t *testing.T) {
	checkIncreasing(t, "NewSequentialID", func() string {
		before := NewID(PrefixRequest)
		id := NewSequentialID(PrefixRequest, time.Now())
		// The first 10 digits are the millisecond: not before NewID's.
		if id[:4+10] < before[:4+10] {
			t.Fatalf("NewSequentialID = %q made after %q carries an earlier time", id, before)
		}
		return id
	})
}

// TestNewSequentialIDClockBack: a request started before the last id was
// made (its start read earlier, or the wall clock stepped back) still gets
// an id that sorts after it.
func TestNewSequentialIDClockBack(t *testing.T) {
	now := time.Now()
	a := NewSequentialID(PrefixRequest, now)
	b := NewSequentialID(PrefixRequest, now.Add(-time.Hour))
	if b <= a {
		t.Fatalf("NewSequentialID = %q after %q, with the clock an hour back: ids must increase", b, a)
	}
}

// BenchmarkIDs makes ids from two goroutines at once, as requests do.
func BenchmarkIDs(b *testing.B) {
	for name, next := range map[string]func() string{
		"NewID":           func() string { return NewID(PrefixRequest) },
		"NewSequentialID": func() string { return NewSequentialID(PrefixRequest, time.Now()) },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = next()
				}
			})
		})
	}
}
