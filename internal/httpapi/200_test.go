package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
)

func TestWhoamiBothHeadersEquivalent(t *testing.T) {
	s := newSetup(t)
	var a, b, c keyward.Whoami
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200).decode(t, &a)
	do(t, s.srv, "GET", "/v1/whoami", nil, "Authorization", "Bearer "+s.key.Secret).want(t, 200).decode(t, &b)
	do(t, s.srv, "GET", "/v1/whoami", nil, "X-API-KEY", s.key.Secret, "authorization", "bEaReR "+s.key.Secret).want(t, 200).decode(t, &c)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("x-api-key vs Bearer (-x-api-key +bearer):\n%s", diff)
	}
	if diff := cmp.Diff(a, c); diff != "" {
		t.Fatalf("same key twice (-want +got):\n%s", diff)
	}
	if a.KeyID != s.key.ID || a.ProjectID != s.project.ID || a.OrgID != s.srv.OrgID || a.Kind != keyward.KindProject {
		t.Fatalf("whoami = %+v", a)
	}
	var o keyward.Whoami
	do(t, s.srv, "GET", "/v1/org/whoami", nil, "Authorization", "Bearer "+s.srv.OrgKey).want(t, 200).decode(t, &o)
	if o.Kind != keyward.KindOrg || o.OrgID != s.srv.OrgID {
		t.Fatalf("org whoami = %+v", o)
	}
}

// The key lifecycle through each of the three route families.
func TestKeyLifecycleRoutes(t *testing.T) {
	s := newSetup(t)
	families := []struct {
		name   string
		prefix string
		send   func(t *testing.T, method, path string, body any) *resp
		prefx  string
	}{
		{"project", "/v1/keys", s.pk, "kwp_"},
		{"org project", "/v1/org/projects/" + s.project.ID + "/keys", s.ok, "kwp_"},
		{"org keys", "/v1/org/keys", s.ok, "kwo_"},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			var created keyward.Key
			f.send(t, "POST", f.prefix, map[string]any{"name": "Clé 🔑 " + f.name, "expires_in": "720h", "metadata": map[string]string{"team": "ops"}}).want(t, 201).decode(t, &created)
			if !strings.HasPrefix(created.Secret, f.prefx) || len(created.Secret) != 40 || created.Hint != f.prefx+"…"+created.Secret[36:] {
				t.Fatalf("created = %+v", created)
			}
			if created.Status != keyward.StatusActive || created.ExpiresAt == nil {
				t.Fatalf("created status %q expires %v", created.Status, created.ExpiresAt)
			}

			var got keyward.Key
			f.send(t, "GET", f.prefix+"/"+created.ID, nil).want(t, 200).decode(t, &got)
			if got.Secret != "" || got.Name != created.Name {
				t.Fatalf("get = %+v: the secret must never be shown again", got)
			}

			var list keyward.Page[keyward.Key]
			f.send(t, "GET", f.prefix+"?limit=200", nil).want(t, 200).decode(t, &list)
			if !hasKey(list.Data, created.ID) || strings.Contains(string(mustJSON(t, list)), created.Secret) {
				t.Fatalf("list misses the key or shows its secret")
			}

			var patched keyward.Key
			f.send(t, "PATCH", f.prefix+"/"+created.ID, map[string]any{"name": "renamed"}).want(t, 200).decode(t, &patched)
			if patched.Name != "renamed" {
				t.Fatalf("patched name %q", patched.Name)
			}

			var rotated keyward.Key
			f.send(t, "POST", f.prefix+"/"+created.ID+"/rotate", map[string]any{"grace_period": "1h"}).want(t, 201).decode(t, &rotated)
			if rotated.Secret == "" || rotated.ID == created.ID || rotated.Name != "renamed" {
				t.Fatalf("rotated = %+v", rotated)
			}
			f.send(t, "GET", f.prefix+"/"+created.ID, nil).want(t, 200).decode(t, &got)
			if got.Status != keyward.StatusExpiring || got.ReplacedBy == nil || *got.ReplacedBy != rotated.ID {
				t.Fatalf("old key after rotate: status %q replaced_by %v", got.Status, got.ReplacedBy)
			}

			var revoked keyward.Key
			f.send(t, "POST", f.prefix+"/"+rotated.ID+"/revoke", map[string]any{"reason": "leaked"}).want(t, 200).decode(t, &revoked)
			if revoked.Status != keyward.StatusRevoked || revoked.RevokedAt == nil || revoked.RevokeReason == nil {
				t.Fatalf("revoked = %+v", revoked)
			}
			// Idempotent: again, and through DELETE.
			f.send(t, "POST", f.prefix+"/"+rotated.ID+"/revoke", nil).want(t, 200)
			f.send(t, "DELETE", f.prefix+"/"+created.ID, nil).want(t, 200).decode(t, &revoked)
			if revoked.Status != keyward.StatusRevoked {
				t.Fatalf("DELETE left status %q", revoked.Status)
			}

			f.send(t, "GET", f.prefix+"?status=revoked", nil).want(t, 200).decode(t, &list)
			if !hasKey(list.Data, created.ID) || !hasKey(list.Data, rotated.ID) {
				t.Fatalf("revoked filter misses keys: %+v", list.Data)
			}
			f.send(t, "GET", f.prefix, nil).want(t, 200).decode(t, &list)
			if hasKey(list.Data, created.ID) {
				t.Fatal("the default (active) list shows a revoked key")
			}
		})
	}
}

