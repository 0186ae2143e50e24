// Package clientaddr finds the address of the client a request comes from:
// the TCP peer, or, when the peer is a trusted proxy (--trusted-proxies),
// the address the proxies recorded in X-Forwarded-For or Forwarded
// (RFC 7239). keyward uses that one address for IP allowlists, the
// throttles, audit events and request logs.
//
// The rule, for a peer that is a trusted proxy: read the header's addresses
// from the right (the proxy nearest keyward wrote the last one) and take
// the first that is not itself a trusted proxy; if all are trusted, the
// leftmost. Addresses to the left of that one were written by whoever
// connected to a trusted proxy, and are not believed. When both headers
// are present they must name the same client. Anything that cannot be read
// (a malformed address, an "unknown" or obfuscated node, the two headers
// disagreeing) gives no address at all (the zero netip.Addr): never an
// error, never an address a client chose, and never the proxy's own, which
// a key's IP allowlist may well name (a client behind a proxy that passes
// a Forwarded header on untouched could otherwise choose to be the proxy).
// No address is inside no allowlist, and all such clients share one
// throttle.
package clientaddr

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the set of trusted proxies. The zero value trusts none:
// forwarded headers are then ignored and the client is the peer.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies reads CIDRs ("10.0.0.0/8", "fd00::/8") and single addresses
// ("10.0.0.7", a /32 or /128). Blank entries are skipped.
func ParseProxies(list []string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			a = a.Unmap()
			p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxies: %q is not a CIDR (as in 10.0.0.0/8) or an IP address", s)
		}
		if n.Addr().Is4In6() {
			if n.Bits() < 96 {
				return Proxies{}, fmt.Errorf("trusted proxies: %q: write IPv4 ranges as IPv4", s)
			}
			n = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
		}
		p.nets = append(p.nets, n.Masked())
	}
	return p, nil
}

// Empty reports whether no proxy is trusted.
func (p Proxies) Empty() bool { return len(p.nets) == 0 }

// String lists the trusted ranges, comma-separated.
func (p Proxies) String() string {
	s := make([]string, len(p.nets))
	for i, n := range p.nets {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}

// Trusts reports whether a is a trusted proxy.
func (p Proxies) Trusts(a netip.Addr) bool {
	if len(p.nets) == 0 || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address of the client behind a request that came
// from peer with header h (see the package's rule).
func (p Proxies) Client(peer netip.Addr, h http.Header) netip.Addr {
	if !p.Trusts(peer) {
		return peer
	}
	x, xerr := p.walk(h["X-Forwarded-For"], forwardedFor)
	f, ferr := p.walk(h["Forwarded"], forwarded)
	switch {
	case errors.Is(xerr, errBad) || errors.Is(ferr, errBad):
		return netip.Addr{}
	case xerr == nil && ferr == nil && x != f:
		return netip.Addr{} // the two name different clients: believe neither
	case xerr == nil:
		return x
	case ferr == nil:
		return f
	}
	return peer // neither header
}

var (
	errAbsent = errors.New("no forwarded addresses")
	errBad    = errors.New("a forwarded address that cannot be read")
)

// nodesFunc lists the nodes (addresses as written, with ports) of one
// header line, left to right, or fails for a line it cannot read.
type nodesFunc func(line string) ([]string, bool)

// walk applies the rule to one header's lines: the rightmost address that
// is not trusted, else the leftmost; errAbsent when the header names no
// node, errBad when the walk meets a node it cannot read. Lines to the left
// of the answer are not read at all.
func (p Proxies) walk(lines []string, nodes nodesFunc) (netip.Addr, error) {
	var last netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		ns, ok := nodes(lines[i])
		if !ok {
			return netip.Addr{}, errBad
		}
		for j := len(ns) - 1; j >= 0; j-- {
			a, ok := parseNode(ns[j])
			if !ok {
				return netip.Addr{}, errBad
			}
			if !p.Trusts(a) {
				return a, nil
			}
			last = a
		}
	}
	if !last.IsValid() {
		return netip.Addr{}, errAbsent
	}
	return last, nil
}

// forwardedFor splits an X-Forwarded-For line: comma-separated nodes.
// Empty elements are skipped, as for any HTTP list.
func forwardedFor(line string) ([]string, bool) {
	var out []string
	for item := range strings.SplitSeq(line, ",") {
		if item = strings.Trim(item, " \t"); item != "" {
			out = append(out, item)
		}
	}
	return out, true
}

// forwarded reads a Forwarded line (RFC 7239): elements separated by
// commas, each pairs name=value separated by semicolons, a value a token
// or a quoted string. It returns each element's for= node, and fails on a
// syntax error, on an element without a for= node and on one with two.
func forwarded(line string) ([]string, bool) {
	var out []string
	s := line
	for {
		s = trimOWS(s)
		if s == "" {
			return out, true
		}
		if s[0] == ',' { // an empty element
			s = s[1:]
			continue
		}
		node, found := "", false
		for { // the pairs of one element
			s = trimOWS(s)
			if s != "" && s[0] != ';' && s[0] != ',' {
				name, rest := token(s)
				if name == "" || rest == "" || rest[0] != '=' {
					return nil, false
				}
				value, rest, ok := tokenOrQuoted(rest[1:])
				if !ok {
					return nil, false
				}
				if strings.EqualFold(name, "for") {
					if found {
						return nil, false
					}
					node, found = value, true
				}
				s = trimOWS(rest)
			}
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				return nil, false
			}
			s = s[1:]
		}
		if !found {
			return nil, false
		}
		out = append(out, node)
	}
}

func trimOWS(s string) string { return strings.TrimLeft(s, " \t") }

// token splits a leading RFC 9110 token off s.
func token(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// tokenOrQuoted splits a leading token or quoted string off s, unquoted.
func tokenOrQuoted(s string) (value, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		value, rest = token(s)
		return value, rest, value != ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c < ' ' && c != '\t' || c == 0x7f:
			return "", "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false // no closing quote
}

// parseNode reads one node: an IPv4 address, an IPv6 address (bare or in
// brackets), each optionally with a port ("192.0.2.1:80",
// "[2001:db8::1]:443"). "unknown", obfuscated names ("_proxy1") and
// anything else are not addresses.
func parseNode(s string) (netip.Addr, bool) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host, port = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
	} else if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	} else if i := strings.LastIndexByte(s, ':'); i > 0 {
		host, port = s[:i], s[i:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return netip.Addr{}, false
		}
	}
	if port != "" && (port[0] != ':' || !validPort(port[1:])) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// validPort accepts a port number or an obfuscated port ("_abc").
func validPort(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	obfuscated := p[0] == '_'
	if !obfuscated && len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		digit := '0' <= c && c <= '9'
		obf := digit || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-'
		if obfuscated && !obf || !obfuscated && !digit {
			return false
		}
	}
	return !obfuscated || len(p) > 1
}

// Text is a client address as logs and audit events show it: "unknown"
// for no address (unreadable forwarded headers).
func Text(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}
