package verify

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// table is the cache's index from digests to entries: an open-addressing
// hash table (linear probing) that lookups read without a lock.
//
// A lookup only reads words that writers alone write, so the cores that
// verify keys never take turns owning a cache line, and a key costs about
// three memory reads: the slot's pointer, the slot, the key. (A sync.Map,
// which this replaces, took twice as long per lookup among 100,000 keys:
// its trie is five levels deep there. A map under a read lock is as quick
// for random keys, but every lookup writes the lock's shared word.)
//
// Writers hold the Cache's mutex. They never change a slot in place: they
// put a new slot in, or mark the old one gone and put the tombstone in its
// place. When the slots in use (live and tombstones) pass three quarters
// of the table, the writer builds a new table of the live slots and swaps
// it in. A reader still in the old table sees the same slot values, and a
// slot removed since is marked gone: no lookup returns an entry after its
// removal returned.
type table struct {
	seed  maphash.Seed
	slots []atomic.Pointer[slot] // a power of two of them
	mask  uint64

	// Writers only.
	live int // slots holding entries
	used int // slots not nil: live ones and tombstones
}

// slot is one entry of the table, never modified after it is put in, apart
// from gone.
type slot struct {
	d Digest
	entry
	gone atomic.Bool // removed from the table
}

// tombstone takes the place of a removed slot, so that the probe sequences
// running through it still reach the slots beyond.
var tombstone = new(slot)

// minSlots is the size of an empty table.
const minSlots = 16

// newTable returns an empty table with room for n entries before it grows.
func newTable(seed maphash.Seed, n int) *table {
	size := max(minSlots, 1<<bits.Len(uint(2*n))) // at most half full
	return &table{seed: seed, slots: make([]atomic.Pointer[slot], size), mask: uint64(size - 1)}
}

func (t *table) home(d *Digest) uint64 { return maphash.Bytes(t.seed, d[:]) & t.mask }

// get returns d's slot, or nil.
func (t *table) get(d *Digest) *slot {
	for i := t.home(d); ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == nil {
			return nil
		}
		if s != tombstone && s.d == *d {
			if s.gone.Load() {
				return nil
			}
			return s
		}
	}
}

// put puts s in the table, in place of the slot for the same digest if
// there is one, which it returns marked gone. Writers only; the caller
// grows the table when full reports true.
func (t *table) put(s *slot) (old *slot) {
	free := -1
	for i := t.home(&s.d); ; i = (i + 1) & t.mask {
		cur := t.slots[i].Load()
		if cur == nil {
			if free < 0 {
				free = int(i) //nolint:gosec // G115: i is masked to the table's size
				t.used++
			}
			break
		}
		if cur == tombstone {
			if free < 0 {
				free = int(i) //nolint:gosec // G115: i is masked to the table's size
			}
			continue
		}
		if cur.d == s.d {
			cur.gone.Store(true)
			t.slots[i].Store(s)
			return cur
		}
	}
	t.slots[free].Store(s)
	t.live++
	return nil
}

// full reports whether the table should be rebuilt before its probe
// sequences grow long (or, with no nil slot left, endless).
func (t *table) full() bool { return t.used > len(t.slots)/4*3 }

// remove takes out the slot at i, marked gone, and returns it (nil if i
// holds none). Writers only.
func (t *table) remove(i uint64) *slot {
	s := t.slots[i].Load()
	if s == nil || s == tombstone {
		return nil
	}
	s.gone.Store(true)
	t.slots[i].Store(tombstone)
	t.live--
	return s
}

// index returns where d's slot is, or false. Writers only.
func (t *table) index(d *Digest) (uint64, bool) {
	for i := t.home(d); ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == nil {
			return 0, false
		}
		if s != tombstone && s.d == *d {
			return i, true
		}
	}
}

// rebuilt returns a table of t's live slots, with room to grow. Writers
// only; the caller swaps it in.
func (t *table) rebuilt() *table {
	n := newTable(t.seed, t.live)
	for i := range t.slots {
		if s := t.slots[i].Load(); s != nil && s != tombstone {
			n.put(s)
		}
	}
	return n
}

// clear marks every slot gone, for a table that is being dropped whole.
// Writers only.
func (t *table) clear() {
	for i := range t.slots {
		if s := t.slots[i].Load(); s != nil && s != tombstone {
			s.gone.Store(true)
		}
	}
}
