package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/jsonlog"
)

// reqInfo is what one request carries through the middleware: its id, the
// authenticated key (for the log line) and the error it ended with.
type reqInfo struct {
	id        string
	client    netip.Addr
	clientStr string // client as text, made on first use
	keyID     string
	err       *keyward.Error
}

// clientString is the client's address as text, made once per request.
func (info *reqInfo) clientString() string {
	if info.clientStr == "" {
		info.clientStr = info.client.String()
	}
	return info.clientStr
}

type ctxKey struct{}

// reqState is everything observe keeps for one request, in one allocation:
// the request's info, the writer that records the status, the context that
// carries the info (see Value) and the X-Request-Id header value.
type reqState struct {
	info   reqInfo
	sw     statusWriter
	ctx    reqContext
	idHead [1]string
}

// reqContext is the request's context with its info attached, as
// context.WithValue would do, without an allocation of its own.
type reqContext struct {
	context.Context
	info *reqInfo
}

func (c *reqContext) Value(key any) any {
	if key == (ctxKey{}) {
		return c.info
	}
	return c.Context.Value(key)
}

func infoOf(r *http.Request) *reqInfo {
	info, _ := r.Context().Value(ctxKey{}).(*reqInfo)
	return info
}

// RequestID returns the id of the request r (for the dashboard's pages).
func RequestID(r *http.Request) string { return requestID(r) }

func requestID(r *http.Request) string {
	if info := infoOf(r); info != nil {
		return info.id
	}
	return ""
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
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

// observe wraps the whole API: it gives every request an id (kept from a
// well-formed incoming X-Request-Id), recovers panics into the error
// contract, and logs and measures one line per request. The key itself is
// never logged, only its id.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !keyward.ValidID(keyward.PrefixRequest, id) {
			id = keyward.NewSequentialID(keyward.PrefixRequest, start)
		}
		st := &reqState{info: reqInfo{id: id, client: ClientAddr(r)}, sw: statusWriter{ResponseWriter: w}}
		info, sw := &st.info, &st.sw
		st.ctx = reqContext{Context: r.Context(), info: info}
		r = r.WithContext(&st.ctx)
		st.idHead[0] = id
		w.Header()["X-Request-Id"] = st.idHead[:]
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
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes the request's one log line. The line is written for
// every request, so its attributes live on the stack, and keyward's own
// handler takes them without a slog.Record (whose attributes past the
// fifth need a slice of their own).
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
	var buf [9]slog.Attr // on the stack; the record copies them
	attrs := append(buf[:0],
		slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Duration("duration", dur), slog.String("request_id", info.id),
		slog.String("client", info.clientString()),
	)
	if info.keyID != "" {
		attrs = append(attrs, slog.String("key_id", info.keyID))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("code", info.err.Code))
		if level == slog.LevelError {
			attrs = append(attrs, slog.String("cause", info.err.Err.Error()))
		}
	}
	if jh, ok := h.(*jsonlog.Handler); ok { // keyward serve's handler: no record to build
		_ = jh.HandleAttrs(ctx, start.Add(dur), level, "request", attrs)
		return
	}
	rec := slog.NewRecord(start.Add(dur), level, "request", 0)
	rec.AddAttrs(attrs...)
	_ = h.Handle(ctx, rec)
}

// clientAddr is the peer's address, computed once per request by observe.
func clientAddr(r *http.Request) netip.Addr {
	if info := infoOf(r); info != nil {
		return info.client
	}
	return ClientAddr(r)
}

// ClientAddr is the peer's address, as every part of keyward sees it.
// keyward does not trust forwarding headers: put it behind a proxy that
// connects from the client's address, or add the proxy's addresses to the
// allowlists.
func ClientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, _ := netip.ParseAddr(host)
	return addr.Unmap()
}
