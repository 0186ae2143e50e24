package feeds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyward/keyward"
)

// Postgres listens for key changes with PostgreSQL LISTEN/NOTIFY on its own
// connection (the store's pool cannot hold a LISTEN). Each committed key
// write sends NOTIFY with its change number, so a wake-up says which
// change to wait for.
//
// A LISTEN connection can die without an error: a frozen backend, a
// partition or a NAT that forgot the connection leaves it open and silent.
// So the feed proves it is alive: after each quiet Beat it sends itself a
// NOTIFY on a channel of its own and must hear it back within BeatTimeout,
// and its socket has TCP keepalives and a user timeout. A feed that fails
// that is reported down and replaced.
type Postgres struct {
	URL         string
	Logger      *slog.Logger
	Beat        time.Duration // quiet time before a heartbeat; default 1 s
	BeatTimeout time.Duration // how long a heartbeat may take; default 1 s
}

// FeedApplicationName is the application_name of the feed's connection.
const FeedApplicationName = "keyward-feed"

// Name implements verify.Feed.
func (f *Postgres) Name() string { return "postgres" }

// Run implements verify.Feed.
func (f *Postgres) Run(ctx context.Context, wake func(seq int64), health func(up bool)) {
	beatDefaults(&f.Beat, &f.BeatTimeout)
	hold(ctx, f.Logger, "PostgreSQL LISTEN", 50*time.Millisecond, health, func() (bool, error) {
		return f.listen(ctx, wake, health)
	})
}

// listen holds one LISTEN connection until it fails or goes silent.
func (f *Postgres) listen(ctx context.Context, wake func(seq int64), health func(up bool)) (bool, error) {
	cfg, err := pgx.ParseConfig(f.URL)
	if err != nil {
		return false, err
	}
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: time.Second, Count: 3},
		Control:         userTimeout(f.Beat + f.BeatTimeout),
	}
	cfg.DialFunc = d.DialContext
	// Named, so that an operator (or a test) can find the feeds among the
	// store's connections in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = FeedApplicationName
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	// Closing a dead connection must not wait for it.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	b := make([]byte, 8)
	rand.Read(b)
	self := keyward.KeyChangesChannel + "_beat_" + hex.EncodeToString(b)
	lctx, cancel := context.WithTimeout(ctx, f.BeatTimeout)
	_, err = conn.Exec(lctx, "LISTEN "+keyward.KeyChangesChannel+"; LISTEN "+self)
	cancel()
	if err != nil {
		return false, err
	}
	// Listening: from here on no commit goes unannounced. health wakes the
	// watcher, which catches up with whatever committed before.
	health(true)
	for n := 0; ; n++ {
		wctx, cancel := context.WithTimeout(ctx, f.Beat)
		note, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if note.Channel == keyward.KeyChangesChannel {
				wake(changeNumber(note.Payload))
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err): // quiet: prove the connection is alive
			if err := f.beat(ctx, conn, self, strconv.Itoa(n), wake); err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// beat sends the connection a NOTIFY of its own and waits for it to come
// back, handing on any key change heard meanwhile.
func (f *Postgres) beat(ctx context.Context, conn *pgx.Conn, self, nonce string, wake func(seq int64)) error {
	bctx, cancel := context.WithTimeout(ctx, f.BeatTimeout)
	defer cancel()
	if _, err := conn.Exec(bctx, "SELECT pg_notify($1, $2)", self, nonce); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	for {
		note, err := conn.WaitForNotification(bctx)
		if err != nil {
			return fmt.Errorf("heartbeat not heard back within %v: %w", f.BeatTimeout, err)
		}
		switch note.Channel {
		case self:
			if note.Payload == nonce {
				return nil
			}
		case keyward.KeyChangesChannel:
			wake(changeNumber(note.Payload))
		}
	}
}

// changeNumber reads a NOTIFY's payload: the number of the last change the
// transaction recorded, or 0 when it is not a number.
func changeNumber(payload string) int64 {
	n, err := strconv.ParseInt(payload, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
