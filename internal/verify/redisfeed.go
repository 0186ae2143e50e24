package verify

import (
	"context"
	"log/slog"
	"time"

	"github.com/keyward/keyward"
	"github.com/redis/go-redis/v9"
)

// RedisFeed announces and hears key changes over Redis pub/sub. The node
// that commits a change publishes after the commit; if it dies before, the
// other nodes' safety poll of the change log still finds the change.
type RedisFeed struct {
	Client *redis.Client
	Logger *slog.Logger
}

// Announce publishes that key changes were committed.
func (f *RedisFeed) Announce(ctx context.Context) {
	if err := f.Client.Publish(ctx, keyward.KeyChangesChannel, "1").Err(); err != nil {
		f.Logger.Warn("invalidation: publishing to Redis failed; other nodes will find the change by polling", "err", err)
	}
}

// Run implements Feed. go-redis reconnects a subscription by itself and
// would hide the gap, so Run watches every receive: an error or a missing
// pong marks the feed down until the subscription is confirmed again.
func (f *RedisFeed) Run(ctx context.Context, wake func(), health func(up bool)) {
	ps := f.Client.Subscribe(ctx, keyward.KeyChangesChannel)
	defer ps.Close()
	up := false
	setUp := func(v bool) {
		if v != up {
			up = v
			health(v)
		}
	}
	lastPing := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastPing) >= time.Second {
			_ = ps.Ping(ctx) // the pong (or its absence) shows up in Receive
			lastPing = time.Now()
		}
		msg, err := ps.ReceiveTimeout(ctx, 2*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if up {
				f.Logger.Warn("invalidation feed (Redis) lost; reconnecting", "err", err)
			}
			setUp(false)
			select { // go-redis reconnects on the next call; don't spin
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				setUp(true) // the watcher catches up on the health change
			}
		case *redis.Message:
			wake()
		case *redis.Pong:
		}
	}
}
