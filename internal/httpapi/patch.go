package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/keyward/keyward"
)

// The one rule of every PATCH body: a member left out keeps its value; a
// member with a value sets it; a member set to null clears its value —
// where a value can be cleared (a rate limit, an IP allowlist, metadata,
// custom scopes, a maximum key lifetime). Where it cannot (a name, a role,
// a number, a key's scopes, which only narrow), null is INVALID_REQUEST
// naming the member, never a change silently not made.
//
// clears says, for one patch type, what null does to each member that can
// be cleared.
type clears[T any] map[string]func(*T)

var (
	keyPatchClears = clears[keyward.KeyPatch]{
		"rate_limit":   func(p *keyward.KeyPatch) { p.RateLimit, p.ClearRateLimit = nil, true },
		"ip_allowlist": func(p *keyward.KeyPatch) { p.IPAllowlist = &[]string{} },
		"metadata":     func(p *keyward.KeyPatch) { p.Metadata = &map[string]string{} },
	}
	projectPatchClears = clears[keyward.ProjectPatch]{
		"custom_scopes": func(p *keyward.ProjectPatch) { p.CustomScopes = &[]string{} },
	}
	settingsPatchClears = clears[keyward.SettingsPatch]{
		"max_key_lifetime": func(p *keyward.SettingsPatch) { p.MaxKeyLifetime, p.ClearMaxKeyLifetime = nil, true },
	}
	memberPatchClears = clears[keyward.MemberPatch]{} // a member's roles are changed, never cleared
)

// names are the members null clears, sorted.
func (c clears[T]) names() []string {
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// patchClearable names, for the OpenAPI document, the members null clears
// in each PATCH body: only those are nullable there.
var patchClearable = map[reflect.Type][]string{
	reflect.TypeFor[keyward.KeyPatch]():      keyPatchClears.names(),
	reflect.TypeFor[keyward.ProjectPatch]():  projectPatchClears.names(),
	reflect.TypeFor[keyward.SettingsPatch](): settingsPatchClears.names(),
	reflect.TypeFor[keyward.MemberPatch]():   memberPatchClears.names(),
}

// nullRule is the rule as the OpenAPI summaries of the PATCH routes state
// it, with the members null clears.
func nullRule[T any](c clears[T]) string {
	if len(c) == 0 {
		return " (leave a member out to keep its value; null is refused)"
	}
	return " (leave a member out to keep its value; null clears " + strings.Join(c.names(), ", ") + " and is refused for the rest)"
}

// decodePatch decodes a PATCH body into dst under the rule above.
func decodePatch[T any](r *http.Request, dst *T, c clears[T]) error {
	return decodeBody(r, dst, false, func(body []byte) error {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			return jsonError(err) // not an object: decode has refused it already
		}
		var bad []keyward.FieldError
		for name, v := range members {
			if !bytes.Equal(v, []byte("null")) {
				continue
			}
			clear, ok := c[name]
			if !ok {
				bad = append(bad, keyward.FieldError{Field: name, Problem: "cannot be cleared: leave it out to keep its value"})
				continue
			}
			clear(dst)
		}
		if len(bad) > 0 {
			slices.SortFunc(bad, func(a, b keyward.FieldError) int { return strings.Compare(a.Field, b.Field) })
			return keyward.Invalid(bad...)
		}
		return nil
	})
}
