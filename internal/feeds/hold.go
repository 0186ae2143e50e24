package feeds

import (
	"context"
	"log/slog"
	"time"
)

// maxBackoff is the longest wait between two connection attempts.
const maxBackoff = 2 * time.Second

// hold keeps a feed connected until ctx ends. connect holds one connection
// until it fails or goes silent, and reports whether it was ever up; hold
// then reports the feed down and waits before the next attempt, from first
// doubling to maxBackoff, starting over after a connection that was up. A
// lost connection is logged, and so is the first failed attempt of a run:
// an outage is a line or two, not one every few seconds.
func hold(ctx context.Context, log *slog.Logger, what string, first time.Duration, health func(up bool), connect func() (bool, error)) {
	backoff := first
	quiet := false // a failed attempt of this run is already logged
	for ctx.Err() == nil {
		wasUp, err := connect()
		if ctx.Err() != nil {
			return
		}
		health(false)
		switch {
		case wasUp:
			backoff, quiet = first, false
			log.Warn("invalidation feed ("+what+") lost; reconnecting", "err", err)
		case !quiet:
			quiet = true
			log.Warn("invalidation feed ("+what+") cannot connect; retrying with backoff", "err", err)
		}
		select { // do not spin while the server is unreachable or paused
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// beatDefaults fills in a feed's heartbeat settings left at zero.
func beatDefaults(beat, timeout *time.Duration) {
	if *beat <= 0 {
		*beat = time.Second
	}
	if *timeout <= 0 {
		*timeout = time.Second
	}
}
