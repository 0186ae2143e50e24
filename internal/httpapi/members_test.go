package httpapi_test

import (
	"testing"

	"github.com/keyward/keyward"
)

// encoding/json keeps the last of two members with one name and matches
// names in any case: {"scopes":["keys:read"],"scopes":null} asked for a
// key with every scope. Every request body, at every depth, refuses both,
// naming the field.
func TestDuplicateAndMiscasedMembers(t *testing.T) {
	s := newSetup(t)
	var target keyward.Key
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "target", "scopes": []string{"keys:read"}}).want(t, 201).decode(t, &target)
	keyPath := "/v1/keys/" + target.ID
	type req struct{ method, path, body, field string }
	for _, c := range []req{
		{"POST", "/v1/keys", `{"name":"x","scopes":["keys:read"],"scopes":null}`, "scopes"},
		{"POST", "/v1/keys", `{"name":"x","scopes":null,"scopes":["keys:read"]}`, "scopes"},
		{"POST", "/v1/keys", `{"name":"x","Scopes":["keys:read"]}`, "scopes"},
		{"POST", "/v1/keys", `{"name":"x","SCOPES":null}`, "scopes"},
		{"POST", "/v1/keys", `{"name":"x","scopes":["keys:read"],"sc\u006fpes":null}`, "scopes"},
		{"POST", "/v1/keys", `{"name":"x","name":"y"}`, "name"},
		{"POST", "/v1/keys", `{"name":"x","ſcopes":null}`, "scopes"}, // U+017F folds to s
		{"POST", "/v1/keys", `{"name":"x","scopes":["keys:read"],"\u017fcopes":null}`, "scopes"},
		{"POST", "/v1/keys", `{"Name":"x"}`, "name"},
		{"POST", "/v1/keys", `{"name":"x","ip_allowlist":["10.0.0.0/8"],"IP_Allowlist":null}`, "ip_allowlist"},
		{"POST", "/v1/keys", `{"name":"x","rate_limit":{"limit":5,"window":"1s","limit":1000000}}`, "rate_limit.limit"},
		{"POST", "/v1/keys", `{"name":"x","rate_limit":{"limit":5,"window":"1s","Window":"24h"}}`, "rate_limit.window"},
		{"POST", "/v1/keys", `{"name":"x","rate_limit":{"LIMIT":5,"window":"1s"}}`, "rate_limit.limit"},
		{"POST", "/v1/keys", `{"name":"x","metadata":{"team":"a","team":"b"}}`, "metadata.team"},
		{"PATCH", keyPath, `{"scopes":["keys:read"],"scopes":null}`, "scopes"},
		{"PATCH", keyPath, `{"Ip_allowlist":[]}`, "ip_allowlist"},
		{"PATCH", keyPath, `{"rate_limit":{"limit":1,"window":"1s"},"rate_limit":null}`, "rate_limit"},
		{"POST", keyPath + "/rotate", `{"grace_period":"1h","Grace_Period":"168h"}`, "grace_period"},
		{"POST", keyPath + "/revoke", `{"reason":"a","reason":"b"}`, "reason"},
		{"POST", "/v1/verify", `{"key":"` + s.key.Secret + `","scopes":["keys:admin"],"scopes":[]}`, "scopes"},
		{"POST", "/v1/verify", `{"KEY":"` + s.key.Secret + `"}`, "key"},
		{"POST", "/v1/verify", `{"\u212aey":"` + s.key.Secret + `"}`, "key"}, // the Kelvin sign folds to k
		{"POST", "/v1/verify", `{"key":"` + s.key.Secret + `","Scopes":["nope"]}`, "scopes"},
		{"POST", "/v1/verify", `{"key":"a","key":"` + s.key.Secret + `"}`, "key"},
	} {
		r := do(t, s.srv, c.method, c.path, c.body, "x-api-key", s.key.Secret)
		if r.Status != 400 {
			t.Errorf("%s %s %s: status %d, want 400: %s", c.method, c.path, c.body, r.Status, r.Body)
			continue
		}
		e := r.wantError(t, 400, keyward.CodeInvalidRequest)
		if len(e.Details) != 1 || e.Details[0].Field != c.field {
			t.Errorf("%s %s %s: details %+v, want the field %s", c.method, c.path, c.body, e.Details, c.field)
		}
	}
	for _, c := range []req{
		{"POST", "/v1/org/projects", `{"name":"p","custom_scopes":["a:b"],"custom_scopes":[]}`, "custom_scopes"},
		{"PATCH", "/v1/org/settings", `{"max_keys_per_user":1,"MAX_KEYS_PER_USER":100}`, "max_keys_per_user"},
		{"POST", "/v1/org/members", `{"email":"a@example.com","role":"member","projects":[{"project_id":"` + s.project.ID + `","role":"viewer","Role":"admin"}]}`, "projects.role"},
		{"POST", "/v1/org/members", `{"email":"a@example.com","role":"member","role":"owner"}`, "role"},
		{"POST", "/v1/org/verify", `{"key":"` + s.key.Secret + `","key":"x"}`, "key"},
	} {
		e := do(t, s.srv, c.method, c.path, c.body, "x-org-api-key", s.srv.OrgKey).wantError(t, 400, keyward.CodeInvalidRequest)
		if len(e.Details) != 1 || e.Details[0].Field != c.field {
			t.Errorf("%s %s %s: details %+v, want the field %s", c.method, c.path, c.body, e.Details, c.field)
		}
	}

	// Nothing was created or changed, and well-formed bodies still work.
	var keys keyward.Page[keyward.Key]
	s.pk(t, "GET", "/v1/keys", nil).want(t, 200).decode(t, &keys)
	if len(keys.Data) != 2 {
		t.Errorf("%d keys after refused creations, want 2", len(keys.Data))
	}
	s.pk(t, "GET", keyPath, nil).want(t, 200).decode(t, &target)
	if len(target.Scopes) != 1 || target.RateLimit != nil {
		t.Errorf("the target key changed: %+v", target)
	}
	s.pk(t, "POST", "/v1/keys", `{"name":"ok","scopes":["keys:read"],"rate_limit":{"limit":5,"window":"1s"},"metadata":{"a":"1","A":"2"}}`).want(t, 201)
	var res keyward.VerifyResult
	s.pk(t, "POST", "/v1/verify", `{"key":"`+s.key.Secret+`","scopes":["keys:read"]}`).want(t, 200).decode(t, &res)
	if !res.Valid {
		t.Errorf("verify: %+v", res)
	}
	s.pk(t, "POST", "/v1/verify", `{"key":"`+s.key.Secret+`","scopes":["keys:read"],"ip":"127.0.0.1"}`+" \n").want(t, 200)
	s.pk(t, "POST", "/v1/verify", `{"key" : "`+s.key.Secret+`", "scopes":["key\u0073:read"]}`).want(t, 200) // the strict path
}
