package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAllowlistBehindNginx runs `keyward serve --trusted-proxies
// 127.0.0.1/32` behind a real nginx that adds the client to
// X-Forwarded-For ($proxy_add_x_forwarded_for), and clients on different
// loopback addresses (127.0.0.2 and 127.0.0.3, bound with
// net.Dialer.LocalAddr). A key allowed for 127.0.0.2/32 works for the one
// and is refused for the other through the proxy; a client cannot pass
// itself off as 127.0.0.2 with its own X-Forwarded-For or Forwarded, through
// nginx or around it. (nginx connects to keyward from 127.0.0.1, the
// trusted address: a client on 127.0.0.1 itself would be trusted too.)
//
// It skips when nginx is not installed, unless KEYWARD_REQUIRE_NGINX=1.
func TestAllowlistBehindNginx(t *testing.T) {
	nginx := findNginx(t)
	dir := t.TempDir()
	orgKey, n := startTrustingNode(t, dir)
	proxyURL := startNginx(t, nginx, dir, strings.TrimPrefix(n.url, "http://"))

	// Set up, directly from 127.0.0.1: a project and a key for 127.0.0.2 only.
	local := clientFrom(t, "127.0.0.1")
	var project struct{ ID string }
	call(t, local, "POST", n.url+"/v1/org/projects", `{"name":"P"}`, 201, &project, "x-org-api-key", orgKey)
	var key struct{ Secret string }
	call(t, local, "POST", n.url+"/v1/org/projects/"+project.ID+"/keys", `{"name":"office","ip_allowlist":["127.0.0.2/32"]}`, 201, &key, "x-org-api-key", orgKey)

	office, other := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	whoami := func(c *http.Client, base string, status int, headers ...string) {
		t.Helper()
		var body struct{ Error struct{ Code string } }
		call(t, c, "GET", base+"/v1/whoami", "", status, &body, append([]string{"x-api-key", key.Secret}, headers...)...)
		if status == 403 && body.Error.Code != "IP_NOT_ALLOWED" {
			t.Fatalf("403 with code %q, want IP_NOT_ALLOWED", body.Error.Code)
		}
	}
	// Through nginx, each client is judged by its own address.
	whoami(office, proxyURL, 200)
	whoami(other, proxyURL, 403)
	// Spoofing through nginx: nginx appends the real address to the
	// client's X-Forwarded-For, and keyward takes the rightmost; a
	// Forwarded header that nginx passes through disagrees with it.
	whoami(other, proxyURL, 403, "X-Forwarded-For", "127.0.0.2")
	whoami(other, proxyURL, 403, "X-Forwarded-For", "127.0.0.2, 127.0.0.2")
	whoami(other, proxyURL, 403, "Forwarded", "for=127.0.0.2")
	whoami(other, proxyURL, 403, "X-Forwarded-For", "127.0.0.2", "Forwarded", "for=127.0.0.2")
	whoami(other, proxyURL, 403, "X-Forwarded-For", "garbage")

	// A key for the gateway host itself (the proxy's address): a client
	// whose forwarded headers cannot be read, or disagree, is no address at
	// all, never the proxy's own, so it cannot pick the gateway's allowlist.
	var gateway struct{ Secret string }
	call(t, local, "POST", n.url+"/v1/org/projects/"+project.ID+"/keys", `{"name":"gateway","ip_allowlist":["127.0.0.1/32"]}`, 201, &gateway, "x-org-api-key", orgKey)
	for _, h := range [][]string{{"Forwarded", "for=unknown"}, {"Forwarded", `for="_gw"`}, {"Forwarded", "for=198.51.100.9"}, {"Forwarded", "x"}} {
		var body struct{ Error struct{ Code string } }
		call(t, other, "GET", proxyURL+"/v1/whoami", "", 403, &body, "x-api-key", gateway.Secret, h[0], h[1])
		if body.Error.Code != "IP_NOT_ALLOWED" {
			t.Fatalf("%s: %s through the proxy: 403 %q, want IP_NOT_ALLOWED", h[0], h[1], body.Error.Code)
		}
	}
	// Around nginx: a peer that is not a trusted proxy is judged by its own
	// address, whatever its headers say.
	whoami(other, n.url, 403, "X-Forwarded-For", "127.0.0.2")
	whoami(other, n.url, 403, "Forwarded", "for=127.0.0.2")
	whoami(office, n.url, 200, "X-Forwarded-For", "127.0.0.3")

	// The audit event of a change made through nginx names the client.
	call(t, office, "POST", proxyURL+"/v1/org/projects/"+project.ID+"/keys", `{"name":"via proxy"}`, 201, nil, "x-org-api-key", orgKey)
	var events struct {
		Data []struct {
			IP     string
			Target struct{ ID string }
		}
	}
	call(t, local, "GET", n.url+"/v1/org/audit-events?action=key.create&limit=1", "", 200, &events, "x-org-api-key", orgKey)
	if len(events.Data) != 1 || events.Data[0].IP != "127.0.0.2" {
		t.Errorf("the last key.create event = %+v, want ip 127.0.0.2", events.Data)
	}
}

