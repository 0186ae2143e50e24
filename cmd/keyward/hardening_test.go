package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveWith runs `keyward serve` with the given environment (besides what
// runServe sets) on a SQLite file in a temp dir and returns the addresses its "keyward listening" and
// "metrics listening" lines name ("" for a line it did not print before
// listening) and the database file's path.
func serveWith(t *testing.T, env map[string]string) (addr, metricsAddr, dbPath string) {
	t.Helper()
	addrs, dbPath := serveListeners(t, env)
	return addrs["keyward listening"], addrs["metrics listening"], dbPath
}

// serveListeners is serveWith, returning the address of every "… listening"
// line printed before "keyward listening", by message.
func serveListeners(t *testing.T, env map[string]string) (addrs map[string]string, dbPath string) {
	t.Helper()
	dbPath = filepath.Join(t.TempDir(), "k.db")
	for k, v := range env {
		t.Setenv(k, v)
	}
	lines, _ := runServe(t, dbPath)
	addrs = map[string]string{}
	for addrs["keyward listening"] == "" && lines.Scan() {
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) != nil {
			continue
		}
		if strings.HasSuffix(l.Msg, " listening") {
			addrs[l.Msg] = l.Addr
		}
	}
	if addrs["keyward listening"] == "" {
		t.Fatal("serve did not start")
	}
	go func() { // keep draining the logs
		for lines.Scan() {
		}
	}()
	return addrs, dbPath
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// With --metrics-addr, /metrics is served on that listener alone; the
// main listener answers 404 there. Without it, /metrics is on the main one.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	addr, metricsAddr, _ := serveWith(t, map[string]string{"KEYWARD_METRICS_ADDR": "127.0.0.1:0"})
	if metricsAddr == "" || metricsAddr == addr {
		t.Fatalf("metrics address %q (main %q): want a listener of its own", metricsAddr, addr)
	}
	if status, _ := get(t, "http://"+addr+"/healthz"); status != 200 { // counted in the main listener's metrics
		t.Errorf("GET /healthz on the main listener: %d", status)
	}
	if status, body := get(t, "http://"+metricsAddr+"/metrics"); status != 200 || !strings.Contains(body, "keyward_") || !strings.Contains(body, `route="GET /healthz"`) {
		t.Fatalf("GET /metrics on the metrics listener: %d %.200s", status, body)
	}
	if status, body := get(t, "http://"+addr+"/metrics"); status != 404 || !strings.Contains(body, `"NOT_FOUND"`) {
		t.Fatalf("GET /metrics on the main listener: %d %.200s, want 404 NOT_FOUND", status, body)
	}
	for _, path := range []string{"/healthz", "/v1/whoami", "/"} {
		if status, _ := get(t, "http://"+metricsAddr+path); status != 404 {
			t.Errorf("GET %s on the metrics listener: %d, want 404", path, status)
		}
	}
	if status, _ := get(t, "http://"+addr+"/healthz"); status != 200 {
		t.Errorf("GET /healthz on the main listener: %d", status)
	}

	t.Run("default", func(t *testing.T) {
		addr, metricsAddr, _ := serveWith(t, map[string]string{"KEYWARD_METRICS_ADDR": ""})
		if metricsAddr != "" {
			t.Fatalf("metrics listening on %s without --metrics-addr", metricsAddr)
		}
		if status, body := get(t, "http://"+addr+"/metrics"); status != 200 || !strings.Contains(body, "keyward_") {
			t.Fatalf("GET /metrics: %d %.200s", status, body)
		}
	})
}

// With --pprof-addr, Go's profiles are served on that listener alone, and
// never on the main one (nor the metrics one); without it, nowhere.
func TestProfilesOnlyOnTheirOwnListener(t *testing.T) {
	addrs, _ := serveListeners(t, map[string]string{"KEYWARD_PPROF_ADDR": "127.0.0.1:0", "KEYWARD_METRICS_ADDR": "127.0.0.1:0"})
	pprofAddr := addrs["profiles listening"]
	if pprofAddr == "" || pprofAddr == addrs["keyward listening"] {
		t.Fatalf("profiles address %q (main %q): want a listener of its own", pprofAddr, addrs["keyward listening"])
	}
	if status, body := get(t, "http://"+pprofAddr+"/debug/pprof/"); status != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("GET /debug/pprof/ on the profiles listener: %d %.200s", status, body)
	}
	if status, body := get(t, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1"); status != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("GET /debug/pprof/goroutine: %d %.200s", status, body)
	}
	for _, a := range []string{addrs["keyward listening"], addrs["metrics listening"]} {
		if status, _ := get(t, "http://"+a+"/debug/pprof/"); status != 404 {
			t.Errorf("GET /debug/pprof/ on %s: %d, want 404", a, status)
		}
	}
	t.Run("default", func(t *testing.T) {
		addrs, _ := serveListeners(t, map[string]string{"KEYWARD_PPROF_ADDR": ""})
		if a, ok := addrs["profiles listening"]; ok {
			t.Fatalf("profiles listening on %s without --pprof-addr", a)
		}
		if status, _ := get(t, "http://"+addrs["keyward listening"]+"/debug/pprof/"); status != 404 {
			t.Fatalf("GET /debug/pprof/ on the main listener: %d, want 404", status)
		}
	})
}

// The database, its WAL and its shared memory file are the owner's alone.
func TestDatabaseFilesAreOwnersOnly(t *testing.T) {
	addr, _, dbPath := serveWith(t, nil)
	if status, _ := get(t, "http://"+addr+"/readyz"); status != 200 {
		t.Fatalf("readyz: %d", status)
	}
	for _, name := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(name), perm)
		}
	}
}
