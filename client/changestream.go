package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// streamDeadAfter is how long the stream may stay silent before it is
// taken for dead: three of the server's 5-second heartbeats.
const streamDeadAfter = 15 * time.Second

// maxEventBytes bounds one event line; keyward sends at most 500 key ids
// (about 16 KB) per event.
const maxEventBytes = 1 << 20

// changesEvent is the data of a "changes" event of the key change stream.
type changesEvent struct {
	Seq    int64    `json:"seq"`
	KeyIDs []string `json:"key_ids"`
	Live   bool     `json:"live"`
}

// Start checks once that the cache's key can verify keys (see
// Client.CheckVerify: the error names the variable the key came from, or
// the keys:verify scope it lacks) and then runs Run in a new goroutine
// until ctx ends. A service calls it where it starts, and stops when it
// fails:
//
//	if err := lc.Start(ctx); err != nil {
//		log.Fatal(err)
//	}
func (lc *LocalCache) Start(ctx context.Context) error {
	var err error
	if lc.opts.Org {
		err = lc.c.Org().CheckVerify(ctx)
	} else {
		err = lc.c.CheckVerify(ctx)
	}
	if err != nil {
		return err
	}
	go lc.Run(ctx)
	return nil
}

// Run follows keyward's key change stream until ctx ends, reconnecting
// with backoff when it breaks. Verify answers from memory only while Run
// is connected and the stream is live. The log says when the stream is
// lost and when it is back.
func (lc *LocalCache) Run(ctx context.Context) {
	backoff := lc.c.minBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := lc.follow(ctx)
		lc.cache.SetTrusted(false) // forget everything until the stream is back
		if ctx.Err() != nil {
			return
		}
		lc.lost = true
		if time.Since(start) > time.Minute {
			backoff = lc.c.minBackoff // it had been working: retry soon
		}
		lc.opts.Logger.Warn("keyward: key change stream lost; verifying every key with keyward until it is back",
			"err", err, "retry_in", backoff)
		if !lc.c.sleep(ctx.Done(), backoff) {
			return
		}
		backoff = min(2*backoff, lc.c.maxBackoff)
	}
}

// follow reads one connection of the stream until it ends.
func (lc *LocalCache) follow(ctx context.Context) error {
	header, key, err := lc.c.credential(lc.cred)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, lc.c.baseURL.String()+lc.streamPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", lc.c.userAgent)
	req.Header.Set(header, key)
	// The client's own timeout bounds whole requests; a stream is bounded
	// by its heartbeats instead, from the moment it is asked for (a server
	// that never answers is given up like one that falls silent).
	hc := *lc.c.hc
	hc.Timeout = 0
	watchdog := time.AfterFunc(streamDeadAfter, cancel)
	defer watchdog.Stop()
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("keyward: GET %s: %w", lc.streamPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return decodeError(resp, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("keyward: GET %s: answered %q, not an event stream", lc.streamPath, ct)
	}

	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	event := ""
	for lines.Scan() {
		line := lines.Text()
		switch {
		case line == "":
			event = ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:") && event == "changes":
			var e changesEvent
			if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "data:"))), &e); err != nil {
				return fmt.Errorf("keyward: GET %s: bad event: %w", lc.streamPath, err)
			}
			watchdog.Reset(streamDeadAfter)
			lc.apply(e)
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("keyward: GET %s: %w", lc.streamPath, err)
	}
	return fmt.Errorf("keyward: GET %s: the stream ended", lc.streamPath)
}

// apply takes one event into account. The position is stored before the
// keys are forgotten: a load that starts after the forgetting then needs
// an answer at least that fresh to be kept (see Verify), and one that
// started before it is not kept at all (the cache's epoch).
func (lc *LocalCache) apply(e changesEvent) {
	lc.pos.Store(e.Seq)
	if len(e.KeyIDs) > 0 {
		lc.cache.Invalidate(e.KeyIDs, nil)
	}
	lc.cache.SetTrusted(e.Live)
	if e.Live && lc.lost {
		lc.lost = false
		lc.opts.Logger.Info("keyward: key change stream is back; verifying from memory again", "seq", e.Seq)
	}
	if lc.applied != nil {
		lc.applied(e)
	}
}
