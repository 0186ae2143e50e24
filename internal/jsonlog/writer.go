package jsonlog

import (
	"io"
	"sync"
	"time"
)

// lockedWriter serializes the writes of both paths (this package's and
// slog's), so that lines never interleave. A batching writer also holds
// request lines back, to write many in one system call: a write per
// request costs more than everything else keyward does for a request.
type lockedWriter struct {
	// mu guards the fields below it. wmu is held while writing to w; it is
	// taken before mu is let go, so that writes keep the order of the
	// lines, while new lines are taken in during a write.
	wmu sync.Mutex
	mu  sync.Mutex
	w   io.Writer

	// Batching, when every > 0: request lines wait in pending until it
	// holds batchBytes, until every has passed since the first of them, or
	// until any other line is written (which goes out after them).
	every   time.Duration
	pending []byte
	spare   []byte      // the other buffer, nil while it is being written
	timer   *time.Timer // runs flushTimer; armed while pending is not empty
	closed  bool
}

// BatchEvery is how long keyward serve lets a request line wait to be
// written with others (the every of NewBatchingHandler).
const BatchEvery = 100 * time.Millisecond

// batchBytes is how much a batching writer holds before it writes.
const batchBytes = 64 << 10

// Write writes b at once, after any request lines held back.
func (lw *lockedWriter) Write(b []byte) (int, error) {
	lw.mu.Lock()
	if len(lw.pending) > 0 {
		lw.pending = append(lw.pending, b...)
		if err := lw.flushLocked(); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	lw.wmu.Lock()
	lw.mu.Unlock()
	defer lw.wmu.Unlock()
	return lw.w.Write(b)
}

// writeBatched writes the request line b, or holds it back on a batching
// writer.
func (lw *lockedWriter) writeBatched(b []byte) error {
	if lw.every <= 0 {
		_, err := lw.Write(b)
		return err
	}
	lw.mu.Lock()
	if lw.closed {
		lw.mu.Unlock()
		_, err := lw.Write(b)
		return err
	}
	lw.pending = append(lw.pending, b...)
	if len(lw.pending) >= batchBytes {
		return lw.flushLocked()
	}
	if len(lw.pending) == len(b) { // the first line held back
		if lw.timer == nil {
			lw.timer = time.AfterFunc(lw.every, lw.flushTimer)
		} else {
			lw.timer.Reset(lw.every)
		}
	}
	lw.mu.Unlock()
	return nil
}

// flushTimer writes what is held back when the time has come.
func (lw *lockedWriter) flushTimer() {
	lw.mu.Lock()
	_ = lw.flushLocked()
}

// flushLocked writes the lines held back. It is called with mu held and
// lets it go.
func (lw *lockedWriter) flushLocked() error {
	b := lw.pending
	if len(b) == 0 {
		lw.mu.Unlock()
		return nil
	}
	if lw.timer != nil {
		lw.timer.Stop()
	}
	lw.pending, lw.spare = lw.spare[:0], nil
	lw.wmu.Lock()
	lw.mu.Unlock()
	_, err := lw.w.Write(b)
	lw.wmu.Unlock()
	if cap(b) <= 4*batchBytes { // else a huge line passed through: let it go
		lw.mu.Lock()
		if lw.spare == nil {
			lw.spare = b[:0]
		}
		lw.mu.Unlock()
	}
	return err
}

// close writes what is held back, and waits for a write already under way
// (the timer's); later request lines are written at once.
func (lw *lockedWriter) close() error {
	lw.mu.Lock()
	lw.closed = true
	err := lw.flushLocked()
	lw.wmu.Lock()   // every write took wmu before close took mu: it is done now
	lw.wmu.Unlock() //nolint:staticcheck // SA2001: the empty section is the wait, see above
	return err
}
