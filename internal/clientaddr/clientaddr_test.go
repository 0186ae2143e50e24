package clientaddr

import (
	"net/http"
	"net/netip"
	"testing"
)

var (
	proxy    = netip.MustParseAddr("10.0.0.1")
	stranger = netip.MustParseAddr("198.51.100.9")
)

func trusted(t testing.TB) Proxies {
	t.Helper()
	p, err := ParseProxies([]string{"10.0.0.0/8", " 127.0.0.1 ", "", "2001:db8:ff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClient(t *testing.T) {
	p := trusted(t)
	for _, c := range []struct {
		name string
		peer netip.Addr
		xff  []string // X-Forwarded-For lines
		fwd  []string // Forwarded lines
		want string   // "peer": the peer itself; "none": no address (unreadable headers)
	}{
		{"untrusted peer: headers ignored", stranger, []string{"203.0.113.7"}, []string{"for=203.0.113.7"}, "peer"},
		{"no headers", proxy, nil, nil, "peer"},
		{"empty header", proxy, []string{""}, nil, "peer"},
		{"one address", proxy, []string{"203.0.113.7"}, nil, "203.0.113.7"},
		{"rightmost untrusted", proxy, []string{"192.0.2.1, 203.0.113.7"}, nil, "203.0.113.7"},
		{"trusted hops skipped", proxy, []string{"192.0.2.1, 203.0.113.7, 10.1.2.3, 127.0.0.1"}, nil, "203.0.113.7"},
		{"all trusted: the leftmost", proxy, []string{"10.0.0.9, 10.0.0.8"}, nil, "10.0.0.9"},
		{"several lines", proxy, []string{"192.0.2.1", "203.0.113.7, 10.0.0.2"}, nil, "203.0.113.7"},
		{"walk across lines", proxy, []string{"203.0.113.7", "10.0.0.2"}, nil, "203.0.113.7"},
		{"empty elements", proxy, []string{" , 203.0.113.7 ,,"}, nil, "203.0.113.7"},
		{"IPv4 with port", proxy, []string{"203.0.113.7:5678"}, nil, "203.0.113.7"},
		{"IPv6", proxy, []string{"2001:db8::7"}, nil, "2001:db8::7"},
		{"IPv6 in brackets with port", proxy, []string{"[2001:db8::7]:443"}, nil, "2001:db8::7"},
		{"IPv4-mapped", proxy, []string{"::ffff:203.0.113.7"}, nil, "203.0.113.7"},
		{"trusted IPv6 proxy skipped", proxy, []string{"203.0.113.7, 2001:db8:ff::1"}, nil, "203.0.113.7"},
		{"garbage", proxy, []string{"garbage"}, nil, "none"},
		{"garbage in the walk", proxy, []string{"203.0.113.7, garbage"}, nil, "none"},
		{"garbage behind a trusted hop", proxy, []string{"203.0.113.7, not-an-ip, 10.0.0.2"}, nil, "none"},
		{"garbage left of the answer is not read", proxy, []string{"garbage, 203.0.113.7"}, nil, "203.0.113.7"},
		{"bad port", proxy, []string{"203.0.113.7:http"}, nil, "none"},
		{"too long port", proxy, []string{"203.0.113.7:123456"}, nil, "none"},
		{"bracketed IPv4", proxy, []string{"[203.0.113.7]"}, nil, "none"},
		{"unclosed bracket", proxy, []string{"[2001:db8::7"}, nil, "none"},
		{"junk after bracket", proxy, []string{"[2001:db8::7]x"}, nil, "none"},

		{"Forwarded", proxy, nil, []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"},
		{"Forwarded quoted IPv6 with port", proxy, nil, []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"Forwarded name in any case", proxy, nil, []string{`For="[2001:db8:cafe::17]"`}, "2001:db8:cafe::17"},
		{"Forwarded quoted IPv4 with port", proxy, nil, []string{`for="192.0.2.60:8080"`}, "192.0.2.60"},
		{"Forwarded obfuscated port", proxy, nil, []string{`for="192.0.2.60:_p1"`}, "192.0.2.60"},
		{"Forwarded escaped quote pair", proxy, nil, []string{`for="\192.0.2.60"`}, "192.0.2.60"},
		{"Forwarded rightmost element", proxy, nil, []string{"for=192.0.2.43, for=198.51.100.17"}, "198.51.100.17"},
		{"Forwarded trusted hop skipped", proxy, nil, []string{"for=192.0.2.43, for=10.0.0.5;by=10.0.0.1"}, "192.0.2.43"},
		{"Forwarded lines", proxy, nil, []string{"for=192.0.2.1", "for=192.0.2.2"}, "192.0.2.2"},
		{"Forwarded spaces and empty elements", proxy, nil, []string{" , for=192.0.2.1 ; proto=https ,"}, "192.0.2.1"},
		{"Forwarded unknown", proxy, nil, []string{"for=unknown"}, "none"},
		{"Forwarded obfuscated node", proxy, nil, []string{`for="_gazonk"`}, "none"},
		{"Forwarded unknown in the walk", proxy, nil, []string{"for=192.0.2.1, for=unknown"}, "none"},
		{"Forwarded element without for", proxy, nil, []string{"proto=https"}, "none"},
		{"Forwarded two for", proxy, nil, []string{"for=192.0.2.1;for=192.0.2.2"}, "none"},
		{"Forwarded unquoted IPv6", proxy, nil, []string{"for=2001:db8::1"}, "none"},
		{"Forwarded unclosed quote", proxy, nil, []string{`for="[2001:db8::1]:4711`}, "none"},
		{"Forwarded comma inside the quote swallows the line", proxy, nil, []string{`for="x, for=192.0.2.1`}, "none"},
		{"Forwarded broken line left of the answer", proxy, nil, []string{`for="broken`, "for=192.0.2.1"}, "192.0.2.1"},
		{"Forwarded no value", proxy, nil, []string{"for="}, "none"},
		{"Forwarded no name", proxy, nil, []string{"=192.0.2.1"}, "none"},
		{"Forwarded control character", proxy, nil, []string{"for=\"192.0.2.1\x01\""}, "none"},

		{"both agree", proxy, []string{"203.0.113.7"}, []string{"for=203.0.113.7"}, "203.0.113.7"},
		{"both disagree: neither", proxy, []string{"203.0.113.7"}, []string{"for=192.0.2.2"}, "none"},
		{"one bad: neither", proxy, []string{"203.0.113.7"}, []string{"for=unknown"}, "none"},
		{"an empty one is absent", proxy, []string{""}, []string{"for=192.0.2.2"}, "192.0.2.2"},
		{"mapped peer is trusted", netip.MustParseAddr("::ffff:10.0.0.1"), []string{"203.0.113.7"}, nil, "203.0.113.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			if c.xff != nil {
				h["X-Forwarded-For"] = c.xff
			}
			if c.fwd != nil {
				h["Forwarded"] = c.fwd
			}
			want := c.peer
			if c.want == "none" {
				want = netip.Addr{}
			} else if c.want != "peer" {
				want = netip.MustParseAddr(c.want)
			}
			if got := p.Client(c.peer, h); got != want {
				t.Errorf("Client(%s, X-Forwarded-For %q, Forwarded %q) = %s, want %s", c.peer, c.xff, c.fwd, got, want)
			}
		})
	}
}

// Without trusted proxies nothing is read from headers.
func TestNoProxies(t *testing.T) {
	var p Proxies
	h := http.Header{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=203.0.113.7"}}
	for _, peer := range []netip.Addr{proxy, stranger, netip.MustParseAddr("127.0.0.1")} {
		if got := p.Client(peer, h); got != peer {
			t.Errorf("Client(%s) = %s with no trusted proxies", peer, got)
		}
	}
	if !p.Empty() || p.Trusts(netip.Addr{}) {
		t.Error("the zero Proxies trusts something")
	}
}

func TestParseProxies(t *testing.T) {
	p, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7", "::1", "::ffff:172.16.0.0/108", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "10.0.0.0/8,192.0.2.7/32,::1/128,172.16.0.0/12,10.0.0.0/8"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, bad := range []string{"nope", "10.0.0.0/33", "10.0.0.0/", "::ffff:0.0.0.0/80", "fe80::1%eth0", "10.0.0.1-10.0.0.9"} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("ParseProxies(%q) accepted it", bad)
		}
	}
}

