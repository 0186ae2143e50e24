package httpapi

import (
	"testing"

	"github.com/keyward/keyward/internal/clientaddr"
)

// TestPeerOf checks that the peer's text, taken from RemoteAddr when it
// can be, is always the address's own text.
func TestPeerOf(t *testing.T) {
	for _, remote := range []string{
		"127.0.0.1:1234", "10.0.0.255:80", "[::1]:443", "[2001:db8::1]:80", "[2001:DB8::1]:80",
		"[2001:db8:0:0:0:0:0:1]:80", "[::ffff:192.0.2.1]:80", "[fe80::1%eth0]:80", "192.0.2.1", "garbage", "",
	} {
		addr, text := peerOf(remote)
		if text != "" && text != addr.String() {
			t.Errorf("peerOf(%q) = %v, %q: text differs from %q", remote, addr, text, addr.String())
		}
		info := reqInfo{client: addr, clientStr: text}
		if got, want := info.clientString(), clientaddr.Text(addr); got != want {
			t.Errorf("peerOf(%q): clientString() = %q, want %q", remote, got, want)
		}
	}
	if _, text := peerOf("127.0.0.1:1234"); text != "127.0.0.1" {
		t.Errorf("an IPv4 RemoteAddr: text %q, want it taken from RemoteAddr", text)
	}
}
