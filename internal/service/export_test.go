package service

// HoldHashSlots takes every hash slot of s and every place to wait for
// one, as a flood of sign-ins would, until release is called.
func (s *Service) HoldHashSlots() (release func()) {
	g := s.hashes
	for range cap(g.slots) {
		g.slots <- struct{}{}
	}
	g.waiting.Add(g.maxWaiting)
	return func() {
		g.waiting.Add(-g.maxWaiting)
		for range cap(g.slots) {
			<-g.slots
		}
	}
}
