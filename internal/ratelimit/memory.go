package ratelimit

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxEntries bounds a Memory limiter when no bound is given.
const DefaultMaxEntries = 100_000

// Memory is a fixed-window limiter for one node. Its memory is bounded: at
// its maximum it drops the counters whose window has ended and, if that is
// not enough, arbitrary ones (which only ever lets more requests through).
// Counting a request that already has a counter does not allocate.
type Memory struct {
	max int

	mu       sync.Mutex
	counters map[string]*counter
}

type counter struct {
	start  int64 // window start, Unix nanoseconds
	window time.Duration
	n      int64
}

// NewMemory returns a limiter that keeps at most maxEntries counters
// (DefaultMaxEntries when maxEntries <= 0).
func NewMemory(maxEntries int) *Memory {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Memory{max: maxEntries, counters: map[string]*counter{}}
}

// Allow counts one request for key in the window of now and reports
// whether it fits in limit. It never fails.
func (m *Memory) Allow(_ context.Context, key string, limit int, window time.Duration, now time.Time) (Decision, error) {
	start := windowStart(now, window)
	m.mu.Lock()
	c := m.counter(key, start, window, now)
	if c.n <= int64(limit) { // stop counting once refused: no overflow
		c.n++
	}
	n := c.n
	m.mu.Unlock()
	return decide(n, limit, start, window), nil
}

// evict makes room: first every counter whose window has ended, then
// arbitrary ones until a tenth is free. m.mu is held.
func (m *Memory) evict(now time.Time) {
	t := now.UnixNano()
	for k, c := range m.counters {
		if t >= c.start+int64(c.window) {
			delete(m.counters, k)
		}
	}
	for k := range m.counters {
		if len(m.counters) < m.max-m.max/10 {
			break
		}
		delete(m.counters, k)
	}
}

// Len returns how many counters the limiter holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counters)
}

// Carry makes the requests key from has counted in its window of now
// (of length fromWindow) count in key to's window of now (of length
// toWindow) too, unless to has counted more already. A key's budget so
// survives its replacement by rotation and a change of its own window.
func (m *Memory) Carry(_ context.Context, from string, fromWindow time.Duration, to string, toWindow time.Duration, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[from]
	if c == nil || c.window != fromWindow || c.start != windowStart(now, fromWindow) || c.n == 0 {
		return nil
	}
	n := c.n
	t := m.counter(to, windowStart(now, toWindow), toWindow, now)
	t.n = max(t.n, n)
	return nil
}

// counter returns key's counter for the window that starts at start,
// made (or restarted) when it has none for it. m.mu is held.
func (m *Memory) counter(key string, start int64, window time.Duration, now time.Time) *counter {
	c := m.counters[key]
	if c == nil {
		if len(m.counters) >= m.max {
			m.evict(now)
		}
		c = &counter{}
		m.counters[key] = c
	}
	switch {
	case c.start == start && c.window == window:
	case c.window != window && now.UnixNano() < c.start+int64(c.window):
		// The same key under another window while its old one runs (a
		// changed rate limit, or two keys of a rotation sharing a budget):
		// the count goes on, so switching windows never empties it.
		c.start, c.window = start, window
	default:
		c.start, c.window, c.n = start, window, 0
	}
	return c
}
