// Package outbox sends webhook deliveries: a worker on every node claims
// due deliveries from the store (one node per delivery), signs each with
// its endpoint's secret (Standard Webhooks), posts it through an HTTP
// client that cannot reach private addresses unless the operator allows
// it, and records the result or schedules a retry with backoff and jitter
// for up to a day.
package outbox

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURLLength bounds an endpoint's URL.
const MaxURLLength = 2000

// ErrPrivateAddress is why a delivery or an endpoint's URL is refused: it
// points at a loopback, private, link-local or otherwise internal address.
var ErrPrivateAddress = errors.New("the address is loopback, private, link-local or reserved; keyward delivers there only with --webhook-allow-private")

// blockedPrefixes are the ranges, besides those netip.Addr's methods name,
// that are not the public internet.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64: a network's own gateway to its IPv4 hosts
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Blocked reports whether ip is an address deliveries may not reach by
// default. IPv4 addresses inside IPv6 (mapped, NAT64, 6to4) are judged by
// the IPv4 address they carry.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte(b[12:16])))
		case netip.MustParsePrefix("2002::/16").Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckURL reports what is wrong with an endpoint URL, or nil: it must be
// an absolute http or https URL with a host, without credentials or a
// fragment. Unless allowPrivate, a host that is an IP address must not be
// Blocked and "localhost" is refused. A host name is judged again at every
// delivery, on the addresses it resolves to then (so a name that later
// points inside cannot be used to reach it).
func CheckURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return errors.New("is required")
	}
	if len(raw) > MaxURLLength {
		return fmt.Errorf("must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http or https URL")
	}
	if u.Hostname() == "" {
		return errors.New("must name a host")
	}
	if u.User != nil {
		return errors.New("must not hold credentials; endpoints verify the signature instead")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not have a fragment")
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ErrPrivateAddress
	}
	if ip, err := netip.ParseAddr(host); err == nil && Blocked(ip) {
		return ErrPrivateAddress
	}
	return nil
}

// MaxResponseBody is how much of an endpoint's answer is read; the rest is
// dropped with the connection.
const MaxResponseBody = 64 << 10

// NewClient returns the HTTP client deliveries are sent with: no proxy
// from the environment, no redirects followed (a 3xx is a failed
// attempt), timeout for the whole exchange, small response headers, and,
// unless allowPrivate, a dialer that refuses Blocked addresses after name
// resolution, at the moment it connects.
func NewClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("outbox: dial %s: %w", address, err)
			}
			if Blocked(ap.Addr()) {
				return ErrPrivateAddress
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        time.Minute,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
