package httpapi

import (
	"encoding/json"
	"net/http"
	"time"
)

// ChangeSeqHeader is set on verify answers given from a trusted cache: the
// last key change the answering node had applied. An SDK that caches
// verifications keeps an answer only if this is at least the position of
// its own change stream (client.LocalCache).
const ChangeSeqHeader = "Keyward-Change-Seq"

// MinChangeSeqHeader on a verify request asks for an answer that reflects
// at least every change up to this position (the SDK's stream position);
// the answer's ChangeSeqHeader is then at least as high.
const MinChangeSeqHeader = "Keyward-Min-Change-Seq"

// keyChangesHeartbeat is how often a stream sends an event when nothing
// changed, so that a client notices a dead connection (it gives up after
// a few missed beats) and proxies keep the connection open.
const keyChangesHeartbeat = 5 * time.Second

// keyChangesEvent is the data of each "changes" event of GET
// /v1/key-changes and GET /v1/org/key-changes.
type keyChangesEvent struct {
	// Seq is the last change of the log the stream has read.
	Seq int64 `json:"seq"`
	// KeyIDs are the caller's keys that changed since the previous event:
	// forget what is cached about them.
	KeyIDs []string `json:"key_ids"`
	// Live is true while this node's invalidation feed is up, so that
	// changes reach the stream within milliseconds; while it is false a
	// client must not answer from its cache.
	Live bool `json:"live"`
}

// keyChanges streams key changes as server-sent events until the client
// goes away, the server shuts down, the store cannot be read or the
// caller's own key changes (the client then reconnects and authenticates
// again, so a revoked key cannot keep a stream open).
func (a *API) keyChanges(c *call, projectID string) error {
	ctx := c.r.Context()
	st, err := a.svc.WatchKeyChanges(ctx, c.actor, projectID)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(c.w)
	// The server's ReadTimeout would cancel the request (and end the
	// stream) once it passes; a stream has no body left to read.
	_ = rc.SetReadDeadline(time.Time{})
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.w.WriteHeader(http.StatusOK)

	cache := a.svc.Cache()
	beat := time.NewTicker(keyChangesHeartbeat)
	defer beat.Stop()
	// A key's expiry is not a change: end the stream when the caller's own
	// key expires, by the clock that authentication reads, so that it must
	// authenticate again.
	var expired <-chan time.Time
	if exp := c.actor.Key.ExpiresAt; exp != nil {
		t := time.NewTimer(exp.Sub(a.svc.Now()))
		defer t.Stop()
		expired = t.C
	}
	send := func(e keyChangesEvent) bool {
		if e.KeyIDs == nil {
			e.KeyIDs = []string{}
		}
		data, _ := json.Marshal(e)
		// The server's WriteTimeout would end the stream; each write gets
		// its own deadline instead.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.w.Write(append(append([]byte("event: changes\ndata: "), data...), "\n\n"...)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	read := true // the log is read at once, then whenever this node has applied more of it
	for {
		changed := cache.Changed() // before reading, so no change is missed
		pos, live := cache.Position()
		if pos > st.Position() {
			read = true
		}
		for more := read; more; {
			var ids []string
			var own bool
			var err error
			if ids, own, more, err = st.Next(ctx); err != nil {
				a.log.WarnContext(ctx, "key change stream: reading the change log failed; closing the stream",
					"request_id", requestID(c.w), "err", err)
				return nil
			}
			if !send(keyChangesEvent{Seq: st.Position(), KeyIDs: ids, Live: live && !more}) || own {
				return nil
			}
		}
		if !read && !send(keyChangesEvent{Seq: st.Position(), Live: live}) { // a heartbeat
			return nil
		}
		read = false
		select {
		case <-ctx.Done():
			return nil
		case <-a.closing:
			return nil
		case <-expired:
			return nil
		case <-changed:
		case <-beat.C:
		}
	}
}
