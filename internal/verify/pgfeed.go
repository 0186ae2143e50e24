package verify

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
)

// PGFeed listens for key changes with PostgreSQL LISTEN/NOTIFY on its own
// connection (the store's pool cannot hold a LISTEN).
type PGFeed struct {
	URL    string
	Logger *slog.Logger
}

// Run implements Feed.
func (f *PGFeed) Run(ctx context.Context, wake func(), health func(up bool)) {
	const first = 50 * time.Millisecond
	backoff := first
	for ctx.Err() == nil {
		wasUp, err := f.listen(ctx, wake, health)
		if ctx.Err() != nil {
			return
		}
		health(false)
		if wasUp {
			backoff = first
		}
		f.Logger.Warn("invalidation feed (PostgreSQL LISTEN) lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// listen holds one LISTEN connection until it fails.
func (f *PGFeed) listen(ctx context.Context, wake func(), health func(up bool)) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, f.URL)
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+keyward.KeyChangesChannel); err != nil {
		return false, err
	}
	// Listening: from here on no commit goes unannounced. health wakes the
	// watcher, which catches up with whatever committed before.
	health(true)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		wake()
	}
}