func TestRevokedKeyIsRejectedOnTheNextRequest(t *testing.T) {
	s := newSetup(t)
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200)
	s.ok(t, "POST", "/v1/org/projects/"+s.project.ID+"/keys/"+s.key.ID+"/revoke", nil).want(t, 200)
	e := s.pk(t, "GET", "/v1/whoami", nil).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	if strings.Contains(e.Message, s.key.Secret) {
		t.Fatal("the error echoes the key")
	}
}

func TestPagination(t *testing.T) {
	s := newSetup(t)
	if _, err := s.srv.Service.UpdateSettings(t.Context(), s.srv.Owner(), keyward.SettingsPatch{MaxKeysPerUser: ptr(50)}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		s.pk(t, "POST", "/v1/keys", map[string]any{"name": fmt.Sprint("k", i)}).want(t, 201)
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		var page keyward.Page[keyward.Key]
		s.pk(t, "GET", "/v1/keys?limit=3&cursor="+url.QueryEscape(cursor), nil).want(t, 200).decode(t, &page)
		pages++
		for _, k := range page.Data {
			if seen[k.ID] {
				t.Fatalf("key %s on two pages", k.ID)
			}
			seen[k.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("saw %d keys on %d pages, want 7 on 3", len(seen), pages)
	}
}

func TestVerify(t *testing.T) {
	s := newSetup(t)
	other := s.srv.MustProject(t, "Other")
	otherKey := s.srv.MustKey(t, nil, other.ID, keyward.CreateKeyInput{})
	limited := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{"orders:read"}, IPAllowlist: []string{"10.0.0.0/8"}})
	cases := []struct {
		name string
		in   map[string]any
		code string
	}{
		{"valid", map[string]any{"key": s.key.Secret, "scopes": []string{"orders:read"}}, keyward.VerifyValid},
		{"garbage", map[string]any{"key": "nope"}, keyward.VerifyInvalid},
		{"other project", map[string]any{"key": otherKey.Secret}, keyward.VerifyInvalid},
		{"missing scope", map[string]any{"key": limited.Secret, "scopes": []string{"keys:write"}, "ip": "10.1.2.3"}, keyward.VerifyInsufficientScope},
		{"ip outside", map[string]any{"key": limited.Secret, "ip": "192.0.2.1"}, keyward.VerifyIPNotAllowed},
		{"ip inside", map[string]any{"key": limited.Secret, "ip": "10.1.2.3", "scopes": []string{"orders:read"}}, keyward.VerifyValid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res keyward.VerifyResult
			s.pk(t, "POST", "/v1/verify", c.in).want(t, 200).decode(t, &res)
			if res.Code != c.code || res.Valid != (c.code == keyward.VerifyValid) || (res.Key != nil) != res.Valid {
				t.Fatalf("verify = %+v, want %s", res, c.code)
			}
		})
	}
	var res keyward.VerifyResult
	s.ok(t, "POST", "/v1/org/verify", map[string]any{"key": otherKey.Secret}).want(t, 200).decode(t, &res)
	if !res.Valid {
		t.Fatalf("org verify of a project key = %+v", res)
	}
}

