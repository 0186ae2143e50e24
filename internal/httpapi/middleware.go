package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/jsonlog"
)

// reqInfo is what one request carries through the middleware: its id, the
// authenticated key (for the log line) and the error it ended with.
type reqInfo struct {
	id        string
	clientID  string // the client's own X-Request-Id, sanitized (see clientRequestID); log only
	client    netip.Addr
	clientStr string // client as text: see clientString
	keyID     string
	err       *keyward.Error
}

// clientString is the client's address as text, made once per request
// when observe could not take it from RemoteAddr.
func (info *reqInfo) clientString() string {
	if info.clientStr == "" {
		info.clientStr = clientaddr.Text(info.client)
	}
	return info.clientStr
}

// reqState is everything observe keeps for one request, in one allocation
// that later requests reuse (see statePool): the request's info, the
// writer that records the status (and through which handlers find the
// state: see stateOf), and the call an API route runs with.
type reqState struct {
	info reqInfo
	sw   statusWriter
	call call
}

// statePool keeps request states for reuse: they are the largest part of
// what a request allocates. A state goes back when observe is done with
// its request, so nothing may keep a pointer into it past that: not a
// goroutine, not the response's header map (its values are slices of
// their own), not a handler's result.
var statePool = sync.Pool{New: func() any { return new(reqState) }}

// stateOf finds the request's state through w, or whatever wraps it; nil
// outside observe.
func stateOf(w http.ResponseWriter) *reqState {
	for {
		switch v := w.(type) {
		case *statusWriter:
			return v.st
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
}

func infoOf(w http.ResponseWriter) *reqInfo {
	if st := stateOf(w); st != nil {
		return &st.info
	}
	return nil
}

// RequestID returns the id of the request whose response w writes (for
// the dashboard's audit events).
func RequestID(w http.ResponseWriter) string { return requestID(w) }

func requestID(w http.ResponseWriter) string {
	if info := infoOf(w); info != nil {
		return info.id
	}
	return ""
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	st     *reqState
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx answers come before the final one
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps the whole API: it gives every request an id of its own
// (a client's X-Request-Id is only logged, as client_request_id: it never
// becomes the id audit events and answers carry), recovers panics into the
// error contract, and logs and measures one line per request. The key
// itself is never logged, only its id.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := keyward.NewSequentialID(keyward.PrefixRequest, start)
		client, clientStr := a.clientOf(r)
		st := statePool.Get().(*reqState)
		*st = reqState{info: reqInfo{id: id, clientID: clientRequestID(r.Header), client: client, clientStr: clientStr}, sw: statusWriter{ResponseWriter: w}}
		info, sw := &st.info, &st.sw
		sw.st = st
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		defer func() {
			if p := recover(); p != nil {
				a.log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", p)
				writeError(sw, r, keyward.Errorf(keyward.CodeInternal, "An internal error occurred"))
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			dur := time.Since(start)
			a.metrics.observe(route, status, dur)
			a.logRequest(r, info, route, status, start, dur)
			*st = reqState{}
			statePool.Put(st)
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes the request's one log line. keyward serve's handler
// (jsonlog) writes request lines in batches, through HandleAttrs.
func (a *API) logRequest(r *http.Request, info *reqInfo, route string, status int, start time.Time, dur time.Duration) {
	level := slog.LevelInfo
	if info.err != nil && info.err.Err != nil && status >= 500 {
		level = slog.LevelError
	}
	h := a.log.Handler()
	ctx := r.Context()
	if !h.Enabled(ctx, level) {
		return
	}
	var buf [10]slog.Attr // on the stack; the record copies them
	attrs := append(buf[:0],
		slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Duration("duration", dur), slog.String("request_id", info.id),
		slog.String("client", info.clientString()),
	)
	if info.clientID != "" {
		attrs = append(attrs, slog.String("client_request_id", info.clientID))
	}
	if info.keyID != "" {
		attrs = append(attrs, slog.String("key_id", info.keyID))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("code", info.err.Code))
		if level == slog.LevelError {
			attrs = append(attrs, slog.String("cause", info.err.Err.Error()))
		}
	}
	if jh, ok := h.(*jsonlog.Handler); ok { // keyward serve's handler: request lines in batches
		_ = jh.HandleAttrs(ctx, start.Add(dur), level, "request", attrs)
		return
	}
	rec := slog.NewRecord(start.Add(dur), level, "request", 0)
	rec.AddAttrs(attrs...)
	_ = h.Handle(ctx, rec)
}

// ClientAddr is the address of the client behind the request whose
// response w writes, as every part of keyward sees it (IP allowlists, the
// throttles, audit events, request logs): the TCP peer, or, when the peer
// is one of the trusted proxies (--trusted-proxies), the client the
// proxies name in X-Forwarded-For or Forwarded (see package clientaddr).
// observe finds it once per request; outside observe it is the peer.
func ClientAddr(w http.ResponseWriter, r *http.Request) netip.Addr {
	if info := infoOf(w); info != nil {
		return info.client
	}
	addr, _ := peerOf(r.RemoteAddr)
	return addr
}

// clientOf finds the request's client (see ClientAddr) and, when it can
// without allocating, its text (else "": see reqInfo.clientString).
func (a *API) clientOf(r *http.Request) (netip.Addr, string) {
	peer, peerStr := peerOf(r.RemoteAddr)
	if !a.proxies.Trusts(peer) {
		return peer, peerStr
	}
	if c := a.proxies.Client(peer, r.Header); c != peer {
		return c, ""
	}
	return peer, peerStr
}

// peerOf parses a RemoteAddr into the peer's address and, when the
// address's text is a part of remote (as it is for every address net/http
// writes, except IPv4 in IPv6), that text: no allocation needed.
func peerOf(remote string) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, _ := netip.ParseAddr(host)
	if addr.Is4() { // dotted quads parse only from their one spelling
		return addr, host
	}
	addr = addr.Unmap()
	var buf [64]byte
	if string(addr.AppendTo(buf[:0])) == host {
		return addr, host
	}
	return addr, ""
}
