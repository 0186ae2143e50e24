package verify

import (
	"context"
	"errors"
	"log/slog"
	"net"
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

// Run implements Feed. Each subscription is held until it fails, then
// closed and replaced (as PGFeed does with its LISTEN connection): go-redis
// would reconnect a subscription by itself and hide the gap.
func (f *RedisFeed) Run(ctx context.Context, wake func(), health func(up bool)) {
	for ctx.Err() == nil {
		wasUp, err := f.subscribe(ctx, wake, health)
		if ctx.Err() != nil {
			return
		}
		if wasUp {
			health(false)
			f.Logger.Warn("invalidation feed (Redis) lost; reconnecting", "err", err)
		}
		select { // do not spin while Redis is unreachable
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Pings keep a quiet subscription checked: one every pingEvery, and a
// subscription that has answered nothing (no pong, no message) for
// silenceLimit is lost.
const (
	pingEvery    = time.Second
	silenceLimit = 3 * time.Second
)

// subscribe holds one subscription until it fails, and reports whether it
// was ever up.
//
// A receive that times out is not a failure: it only means that nothing
// arrived in that second, and go-redis keeps the connection. (Treating it
// as one marked the feed down after any quiet spell of two seconds, and
// nothing brought it back up: the connection was never replaced, so no new
// subscription was confirmed, and the node kept its cache off for good.)
func (f *RedisFeed) subscribe(ctx context.Context, wake func(), health func(up bool)) (bool, error) {
	ps := f.Client.Subscribe(ctx, keyward.KeyChangesChannel)
	defer ps.Close()
	up := false
	lastHeard, lastPing := time.Now(), time.Time{}
	for {
		if time.Since(lastPing) >= pingEvery {
			if err := ps.Ping(ctx); err != nil {
				return up, err
			}
			lastPing = time.Now()
		}
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		var netErr net.Error
		switch {
		case err == nil:
			lastHeard = time.Now()
		case errors.As(err, &netErr) && netErr.Timeout() && time.Since(lastHeard) < silenceLimit:
			continue
		default:
			return up, err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Confirmed (again, if go-redis replaced the connection
				// unseen): the watcher catches up with the log on it.
				up = true
				health(true)
			}
		case *redis.Message:
			wake()
		case *redis.Pong:
		}
	}
}