// findNginx returns nginx's path, or skips the test (fails it with
// KEYWARD_REQUIRE_NGINX=1, as CI sets).
func findNginx(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "no nginx found (on PATH or /usr/sbin/nginx): apt-get install -y nginx"
	if os.Getenv("KEYWARD_REQUIRE_NGINX") == "1" {
		t.Fatal(msg + " — and KEYWARD_REQUIRE_NGINX=1 makes the reverse proxy test mandatory")
	}
	t.Skip(msg)
	return ""
}

// startNginx runs a private nginx that proxies to upstream, and returns
// its URL.
func startNginx(t *testing.T, nginx, dir, upstream string) string {
	t.Helper()
	return runNginx(t, nginx, filepath.Join(dir, "nginx"), func(addr string) string {
		return fmt.Sprintf(`server {
    listen %s;
    location / {
      proxy_pass http://%s;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`, addr, upstream)
	})
}

// runNginx runs a private nginx (its own config, files and port, in the
// foreground as a child of the test) with prefix as its directory and
// servers(addr) in its http block, addr being the free loopback address
// it is to listen on; it returns "http://" + addr once nginx answers there.
func runNginx(t *testing.T, nginx, prefix string, servers func(addr string) string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  %[2]s
}
`, prefix, servers(addr))
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", prefix, "-c", confPath, "-e", filepath.Join(prefix, "error.log"))
	return startProxy(t, "nginx", cmd, addr, filepath.Join(prefix, "error.log"))
}

// freeAddr returns a free loopback address, for a proxy to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startProxy starts cmd, a proxy named name that is to listen on addr
// and logs to its stderr and logFile (when not ""), kills it when the test
// ends, and returns "http://" + addr once it answers there.
func startProxy(t *testing.T, name string, cmd *exec.Cmd, addr, logFile string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited //nolint:errcheck // killed: the exit status says only that
	})
	errLog := func() string {
		if logFile == "" {
			return stderr.String()
		}
		b, _ := os.ReadFile(logFile)
		return stderr.String() + string(b)
	}
	// Neither proxy says when it listens: try its port until it answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v\n%s", name, err, errLog())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 30 s\n%s", name, addr, errLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clientFrom returns an HTTP client whose connections come from the local
// address ip (any of 127.0.0.0/8 works on loopback).
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// call sends a request and checks its status; into, when not nil, gets the
// JSON body. headers are name, value pairs.
func call(t *testing.T, c *http.Client, method, url, body string, status int, into any, headers ...string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		var shown []string // the headers but the keys
		for i := 0; i+1 < len(headers); i += 2 {
			if !strings.HasSuffix(strings.ToLower(headers[i]), "api-key") {
				shown = append(shown, headers[i]+": "+headers[i+1])
			}
		}
		t.Fatalf("%s %s with %q: status %d, want %d; body %s", method, url, shown, res.StatusCode, status, raw)
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, raw)
		}
	}
}

// startTrustingNode bootstraps an org on a SQLite file in dir and starts a
// `keyward serve` process on it that trusts proxies on 127.0.0.1; it
// returns the org key and the node.
func startTrustingNode(t *testing.T, dir string) (orgKey string, n *node) {
	t.Helper()
	orgKey, db := bootstrapSQLite(t, dir)
	n = startNodeCmd(t, dir, 0, runKeyward("serve", "--addr", "127.0.0.1:0", "--database", db, "--log-format", "json", "--trusted-proxies", "127.0.0.1/32"))
	n.waitListening(t)
	return orgKey, n
}

// bootstrapSQLite runs `keyward bootstrap` on a new SQLite file in dir and
// returns the org key and the database URL.
func bootstrapSQLite(t *testing.T, dir string) (orgKey, db string) {
	t.Helper()
	db = "sqlite:" + filepath.Join(dir, "k.db")
	boot := runKeyward("bootstrap", "--org", "Acme", "--email", "owner@example.com", "--database", db, "--password-stdin")
	boot.Stdin = strings.NewReader("a long enough password\n")
	out, err := boot.Output()
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, stderrOf(err))
	}
	var ids struct {
		OrgAPIKey string `json:"org_api_key"`
	}
	mustUnmarshal(t, string(out), &ids)
	return ids.OrgAPIKey, db
}
