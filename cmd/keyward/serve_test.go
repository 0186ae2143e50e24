package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startServe runs `keyward serve` on an empty SQLite store and a loopback
// port, and returns its stderr, line by line, once it printed the setup
// link, with the link's base and token; stop ends serve and waits for it.
// The caller must keep reading lines: serve stalls on a full pipe.
func startServe(t *testing.T) (lines *bufio.Scanner, base, token string, stop func()) {
	t.Helper()
	lines, stop = runServe(t, t.TempDir()+"/k.db")
	linkRE := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/setup\?token=([A-Za-z0-9_-]+)`)
	for lines.Scan() { // the link is printed once the server listens
		if m := linkRE.FindStringSubmatch(lines.Text()); m != nil {
			return lines, m[1], m[2], stop
		}
	}
	t.Fatal("serve printed no setup link")
	return nil, "", "", nil
}

// runServe runs `keyward serve` in this process on the SQLite file dbPath
// and a loopback port, with JSON logs, and returns its stderr line by line
// and a stop that ends it and waits (also run when the test ends). The
// caller must keep reading lines: serve stalls on a full pipe.
func runServe(t *testing.T, dbPath string) (lines *bufio.Scanner, stop func()) {
	t.Helper()
	t.Setenv("KEYWARD_DATABASE", "sqlite:"+dbPath)
	t.Setenv("KEYWARD_ADDR", "127.0.0.1:0")
	t.Setenv("KEYWARD_LOG_FORMAT", "json")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetArgs([]string{"serve"})
		root.SetErr(pw)
		root.SetOut(io.Discard)
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return bufio.NewScanner(pr), stop
}

// On an empty store, serve prints a one-time setup link; the link opens the
// setup page, creates the first owner and org once, and then stops working.
func TestServePrintsAWorkingSetupLink(t *testing.T) {
	lines, base, token, _ := startServe(t)
	go func() { // keep draining the logs
		for lines.Scan() {
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/setup?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "<form") {
		t.Fatalf("setup page: %d %.200s", res.StatusCode, page)
	}
	form := url.Values{"token": {token}, "org": {"Acme"}, "email": {"first@example.com"}, "password": {"first owner password"}}
	post := func() (status int) {
		req, _ := http.NewRequest("POST", base+"/setup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body) // drained so the connection is reused; the status is the answer
		res.Body.Close()
		return res.StatusCode
	}
	if status := post(); status >= 400 {
		t.Fatalf("setup: %d", status)
	}
	if status := post(); status != http.StatusNotFound {
		t.Fatalf("second use of the setup link: %d, want 404", status)
	}
}

// serve writes a log line for every request (README, Configuration), in batches: while
// it runs, within its batching interval, and what is still held back when
// it shuts down (with its shutdown line, or when it closes the log).
func TestServeWritesRequestLines(t *testing.T) {
	lines, base, _, stop := startServe(t)
	request := func() string {
		t.Helper()
		res, err := http.Get(base + "/v1/whoami") // no key: 401, logged all the same
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("whoami without a key: %d", res.StatusCode)
		}
		return res.Header.Get("X-Request-Id")
	}
	logged := make(chan string, 10_000) // serve's lines, read all the time
	go func() {
		for lines.Scan() {
			logged <- lines.Text()
		}
		close(logged)
	}()
	waitFor := func(id string) {
		t.Helper()
		for text := range logged {
			var l struct {
				Route     string `json:"route"`
				RequestID string `json:"request_id"`
			}
			if json.Unmarshal([]byte(text), &l) == nil && l.RequestID == id {
				if l.Route != "GET /v1/whoami" {
					t.Errorf("request line %s", text)
				}
				return
			}
		}
		t.Fatalf("no log line for request %s before serve's output ended", id)
	}
	waitFor(request()) // written by the batching timer, serve still running
	last := request()
	stop() // written on shutdown, if the timer has not come first
	waitFor(last)
}

// A --trusted-proxies entry (flag or KEYWARD_TRUSTED_PROXIES) that is not a
// CIDR or an address stops serve before it listens, naming the entry.
func TestServeRefusesBadTrustedProxies(t *testing.T) {
	t.Setenv("KEYWARD_DATABASE", "sqlite:"+t.TempDir()+"/k.db")
	t.Setenv("KEYWARD_ADDR", "127.0.0.1:0")
	for _, c := range []struct {
		args []string
		env  string
	}{
		{[]string{"serve", "--trusted-proxies", "10.0.0.0/8,proxy.example"}, ""},
		{[]string{"serve"}, "10.0.0.0/8, proxy.example"},
	} {
		t.Setenv("KEYWARD_TRUSTED_PROXIES", c.env)
		root := newRootCmd()
		root.SetArgs(c.args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "proxy.example") {
			t.Errorf("serve %q with KEYWARD_TRUSTED_PROXIES=%q: %v, want an error naming proxy.example", c.args, c.env, err)
		}
	}
}
