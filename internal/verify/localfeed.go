package verify

import "context"

// LocalFeed is the feed of a single node (SQLite): this process is the only
// writer, so the service's announcements after its own commits are every
// change there is, and the feed is never down.
type LocalFeed struct {
	ch chan struct{}
}

// NewLocalFeed returns a feed for Announce to wake.
func NewLocalFeed() *LocalFeed { return &LocalFeed{ch: make(chan struct{}, 1)} }

// Announce wakes the watcher; it never blocks (one pending wake-up covers
// any number of commits, since the watcher reads the log to its end).
func (f *LocalFeed) Announce(context.Context) {
	select {
	case f.ch <- struct{}{}:
	default:
	}
}

// Name implements Feed.
func (f *LocalFeed) Name() string { return "local" }

// Run implements Feed.
func (f *LocalFeed) Run(ctx context.Context, wake func(seq int64), health func(up bool)) {
	health(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.ch:
			wake(0)
		}
	}
}