// TestVerifyAnswerFollowsChanges: verify answers, which keyward keeps
// encoded for keys verified again and again, show every change to the key
// on the next verification: a rename and new metadata, a rotation (the old
// key expiring), a revocation.
func TestVerifyAnswerFollowsChanges(t *testing.T) {
	s := newSetup(t)
	target := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "customer", Metadata: map[string]string{"plan": "pro"}})
	verify := func(secret string) keyward.VerifyResult {
		t.Helper()
		var res keyward.VerifyResult
		s.pk(t, "POST", "/v1/verify", map[string]any{"key": secret}).want(t, 200).decode(t, &res)
		return res
	}
	check := func(step, secret, name, plan string, status keyward.KeyStatus) {
		t.Helper()
		for i := range 3 { // the second answer is kept, the third reuses it
			res := verify(secret)
			if !res.Valid || res.Key == nil || res.Key.Name != name || res.Key.Metadata["plan"] != plan || res.Key.Status != status {
				t.Fatalf("%s, verification %d: %+v, want %s/%s/%s", step, i, res, name, plan, status)
			}
		}
	}
	check("created", target.Secret, "customer", "pro", keyward.StatusActive)
	s.pk(t, "PATCH", "/v1/keys/"+target.ID, map[string]any{"name": "customer 2", "metadata": map[string]string{"plan": "enterprise"}}).want(t, 200)
	check("changed", target.Secret, "customer 2", "enterprise", keyward.StatusActive)
	var next keyward.Key
	s.pk(t, "POST", "/v1/keys/"+target.ID+"/rotate", map[string]any{"grace_period": "1h"}).want(t, 201).decode(t, &next)
	check("rotated", target.Secret, "customer 2", "enterprise", keyward.StatusExpiring)
	check("successor", next.Secret, "customer 2", "enterprise", keyward.StatusActive)
	s.pk(t, "POST", "/v1/keys/"+target.ID+"/revoke", nil).want(t, 200)
	if res := verify(target.Secret); res.Valid || res.Key != nil || res.Code != keyward.VerifyInvalid {
		t.Fatalf("after revocation: %+v", res)
	}
}

