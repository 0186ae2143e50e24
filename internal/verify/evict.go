package verify

import "math/rand/v2"

// digests is the set of digests the cache holds, for eviction: a slice to
// draw from uniformly and each digest's place in it. Writers only (under
// the Cache's mutex); lookups never touch it.
type digests struct {
	list []Digest
	at   map[Digest]int
	rng  *rand.Rand // nil: the global source; tests seed their own
}

func (s *digests) add(d Digest) {
	if _, ok := s.at[d]; ok {
		return
	}
	if s.at == nil {
		s.at = map[Digest]int{}
	}
	s.at[d] = len(s.list)
	s.list = append(s.list, d)
}

func (s *digests) remove(d Digest) {
	i, ok := s.at[d]
	if !ok {
		return
	}
	last := len(s.list) - 1
	s.list[i] = s.list[last]
	s.at[s.list[i]] = i
	s.list = s.list[:last]
	delete(s.at, d)
}

// pick returns a digest of the set, each as likely as any other. The set
// must not be empty.
func (s *digests) pick() Digest {
	if s.rng != nil {
		return s.list[s.rng.IntN(len(s.list))]
	}
	return s.list[rand.IntN(len(s.list))] //nolint:gosec // G404: which entry to evict; no secret
}

func (s *digests) len() int { return len(s.list) }

func (s *digests) clear() {
	s.list = s.list[:0]
	clear(s.at)
}
