package outbox_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/outbox"
)

func TestBlocked(t *testing.T) {
	for _, c := range []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true}, {"10.0.0.1", true}, {"172.31.255.255", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"fe80::1", true}, {"fc00::1", true}, {"fd12::1", true},
		{"100.64.0.1", true}, {"0.0.0.0", true}, {"::", true}, {"224.0.0.1", true}, {"ff02::1", true},
		{"255.255.255.255", true}, {"198.18.0.1", true}, {"192.0.2.1", true}, {"::ffff:10.0.0.1", true},
		{"64:ff9b::7f00:1", true}, {"2002:a00:1::", true}, {"64:ff9b:1::a9fe:a9fe", true}, {"::7f00:1", true},
		{"fec0::1", true}, {"::ffff:0:a00:1", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
		{"2606:4700::1111", false}, {"::ffff:8.8.8.8", false}, {"64:ff9b::808:808", false}, {"2002:808:808::", false},
	} {
		if got := outbox.Blocked(netip.MustParseAddr(c.ip)); got != c.blocked {
			t.Errorf("Blocked(%s) = %v, want %v", c.ip, got, c.blocked)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.example.com/k?x=1", false, true},
		{"http://hooks.example.com:8080/k", false, true},
		{"http://127.0.0.1:9000/k", true, true},
		{"http://localhost:9000/k", true, true},
		{"http://127.0.0.1:9000/k", false, false},
		{"http://localhost/k", false, false},
		{"http://[::1]/k", false, false},
		{"ftp://example.com/", true, false},
		{"https://u:p@example.com/", true, false},
		{"https:///nohost", true, false},
		{"mailto:a@example.com", true, false},
		{"https://example.com/#f", true, false},
	} {
		err := outbox.CheckURL(c.url, c.allowPrivate)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, %v) = %v, want ok %v", c.url, c.allowPrivate, err, c.ok)
		}
	}
}

// TestClientRefusesPrivateAddressesWhenItConnects: the address is judged
// after name resolution, at connect time, so a name (or a URL checked
// earlier) that leads to loopback is refused; with the allowance it goes
// through.
func TestClientRefusesPrivateAddressesWhenItConnects(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	urls := []string{srv.URL}
	// A host name that resolves to loopback without being "localhost",
	// when this machine has one (its own name usually does).
	if host, err := os.Hostname(); err == nil {
		if addrs, err := net.LookupHost(host); err == nil && len(addrs) > 0 && netip.MustParseAddr(addrs[0]).IsLoopback() {
			urls = append(urls, "http://"+net.JoinHostPort(host, port)+"/")
		}
	}
	strict := outbox.NewClient(2*time.Second, false)
	for _, u := range urls {
		res, err := strict.Post(u, "application/json", nil)
		if err == nil {
			_ = res.Body.Close()
		}
		if !errors.Is(err, outbox.ErrPrivateAddress) {
			t.Errorf("POST %s without the allowance: %v, want ErrPrivateAddress", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the loopback server was reached %d times", hits)
	}
	res, err := outbox.NewClient(2*time.Second, true).Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("POST with the allowance: %v", err)
	}
	_ = res.Body.Close()
	if hits != 1 {
		t.Fatalf("hits = %d with the allowance", hits)
	}
	t.Logf("checked %d URLs", len(urls))
}

// TestClientFollowsNoRedirect: a 3xx is the answer; its target is never
// asked.
func TestClientFollowsNoRedirect(t *testing.T) {
	reached := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	res, err := outbox.NewClient(2*time.Second, true).Post(redirect.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || reached {
		t.Fatalf("status %d, target reached %v: want 307 and not reached", res.StatusCode, reached)
	}
}