func TestOrgRoutes(t *testing.T) {
	s := newSetup(t)
	var p keyward.Project
	s.ok(t, "POST", "/v1/org/projects", map[string]any{"name": "Payments", "custom_scopes": []string{"refunds:write"}}).want(t, 201).decode(t, &p)
	if p.Slug != "payments" || len(p.CustomScopes) != 1 {
		t.Fatalf("project = %+v", p)
	}
	s.ok(t, "GET", "/v1/org/projects/"+p.ID, nil).want(t, 200)
	s.ok(t, "PATCH", "/v1/org/projects/"+p.ID, map[string]any{"name": "Payments v2"}).want(t, 200).decode(t, &p)
	if p.Name != "Payments v2" {
		t.Fatalf("renamed project = %+v", p)
	}
	var projects keyward.Page[keyward.Project]
	s.ok(t, "GET", "/v1/org/projects", nil).want(t, 200).decode(t, &projects)
	if len(projects.Data) != 2 {
		t.Fatalf("%d projects, want 2", len(projects.Data))
	}
	r := s.ok(t, "DELETE", "/v1/org/projects/"+p.ID, nil).want(t, 204)
	if len(r.Body) != 0 {
		t.Fatalf("204 with a body %q", r.Body)
	}

	var m keyward.Member
	s.ok(t, "POST", "/v1/org/members", map[string]any{"email": "dev@example.com", "role": "member",
		"projects": []map[string]string{{"project_id": s.project.ID, "role": "developer"}}}).want(t, 201).decode(t, &m)
	if m.Role != keyward.OrgMember || len(m.Projects) != 1 {
		t.Fatalf("member = %+v", m)
	}
	s.ok(t, "PATCH", "/v1/org/members/"+m.UserID, map[string]any{"role": "admin"}).want(t, 200).decode(t, &m)
	if m.Role != keyward.OrgAdmin {
		t.Fatalf("role = %q", m.Role)
	}
	var members keyward.Page[keyward.Member]
	s.ok(t, "GET", "/v1/org/members", nil).want(t, 200).decode(t, &members)
	if len(members.Data) != 2 {
		t.Fatalf("%d members, want 2", len(members.Data))
	}
	s.ok(t, "DELETE", "/v1/org/members/"+m.UserID+"?key_handling=revoke", nil).want(t, 204)

	var st keyward.Settings
	s.ok(t, "GET", "/v1/org/settings", nil).want(t, 200).decode(t, &st)
	if diff := cmp.Diff(keyward.DefaultSettings(), st); diff != "" {
		t.Fatalf("default settings (-want +got):\n%s", diff)
	}
	s.ok(t, "PATCH", "/v1/org/settings", map[string]any{"max_keys_per_user": 5, "max_key_lifetime": "90d"}).want(t, 200).decode(t, &st)
	if st.MaxKeysPerUser != 5 || st.MaxKeyLifetime == nil || st.MaxKeyLifetime.Std() != 90*24*time.Hour {
		t.Fatalf("settings = %+v", st)
	}

	var events keyward.Page[keyward.AuditEvent]
	s.ok(t, "GET", "/v1/org/audit-events?action=member.", nil).want(t, 200).decode(t, &events)
	if len(events.Data) != 3 {
		t.Fatalf("%d member events, want 3 (add, update, remove)", len(events.Data))
	}
	s.pk(t, "GET", "/v1/audit-events?action=key.create", nil).want(t, 200).decode(t, &events)
	if len(events.Data) != 1 || events.Data[0].ProjectID != s.project.ID {
		t.Fatalf("project audit = %+v", events.Data)
	}
}

func TestServiceEndpoints(t *testing.T) {
	s := newSetup(t)
	s.srv.WaitApplied(t) // else the watcher's invalidation of the key's creation may drop the loads below
	do(t, s.srv, "GET", "/healthz", nil).want(t, 200)
	do(t, s.srv, "GET", "/readyz", nil).want(t, 200)
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200) // a miss: the key is cached
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", "kwp_nope").want(t, 401)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject)).want(t, 401) // cached as unknown
	m := do(t, s.srv, "GET", "/metrics", nil).want(t, 200)
	body := string(m.Body)
	for _, want := range []string{`keyward_http_requests_total{route="GET /v1/whoami",status="200"} 1`, `keyward_auth_results_total{result="invalid"} 2`, `keyward_http_request_duration_seconds_count{route="GET /v1/whoami"} 3`, `keyward_http_request_duration_seconds_bucket{route="GET /v1/whoami",le="+Inf"} 3`, `keyward_http_request_duration_seconds_bucket{route="GET /healthz",le="0.0005"}`, "keyward_key_cache_hits_total 0", "keyward_key_cache_misses_total 2", "keyward_key_cache_entries 2", "keyward_key_cache_trusted 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, s.key.Secret) || strings.Contains(body, s.key.ID) {
		t.Error("metrics carry a key or key id")
	}
}

func hasKey(keys []keyward.Key, id string) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
