package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kwtest"
)

// runProxyCmd runs `keyward proxy args…` in this process until ctx ends;
// its log lines arrive on the returned scanner, its error on done.
func runProxyCmd(ctx context.Context, args ...string) (*bufio.Scanner, <-chan error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetArgs(append([]string{"proxy", "--log-format", "json"}, args...))
		root.SetErr(pw)
		root.SetOut(io.Discard)
		done <- root.ExecuteContext(ctx)
		_ = pw.Close()
	}()
	return bufio.NewScanner(pr), done
}

// A proxy that cannot do its work refuses to start, and says why.
func TestProxyRefusesToStart(t *testing.T) {
	kw := kwtest.NewServer(t)
	p := kw.MustProject(t, "Shop", "orders:read")
	reader := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "reader", Scopes: []string{keyward.ScopeKeysRead}})
	verifier := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "proxy", Scopes: []string{keyward.ScopeKeysVerify}})
	bad := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(bad, []byte("{\"routes\": [\n  {\"match\": \"GET /a\"},\n  {\"match\": \"GET /b\", \"scopes\": [\"Not A Scope\"]}\n]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(client.EnvURL, kw.URL)
	for _, c := range []struct {
		name, key string
		args      []string
		want      []string
	}{
		{"no key", "", []string{"--upstream", "http://127.0.0.1:1"}, []string{client.EnvAPIKey}},
		{"key without keys:verify", reader.Secret, []string{"--upstream", "http://127.0.0.1:1"}, []string{"keys:verify", client.EnvAPIKey}},
		{"bad config", verifier.Secret, []string{"--upstream", "http://127.0.0.1:1", "--config", bad}, []string{bad + ":3:", "Not A Scope"}},
		{"no upstream", verifier.Secret, nil, []string{"--upstream"}},
		{"bad upstream", verifier.Secret, []string{"--upstream", "127.0.0.1:3000"}, []string{"upstream"}},
	} {
		t.Setenv(client.EnvAPIKey, c.key)
		lines, done := runProxyCmd(context.Background(), append(c.args, "--listen", "127.0.0.1:0", "--admin-addr", "")...)
		go func() {
			for lines.Scan() {
			}
		}()
		select {
		case err := <-done:
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %v, want it to name %q", c.name, err, w)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the proxy started", c.name)
		}
	}
}

// The proxy serves, answers on its admin address, and on shutdown lets a
// request under way finish before it returns.
func TestProxyServesAndShutsDownGracefully(t *testing.T) {
	kw := kwtest.NewServer(t)
	p := kw.MustProject(t, "Shop", "orders:read")
	verifier := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "proxy", Scopes: []string{keyward.ScopeKeysVerify}})
	customer := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"}})
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/orders/slow" {
			arrived <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "key "+r.Header.Get(keyward.HeaderKeyID))
	}))
	defer upstream.Close()
	routes := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(routes, []byte(`{"routes": [{"match": "GET /orders/", "scopes": ["orders:read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(client.EnvURL, kw.URL)
	t.Setenv(client.EnvAPIKey, verifier.Secret)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, done := runProxyCmd(ctx, "--listen", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--upstream", upstream.URL, "--config", routes)
	addrs := map[string]string{}
	for addrs["keyward proxy listening"] == "" && lines.Scan() {
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && strings.HasSuffix(l.Msg, " listening") {
			addrs[l.Msg] = l.Addr
		}
	}
	go func() {
		for lines.Scan() {
		}
	}()
	proxyURL, adminURL := "http://"+addrs["keyward proxy listening"], "http://"+addrs["admin listening"]
	if addrs["keyward proxy listening"] == "" || addrs["admin listening"] == "" {
		t.Fatalf("listening lines: %v", addrs)
	}
	get := func(url, key string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(proxyURL+"/orders/1", customer.Secret); code != 200 || body != "key "+customer.ID {
		t.Fatalf("valid key: %d %q", code, body)
	}
	if code, _ := get(proxyURL+"/orders/1", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if code, _ := get(proxyURL+"/admin", customer.Secret); code != 404 {
		t.Fatalf("no route: %d", code)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if code, body := get(adminURL+path, ""); code != 200 || body == "" {
			t.Fatalf("admin %s: %d %q", path, code, body)
		}
	}
	// /readyz turns 200 once the change stream is live (it connects in the
	// background after start): a load balancer polls it just so.
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := get(adminURL+"/readyz", "")
		if code == 200 && strings.Contains(body, `"live"`) {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("admin /readyz: %d %q, want 200 once the stream is live (503 until then)", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	slow := make(chan int, 1)
	go func() { code, _ := get(proxyURL+"/orders/slow", customer.Secret); slow <- code }()
	<-arrived
	cancel() // SIGTERM
	select {
	case err := <-done:
		t.Fatalf("the proxy returned (%v) with a request under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if code := <-slow; code != 200 {
		t.Fatalf("the request under way at shutdown: %d, want 200", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("proxy: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy did not stop")
	}
}
