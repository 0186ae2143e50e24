package verify

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"

	"github.com/keyward/keyward"
)

// The table against a plain map, through random puts, replacements,
// removals, evictions and rebuilds: every lookup finds what the map holds,
// and every slot taken out is marked gone, also for a reader still in a
// table that has since been replaced.
func TestTableMatchesAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := newTable(maphash.MakeSeed(), 0)
	model := map[Digest]*slot{}
	var removed []*slot
	digest := func() Digest { // few distinct digests, so that they meet again
		var d Digest
		d[0], d[31] = byte(r.IntN(64)), byte(r.IntN(8))
		return d
	}
	var oldTables []*table
	for step := 0; step < 20_000; step++ {
		switch op := r.IntN(100); {
		case op < 50: // put (a replacement when the digest is there)
			s := &slot{d: digest(), entry: entry{key: &keyward.Key{ID: "key_x"}}}
			old := tab.put(s)
			if old != model[s.d] {
				t.Fatalf("step %d: put replaced %p, the map held %p", step, old, model[s.d])
			}
			if old != nil {
				removed = append(removed, old)
			}
			model[s.d] = s
		case op < 80: // remove by digest
			d := digest()
			i, ok := tab.index(&d)
			if ok != (model[d] != nil) {
				t.Fatalf("step %d: index found %v, the map holds %v", step, ok, model[d] != nil)
			}
			if ok {
				removed = append(removed, tab.remove(i))
				delete(model, d)
			}
		case op < 99: // evict whatever follows a random place
			i := r.Uint64() & tab.mask
			for tab.live > 0 {
				if s := tab.remove(i); s != nil {
					removed = append(removed, s)
					delete(model, s.d)
					break
				}
				i = (i + 1) & tab.mask
			}
		default:
			oldTables = append(oldTables, tab)
			tab = tab.rebuilt()
		}
		if tab.full() {
			oldTables = append(oldTables, tab)
			tab = tab.rebuilt()
		}
		if tab.live != len(model) {
			t.Fatalf("step %d: %d live slots, the map holds %d", step, tab.live, len(model))
		}
		if d := digest(); tab.get(&d) != model[d] {
			t.Fatalf("step %d: get(%x) disagrees with the map", step, d[:1])
		}
	}
	for d, want := range model {
		if got := tab.get(&d); got != want {
			t.Fatalf("get(%x) = %p, want %p", d[:1], got, want)
		}
	}
	for _, s := range removed {
		if !s.gone.Load() {
			t.Fatalf("a removed slot is not marked gone")
		}
		for _, old := range append(oldTables, tab) {
			if got := old.get(&s.d); got == s {
				t.Fatalf("a removed slot is still found (in a table of %d slots)", len(old.slots))
			}
		}
	}
	if len(oldTables) < 5 || len(removed) < 1000 {
		t.Fatalf("the run rebuilt %d times and removed %d slots: too few to test them", len(oldTables), len(removed))
	}
}
