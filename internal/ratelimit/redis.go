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
	rkey := l.windowKey(key, window, now)
	// The counter outlives its window by a second, so that a node whose
	// clock is a little behind still finds it.
	ttl := window + time.Second
	n, err := incr.Run(ctx, l.client, []string{rkey}, ttl.Milliseconds()).Int64()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return decide(n, limit, start, window), nil
}

// carry raises the counter KEYS[2] to the count of KEYS[1], creating it
// with the expiry ARGV[1] when it is new.
var carry = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n == 0 then return 0 end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > cur then
  if cur == 0 then
    redis.call('SET', KEYS[2], n, 'PX', ARGV[1])
  else
    redis.call('SET', KEYS[2], n, 'KEEPTTL')
  end
end
return n
`)

// Carry is Memory.Carry, for every node that shares this Redis.
func (l *Redis) Carry(ctx context.Context, from string, fromWindow time.Duration, to string, toWindow time.Duration, now time.Time) error {
	ttl := toWindow + time.Second
	keys := []string{l.windowKey(from, fromWindow, now), l.windowKey(to, toWindow, now)}
	if err := carry.Run(ctx, l.client, keys, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}

// windowKey is the Redis key of key's window of now.
func (l *Redis) windowKey(key string, window time.Duration, now time.Time) string {
	return l.prefix + key + ":" + strconv.FormatInt(windowStart(now, window)/int64(time.Millisecond), 10)
}
