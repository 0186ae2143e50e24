package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every Redis key of a Redis limiter.
const DefaultPrefix = "keyward:rl:"

// incr counts one request atomically: the first request of a window creates
// the counter with an expiry, so a window's key disappears after it ends.
var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// Redis is a fixed-window limiter in Redis: every node that uses the same
// Redis (and prefix) shares one budget per key. Each window of each key is
// one Redis key, <prefix><key>:<window start in Unix ms>.
type Redis struct {
	client redis.Scripter
	prefix string
}

// NewRedis returns a limiter on client; prefix "" means DefaultPrefix.
func NewRedis(client redis.Scripter, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

// Allow counts one request for key in the window of now and reports
// whether it fits in limit. An error means Redis could not count it; the
// caller decides whether to fail open.
func (l *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (Decision, error) {
	start := windowStart(now, window)
	rkey := l.prefix + key + ":" + strconv.FormatInt(start/int64(time.Millisecond), 10)
	// The counter outlives its window by a second, so that a node whose
	// clock is a little behind still finds it.
	ttl := window + time.Second
	n, err := incr.Run(ctx, l.client, []string{rkey}, ttl.Milliseconds()).Int64()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return decide(n, limit, start, window), nil
}