// FuzzClient checks the property that matters against spoofing: whatever a
// client puts in X-Forwarded-For and Forwarded, once a trusted proxy has
// appended the address it connected from, the answer is that address or no
// address at all, never one the client chose and never the proxy's own
// (which an allowlist may name); and nothing panics.
func FuzzClient(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"192.0.2.1", ""}, {"", "for=192.0.2.1"}, {"10.0.0.2, 192.0.2.1", `for="[2001:db8::1]:80"`},
		{"garbage,,", `for="x, for=192.0.2.1`}, {"[::1]:80", "for=_hidden;by=unknown"}, {"203.0.113.7", "for=203.0.113.7"},
	} {
		f.Add(s[0], s[1])
	}
	p := trusted(f)
	real := netip.MustParseAddr("203.0.113.7")
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		h := http.Header{"X-Forwarded-For": {xff, real.String()}}
		if fwd != "" {
			h["Forwarded"] = []string{fwd}
		}
		if got := p.Client(proxy, h); got != real && got.IsValid() {
			t.Fatalf("X-Forwarded-For %q, Forwarded %q: client %s, want %s or no address", xff, fwd, got, real)
		}
		h = http.Header{"X-Forwarded-For": {xff}, "Forwarded": {fwd}}
		if got := p.Client(stranger, h); got != stranger {
			t.Fatalf("an untrusted peer's headers were read: %s", got)
		}
		_ = p.Client(proxy, h) // any answer, no panic
	})
}
