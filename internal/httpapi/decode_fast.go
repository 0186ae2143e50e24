package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/keyward/keyward"
)

// decodeVerify reads the body of a verify request: decode's rules, and a
// "key" member that is present and not null (an empty string is a key
// that is not valid; a missing one is a malformed request).
func decodeVerify(r *http.Request, in *keyward.VerifyInput) error {
	return decodeBody(r, in, false, func(body []byte) error {
		var key struct {
			Key *string `json:"key"`
		}
		if err := json.Unmarshal(body, &key); err != nil || key.Key == nil {
			return keyward.Invalid(keyward.FieldError{Field: "key", Problem: "is required"})
		}
		return nil
	})
}

// decodeVerifyFast decodes the body of POST /v1/verify without reflection,
// for the shape SDKs send: one object with "key", "scopes" (an array of
// strings) and "ip", each at most once, strings of printable ASCII without
// escapes. It reports false, leaving in untouched, for anything else
// (escapes, other fields, other types, null, duplicates, other case,
// trailing data, no "key"), and the strict decoder then gives the exact
// answer or error. When it reports true, in is what the strict decoder would have
// produced (FuzzVerifyFast checks it).
func decodeVerifyFast(body []byte, in *keyward.VerifyInput) bool {
	if len(body) > maxFastBody {
		return false
	}
	p := fastParser{b: body, s: string(body)}
	var out keyward.VerifyInput
	var seenKey, seenScopes, seenIP bool
	p.space()
	if !p.eat('{') {
		return false
	}
	p.space()
	if !p.eat('}') {
		for {
			name, ok := p.str() // a part of p.s: no allocation of its own
			if !ok {
				return false
			}
			p.space()
			if !p.eat(':') {
				return false
			}
			p.space()
			switch {
			case name == "key" && !seenKey:
				seenKey = true
				if out.Key, ok = p.str(); !ok {
					return false
				}
			case name == "ip" && !seenIP:
				seenIP = true
				if out.IP, ok = p.str(); !ok {
					return false
				}
			case name == "scopes" && !seenScopes:
				seenScopes = true
				if out.Scopes, ok = p.strs(); !ok {
					return false
				}
			default:
				return false
			}
			p.space()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return false
			}
			p.space()
		}
	}
	p.space()
	if p.i != len(p.b) || !seenKey {
		return false
	}
	*in = out
	return true
}

// maxFastBody bounds the bodies decodeVerifyFast reads (an SDK's are about
// a hundred bytes): it copies the body before it knows it can decode it,
// and a larger body would be copied for nothing if it cannot.
const maxFastBody = 4 << 10

// fastParser reads the narrow JSON subset of decodeVerifyFast. The strings
// it returns are parts of s, one copy of the whole body: one allocation
// for all of them, and none of them shares the body's (pooled) buffer.
type fastParser struct {
	b []byte
	s string // string(b)
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *fastParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
		p.i++
	}
	return "", false
}

// strs reads an array of such strings.
func (p *fastParser) strs() ([]string, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := make([]string, 0, 4)
	p.space()
	if p.eat(']') {
		return out, true
	}
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.space()
		if p.eat(']') {
			return out, true
		}
		if !p.eat(',') {
			return nil, false
		}
		p.space()
	}
}
