package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Serve answers on its listener, and when its context ends it shuts down
// cleanly: Serve returns nil, pending last-used times are written and the
// store is closed.
func TestServeAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Config{Database: "sqlite:" + dir + "/k.db"}, kwtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Service.Bootstrap(ctx, service.BootstrapInput{OrgName: "Acme", Email: "o@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	// The listener accepts (into its backlog) before Serve runs, so no
	// waiting is needed before the first request.
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/v1/org/whoami", nil)
	req.Header.Set("x-org-api-key", res.OrgKey.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), res.OrgKey.ID) {
		t.Fatalf("whoami = %d %s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(15 * time.Second): // a hang guard, not a synchronisation
		t.Fatal("Serve did not return after its context ended")
	}

	// The last-used time was flushed on shutdown: reopen and look.
	st, err := OpenStore(context.Background(), "sqlite:"+dir+"/k.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.GetKey(context.Background(), res.OrgKey.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedAt == nil {
		t.Fatal("last_used_at was not written on shutdown")
	}
}

func TestOpenStoreRejectsUnknownURLs(t *testing.T) {
	for _, url := range []string{"", "mysql://x", "sqlite:", "postgres://user:hunter2@127.0.0.1:1/keyward?connect_timeout=1"} {
		_, err := OpenStore(context.Background(), url)
		if err == nil {
			t.Fatalf("OpenStore(%q) = nil error", url)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("OpenStore error leaks a password: %v", err)
		}
	}
}
