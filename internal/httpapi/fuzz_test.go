package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// FuzzCredential feeds arbitrary header values to the credential parser:
// it must never panic, must answer with one of the three contract codes,
// and must never return a key that was not in a header.
func FuzzCredential(f *testing.F) {
	f.Add("kwp_abc", "", "")
	f.Add("", "", "Bearer kwo_abc")
	f.Add("a", "b", "bearer  c")
	f.Add("", "", "Basic x")
	f.Fuzz(func(t *testing.T, apiKey, orgKey, auth string) {
		h := http.Header{}
		if apiKey != "" {
			h.Set("x-api-key", apiKey)
		}
		if orgKey != "" {
			h.Set("x-org-api-key", orgKey)
		}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		got, src, err := credential(h)
		if err != nil {
			switch keyward.ErrorCode(err) {
			case keyward.CodeAPIKeyMissing, keyward.CodeAPIKeyInvalid, keyward.CodeAmbiguousCredentials:
			default:
				t.Fatalf("credential: unexpected code %s", keyward.ErrorCode(err))
			}
			return
		}
		if got == "" || !(strings.Contains(apiKey, got) || strings.Contains(orgKey, got) || strings.Contains(auth, got)) {
			t.Fatalf("credential returned %q, which no header held", got)
		}
		// The headers it names held the key.
		if src == 0 || (src&fromAPIKeyHeader != 0 && !strings.Contains(apiKey, got)) ||
			(src&fromOrgKeyHeader != 0 && !strings.Contains(orgKey, got)) || (src&fromBearer != 0 && !strings.Contains(auth, got)) {
			t.Fatalf("credential returned %q from headers %b", got, src)
		}
		if orgKey != "" && strings.TrimSpace(orgKey) != "" && src&fromOrgKeyHeader == 0 {
			t.Fatalf("x-org-api-key %q held the key %q but is not named", orgKey, got)
		}
	})
}

// FuzzDecode feeds arbitrary bodies to the strict JSON decoder: it must
// never panic and must fail only with a contract code.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name":"a","scopes":["keys:read"],"expires_in":"1h"}`))
	f.Add([]byte(`{"name":5}`))
	f.Add([]byte("\xff"))
	f.Add([]byte(`{"metadata":{"a":"b"},"ip_allowlist":["::1"]}`))
	f.Add([]byte(`{"scopes":["keys:read"],"scopes":null}`))
	f.Add([]byte(`{"Scopes":["keys:read"]}`))
	f.Add([]byte(`{"rate_limit":{"limit":1,"window":"1s","limit":2}}`))
	f.Add([]byte(`{"metadata":{"a":"b","\u0061":"c"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/keys", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in keyward.CreateKeyInput
		err := decode(r, &in, false)
		switch keyward.ErrorCode(err) {
		case "", keyward.CodeInvalidRequest, keyward.CodePayloadTooLarge:
		default:
			t.Fatalf("decode(%q): unexpected %v", body, err)
		}
		if err == nil {
			if bad := strayMember(body, createKeyMembers); bad != "" {
				t.Fatalf("decode accepted %q with the member %q", body, bad)
			}
		}
	})
}

// createKeyMembers are the member names of a CreateKeyInput, exactly, and
// of its objects ("" for any name: metadata's).
var createKeyMembers = map[string]map[string]bool{
	"":           {"name": true, "scopes": true, "expires_at": true, "expires_in": true, "ip_allowlist": true, "metadata": true, "rate_limit": true},
	"rate_limit": {"limit": true, "window": true},
	"metadata":   {"": true},
}

// strayMember checks body, with encoding/json's tokenizer (independently
// of checkMembers), for a member name given twice in one object or not
// exactly one of names (by the parent member's name), and returns it.
func strayMember(body []byte, names map[string]map[string]bool) string {
	type frame struct {
		obj     bool
		name    string // the member this object or array is the value of
		keys    map[string]bool
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	lastKey := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if key, ok := tok.(string); ok {
				allowed := names[top.name]
				if top.keys[key] || (allowed != nil && !allowed[""] && !allowed[key]) {
					return key
				}
				top.keys[key], top.wantKey, lastKey = true, false, key
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			name := lastKey
			if top != nil && !top.obj {
				name = top.name
			}
			if top == nil {
				name = ""
			}
			stack = append(stack, &frame{obj: tok == json.Delim('{'), name: name, keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantKey = true // a value ended
		}
	}
}

// FuzzVerifyFast: whenever the fast verify decoder accepts a body, the
// strict decoder accepts it too, with the same result.
func FuzzVerifyFast(f *testing.F) {
	f.Add([]byte(`{"key":"kwp_abc","scopes":["keys:read","orders:read"],"ip":"10.0.0.1"}`))
	f.Add([]byte(` { "key" : "k" , "scopes" : [ ] } `))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"key":"a","key":"b"}`))
	f.Add([]byte(`{"KEY":"a"}`))
	f.Add([]byte(`{"key":"a\u0041"}`))
	f.Add([]byte(`{"scopes":null}`))
	f.Add([]byte(`{"key":"a"} x`))
	f.Add([]byte(`{"key":"a","Key":"b"}`))
	f.Add([]byte(`{"scopes":["a"],"scopes":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast keyward.VerifyInput
		if !decodeVerifyFast(body, &fast) {
			return
		}
		var strict keyward.VerifyInput
		// The strict path, without the fast one: json.Decoder directly.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&strict); err != nil || dec.More() {
			t.Fatalf("fast accepted %q, strict refused: %v", body, err)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("%q: fast %+v, strict %+v", body, fast, strict)
		}
		// And decode, with its member checks, agrees.
		r := httptest.NewRequest("POST", "/v1/verify", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var full keyward.VerifyInput
		if err := decodeVerify(r, &full); err != nil || !reflect.DeepEqual(fast, full) {
			t.Fatalf("%q: fast %+v, decode %+v (%v)", body, fast, full, err)
		}
	})
}

// FuzzAppendString: the hand encoders' strings are what encoding/json
// writes, for any bytes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "key_01J", "kwp_…x7Qa", "<&>", "\u2028", "\xff", "\xe2\x80", "\ufffd", "\b\f\x7f\x00", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
