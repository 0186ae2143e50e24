package server

import (
	"context"
	"net"
	"testing"
)

// serveLoopback serves srv on a loopback port until the test ends, when
// cancel (the context srv was made with) stops it, and returns its base
// URL. The listener accepts into its backlog at once: no wait is needed
// before the first request.
func serveLoopback(t *testing.T, ctx context.Context, cancel context.CancelFunc, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
