package feeds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/keyward/keyward"
	"github.com/redis/go-redis/v9"
)

// Redis announces and hears key changes over Redis pub/sub. The node
// that commits a change publishes after the commit; if it dies before, the
// other nodes still hear PostgreSQL's NOTIFY and read the log within their
// lease.
//
// Redis can stop delivering without an error: paused for writes during a
// failover, a publish blocks while subscriptions stay quiet. So the feed
// proves it is alive the way its messages travel: after each quiet Beat it
// publishes a heartbeat on a channel of its own, through Client like an
// announcement, and must hear it back on its subscription within
// BeatTimeout. It is up only once a heartbeat has come back.
type Redis struct {
	// Client publishes. Its context deadlines must bound its calls
	// (redis.Options.ContextTimeoutEnabled).
	Client      *redis.Client
	Logger      *slog.Logger
	Beat        time.Duration // quiet time before a heartbeat; default 1 s
	BeatTimeout time.Duration // how long a heartbeat may take; default 1 s
}

// Name implements verify.Feed.
func (f *Redis) Name() string { return "redis" }

// Announce publishes that key changes were committed.
func (f *Redis) Announce(ctx context.Context) {
	if err := f.Client.Publish(ctx, keyward.KeyChangesChannel, "1").Err(); err != nil {
		f.Logger.Warn("invalidation: publishing to Redis failed; other nodes will hear of the change from PostgreSQL", "err", err)
	}
}

// Run implements verify.Feed. Each subscription is held until it fails, then
// closed and replaced (as Postgres does with its LISTEN connection): go-redis
// would reconnect a subscription by itself and hide the gap.
func (f *Redis) Run(ctx context.Context, wake func(seq int64), health func(up bool)) {
	beatDefaults(&f.Beat, &f.BeatTimeout)
	hold(ctx, f.Logger, "Redis", 100*time.Millisecond, health, func() (bool, error) {
		return f.subscribe(ctx, wake, health)
	})
}

// subscribe holds one subscription until it fails or a heartbeat does not
// come back, and reports whether it was ever up.
func (f *Redis) subscribe(ctx context.Context, wake func(seq int64), health func(up bool)) (bool, error) {
	b := make([]byte, 8)
	rand.Read(b)
	self := keyward.KeyChangesChannel + "_beat_" + hex.EncodeToString(b)
	ps := f.Client.Subscribe(ctx, keyward.KeyChangesChannel, self)
	defer ps.Close()
	up := false
	subscribed := 0
	var (
		nonce  string    // the heartbeat in flight, if any
		sentAt time.Time // when it was sent
		heard  = time.Now()
	)
	for n := 0; ; n++ {
		// A heartbeat goes out once both channels are subscribed and then
		// after every quiet Beat.
		if nonce == "" && subscribed >= 2 && (!up || time.Since(heard) >= f.Beat) {
			nonce, sentAt = strconv.Itoa(n), time.Now()
			pctx, cancel := context.WithTimeout(ctx, f.BeatTimeout)
			err := f.Client.Publish(pctx, self, nonce).Err()
			cancel()
			if err != nil {
				return up, fmt.Errorf("heartbeat: %w", err)
			}
		}
		wait := f.Beat
		if nonce != "" {
			wait = max(f.BeatTimeout-time.Since(sentAt), time.Millisecond)
		}
		msg, err := ps.ReceiveTimeout(ctx, wait)
		var netErr net.Error
		switch {
		case err == nil:
		case errors.As(err, &netErr) && netErr.Timeout():
			if nonce != "" && time.Since(sentAt) >= f.BeatTimeout {
				return up, fmt.Errorf("heartbeat not heard back within %v", f.BeatTimeout)
			}
			if nonce == "" && !up {
				return up, fmt.Errorf("subscription not confirmed within %v", f.Beat)
			}
			continue
		default:
			return up, err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				subscribed++
			}
		case *redis.Message:
			heard = time.Now()
			if m.Channel != self {
				wake(0) // the payload carries no change number
			} else if m.Payload == nonce {
				nonce = ""
				if !up {
					// Proven: the watcher catches up with the log on it.
					up = true
					health(true)
				}
			}
		case *redis.Pong:
		}
	}
}
