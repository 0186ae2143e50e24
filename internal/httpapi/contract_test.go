package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
)

// wantField checks a 400 whose details name exactly the given fields.
func wantField(t *testing.T, r *resp, fields ...string) {
	t.Helper()
	e := r.wantError(t, 400, keyward.CodeInvalidRequest)
	var got []string
	for _, d := range e.Details {
		got = append(got, d.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("details = %+v, want fields %v", e.Details, fields)
	}
}

// Durations in answers are written as people write them, and requests may
// use those forms as well as the Go forms earlier answers used.
func TestDurationsAsPeopleWriteThem(t *testing.T) {
	s := newSetup(t)
	var st map[string]any
	s.ok(t, "GET", "/v1/org/settings", nil).want(t, 200).decode(t, &st)
	if st["rotation_max_grace"] != "7d" {
		t.Fatalf("rotation_max_grace = %v, want the default as \"7d\"", st["rotation_max_grace"])
	}
	for in, want := range map[string]string{"90d": "90d", "2160h0m0s": "90d", "1d12h": "36h", "24h": "24h", "1440m": "24h"} {
		s.ok(t, "PATCH", "/v1/org/settings", `{"max_key_lifetime":"`+in+`"}`).want(t, 200).decode(t, &st)
		if st["max_key_lifetime"] != want {
			t.Errorf("max_key_lifetime %q answered as %v, want %q", in, st["max_key_lifetime"], want)
		}
	}
	s.ok(t, "PATCH", "/v1/org/settings", `{"max_key_lifetime":null}`).want(t, 200)
	// A key's rate limit window, in the reflective answers and in the
	// hand-written one of /v1/verify.
	var k map[string]any
	s.pk(t, "POST", "/v1/keys", `{"name":"limited","rate_limit":{"limit":10,"window":"1m0s"}}`).want(t, 201).decode(t, &k)
	if w := k["rate_limit"].(map[string]any)["window"]; w != "1m" {
		t.Fatalf("window on create = %v, want \"1m\"", w)
	}
	var v struct {
		Key struct {
			RateLimit struct{ Window string } `json:"rate_limit"`
		}
	}
	s.pk(t, "POST", "/v1/verify", map[string]any{"key": k["secret"]}).want(t, 200).decode(t, &v)
	if v.Key.RateLimit.Window != "1m" {
		t.Fatalf("window in the verify answer = %q, want \"1m\"", v.Key.RateLimit.Window)
	}
	// The message of a 429 names the window the same way.
	s.pk(t, "PATCH", "/v1/keys/"+k["id"].(string), `{"rate_limit":{"limit":1,"window":"24h"}}`).want(t, 200)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k["secret"].(string))
	e := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k["secret"].(string)).wantError(t, 429, keyward.CodeRateLimited)
	if !strings.Contains(e.Message, "per 24h;") {
		t.Fatalf("429 message %q does not name the window as 24h", e.Message)
	}
}

// A value that is not a duration is refused naming its field, at any
// depth, and changes nothing.
func TestBadDurationNamesItsField(t *testing.T) {
	s := newSetup(t)
	for _, c := range []struct{ method, path, body, field string }{
		{"PATCH", "/v1/org/settings", `{"max_key_lifetime":"soon"}`, "max_key_lifetime"},
		{"PATCH", "/v1/org/settings", `{"rotation_max_grace":5}`, "rotation_max_grace"},
		{"PATCH", "/v1/org/settings", `{"rotation_max_grace":"-1h"}`, "rotation_max_grace"},
		{"POST", "/v1/keys", `{"name":"a","rate_limit":{"limit":5,"window":"a minute"}}`, "rate_limit.window"},
		{"POST", "/v1/keys", `{"name":"a","expires_in":"7 days"}`, "expires_in"},
		{"POST", "/v1/keys/" + s.key.ID + "/rotate", `{"grace_period":"1d-1h"}`, "grace_period"},
	} {
		e := s.ok(t, c.method, strings.Replace(c.path, "/v1/keys", "/v1/org/projects/"+s.project.ID+"/keys", 1), c.body).wantError(t, 400, keyward.CodeInvalidRequest)
		if len(e.Details) != 1 || e.Details[0].Field != c.field || !strings.Contains(e.Details[0].Problem, "duration") {
			t.Errorf("%s %s: details %+v, want one naming %q as not a duration", c.method, c.body, e.Details, c.field)
		}
	}
	var st keyward.Settings
	s.ok(t, "GET", "/v1/org/settings", nil).want(t, 200).decode(t, &st)
	if st != keyward.DefaultSettings() {
		t.Fatalf("settings changed by refused requests: %+v", st)
	}
	assertKeyCount(t, s, 1)
}

// Every PATCH follows one rule: null clears what can be cleared and is
// refused, naming the member, for the rest; a refused body changes nothing.
func TestPatchNullClearsOrIsRefused(t *testing.T) {
	s := newSetup(t)
	member := s.srv.MustMember(t, "dev@example.com", keyward.OrgMember, s.project.ID, keyward.ProjectDeveloper)

	t.Run("settings", func(t *testing.T) {
		var st keyward.Settings
		s.ok(t, "PATCH", "/v1/org/settings", `{"max_key_lifetime":"30d","max_org_keys":20}`).want(t, 200).decode(t, &st)
		if st.MaxKeyLifetime == nil {
			t.Fatal("max_key_lifetime not set")
		}
		for _, field := range []string{"rotation_max_grace", "max_keys_per_user", "max_keys_per_project", "max_org_keys", "clear_max_key_lifetime"} {
			// A clearable null beside it: the whole body is refused.
			wantField(t, s.ok(t, "PATCH", "/v1/org/settings", `{"max_key_lifetime":null,"`+field+`":null}`), field)
		}
		s.ok(t, "GET", "/v1/org/settings", nil).want(t, 200).decode(t, &st)
		if st.MaxKeyLifetime == nil || st.MaxKeyLifetime.Std() != 30*24*time.Hour || st.MaxOrgKeys != 20 {
			t.Fatalf("a refused PATCH changed the settings: %+v", st)
		}
		s.ok(t, "PATCH", "/v1/org/settings", `{"max_key_lifetime":null}`).want(t, 200).decode(t, &st)
		if st.MaxKeyLifetime != nil || st.MaxOrgKeys != 20 {
			t.Fatalf(`"max_key_lifetime": null left %+v; want it cleared and the rest kept`, st)
		}
	})

	t.Run("keys", func(t *testing.T) {
		k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "full",
			IPAllowlist: []string{"10.0.0.0/8"}, Metadata: map[string]string{"team": "a"},
			RateLimit: &keyward.RateLimit{Limit: 5, Window: keyward.Duration(time.Minute)}})
		path := "/v1/org/projects/" + s.project.ID + "/keys/" + k.ID
		for _, field := range []string{"name", "scopes", "clear_rate_limit"} {
			wantField(t, s.ok(t, "PATCH", path, `{"rate_limit":null,"`+field+`":null}`), field)
		}
		var got keyward.Key
		s.ok(t, "GET", path, nil).want(t, 200).decode(t, &got)
		if got.RateLimit == nil || len(got.IPAllowlist) != 1 || len(got.Metadata) != 1 || got.Name != "full" {
			t.Fatalf("a refused PATCH changed the key: %+v", got)
		}
		got = keyward.Key{} // decoding into a map merges
		s.ok(t, "PATCH", path, `{"rate_limit":null,"ip_allowlist":null,"metadata":null}`).want(t, 200).decode(t, &got)
		if got.RateLimit != nil || len(got.IPAllowlist) != 0 || len(got.Metadata) != 0 || got.Name != "full" || len(got.Scopes) == 0 {
			t.Fatalf("null did not clear rate_limit, ip_allowlist and metadata (and only them): %+v", got)
		}
	})

	t.Run("projects", func(t *testing.T) {
		path := "/v1/org/projects/" + s.project.ID
		for _, field := range []string{"name", "slug"} {
			wantField(t, s.ok(t, "PATCH", path, `{"custom_scopes":null,"`+field+`":null}`), field)
		}
		var p keyward.Project
		s.ok(t, "GET", path, nil).want(t, 200).decode(t, &p)
		if len(p.CustomScopes) != 1 {
			t.Fatalf("a refused PATCH changed the project: %+v", p)
		}
		p = keyward.Project{}
		s.ok(t, "PATCH", path, `{"custom_scopes":null}`).want(t, 200).decode(t, &p)
		if len(p.CustomScopes) != 0 || p.Name != "Billing API" {
			t.Fatalf(`"custom_scopes": null left %+v`, p)
		}
	})

	t.Run("members", func(t *testing.T) {
		path := "/v1/org/members/" + member.UserID
		for _, field := range []string{"role", "projects", "key_handling", "transfer_to"} {
			wantField(t, s.ok(t, "PATCH", path, `{"`+field+`":null}`), field)
		}
		var m keyward.Member
		s.ok(t, "PATCH", path, `{"role":"admin"}`).want(t, 200).decode(t, &m)
		if m.Role != keyward.OrgAdmin {
			t.Fatalf("role = %s after a PATCH to admin", m.Role)
		}
	})
}

// A query parameter a route does not declare, or one given twice, is
// refused naming it, as an unknown body member is; health probes are not.
func TestUnknownQueryParameters(t *testing.T) {
	s := newSetup(t)
	wantField(t, s.pk(t, "GET", "/v1/keys?stauts=revoked", nil), "stauts")
	wantField(t, s.pk(t, "GET", "/v1/keys?limit=1&limit=2", nil), "limit")
	wantField(t, s.pk(t, "GET", "/v1/whoami?verbose=1", nil), "verbose")
	wantField(t, s.pk(t, "POST", "/v1/verify?debug", map[string]any{"key": s.key.Secret}), "debug")
	wantField(t, s.pk(t, "GET", "/v1/audit-events?project_id="+s.project.ID, nil), "project_id") // only the org's log takes it
	wantField(t, s.ok(t, "GET", "/v1/org/members?b=1&a=2", nil), "a", "b")
	wantField(t, s.ok(t, "PATCH", "/v1/org/settings?dry_run=1", `{"max_org_keys":3}`), "dry_run")
	s.pk(t, "GET", "/v1/keys?x=%zz", nil).wantError(t, 400, keyward.CodeInvalidRequest)
	// Without a working key the answer is the 401 it would be anyway.
	do(t, s.srv, "GET", "/v1/keys?stauts=revoked", nil).wantError(t, 401, keyward.CodeAPIKeyMissing)

	var st keyward.Settings
	s.ok(t, "GET", "/v1/org/settings", nil).want(t, 200).decode(t, &st)
	if st.MaxOrgKeys == 3 {
		t.Fatal("a refused PATCH changed the settings")
	}
	s.pk(t, "GET", "/v1/keys?status=all&limit=5", nil).want(t, 200)
	do(t, s.srv, "GET", "/healthz?probe=lb1", nil).want(t, 200)
}

// The SDK sends only parameters the routes declare: every list and every
// call with a query, with every parameter it can send.
func TestSDKSendsOnlyDeclaredParameters(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	c, err := client.New(client.WithBaseURL(s.srv.URL), client.WithAPIKey(s.key.Secret), client.WithOrgAPIKey(s.srv.OrgKey), client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	member := s.srv.MustMember(t, "dev@example.com", keyward.OrgMember, s.project.ID, keyward.ProjectDeveloper)
	since := s.srv.Clock.Now().Add(-time.Hour)
	kp := client.ListKeysParams{Status: "all", Limit: 1}
	// A cursor of each list, so that the SDK sends one.
	first, err := c.Keys().List(ctx, client.ListKeysParams{Limit: 1})
	if err != nil || first.NextCursor != nil {
		t.Fatalf("first page: %v, %v", first, err)
	}
	calls := map[string]func() error{
		"keys":         func() error { _, err := c.Keys().List(ctx, kp); return err },
		"project keys": func() error { _, err := c.Org().ProjectKeys(s.project.ID).List(ctx, kp); return err },
		"org keys":     func() error { _, err := c.Org().Keys().List(ctx, kp); return err },
		"audit": func() error {
			_, err := c.Audit().List(ctx, client.ListAuditParams{ProjectID: s.project.ID, Action: "key.created", Actor: s.srv.OwnerID, Since: since, Until: since.Add(2 * time.Hour), Limit: 5})
			return err
		},
		"org audit": func() error {
			_, err := c.Org().Audit().List(ctx, client.ListAuditParams{ProjectID: s.project.ID, Action: "key.created", Actor: s.srv.OwnerID, Since: since, Until: since.Add(2 * time.Hour), Limit: 5})
			return err
		},
		"projects": func() error { _, err := c.Org().Projects().List(ctx, client.ListParams{Limit: 5}); return err },
		"members":  func() error { _, err := c.Org().Members().List(ctx, client.ListParams{Limit: 5}); return err },
		"remove member": func() error {
			return c.Org().Members().Remove(ctx, member.UserID, keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer, TransferTo: s.srv.OwnerID})
		},
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The key lists search, filter, sort and page both ways, in the store,
// with the parameters the dashboard's keys page uses.
func TestKeyListSearchFilterSort(t *testing.T) {
	s := newSetup(t)
	s.ok(t, "PATCH", "/v1/org/settings", `{"max_keys_per_user":10}`).want(t, 200)
	dev := s.srv.MustMember(t, "dev@example.com", keyward.OrgMember, s.project.ID, keyward.ProjectDeveloper)
	mk := func(name string, scopes ...string) *keyward.Key {
		s.srv.Clock.Advance(time.Second) // ids and creation times in this order
		return s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: name, Scopes: scopes})
	}
	billing := mk("billing worker", "orders:read")
	reports := mk("reports", "keys:read")
	devKey := s.srv.MustKey(t, s.srv.User(dev.UserID), s.project.ID, keyward.CreateKeyInput{Name: "dev laptop", Scopes: []string{"keys:read"}})
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", reports.Secret).want(t, 200) // reports is the one used
	flushLastUse(t, s)

	base := "/v1/org/projects/" + s.project.ID + "/keys"
	names := func(t *testing.T, query string) ([]string, keyward.Page[keyward.Key]) {
		t.Helper()
		var page keyward.Page[keyward.Key]
		s.ok(t, "GET", base+"?"+query, nil).want(t, 200).decode(t, &page)
		var out []string
		for _, k := range page.Data {
			out = append(out, k.Name)
		}
		return out, page
	}
	for query, want := range map[string]string{
		"q=worker": "billing worker",
		"q=" + billing.Hint[len(billing.Hint)-4:]: "billing worker",
		"scope=keys:read":                         "dev laptop,reports,CI deploys",
		"owner=" + dev.UserID:                     "dev laptop",
		"sort=oldest&scope=keys:read":             "CI deploys,reports,dev laptop",
		"sort=used&scope=keys:read":               "reports,dev laptop,CI deploys", // never used last, newest first
		"sort=used_least&scope=keys:read":         "CI deploys,dev laptop,reports",
	} {
		if got, _ := names(t, query); strings.Join(got, ",") != want {
			t.Errorf("?%s listed %v, want %s", query, got, want)
		}
	}

	// Pages forward, then back with prev_cursor.
	got1, p1 := names(t, "sort=oldest&limit=2")
	if p1.NextCursor == nil || p1.PrevCursor != nil {
		t.Fatalf("first page %v: next %v prev %v; want only a next cursor", got1, p1.NextCursor, p1.PrevCursor)
	}
	got2, p2 := names(t, "sort=oldest&limit=2&cursor="+*p1.NextCursor)
	if strings.Join(got2, ",") != "reports,dev laptop" || p2.PrevCursor == nil {
		t.Fatalf("second page %v, prev %v", got2, p2.PrevCursor)
	}
	back, _ := names(t, "sort=oldest&limit=2&cursor="+*p2.PrevCursor)
	if strings.Join(back, ",") != strings.Join(got1, ",") {
		t.Fatalf("back from the second page: %v, want %v", back, got1)
	}

	// The project key's own list and the org keys list take the same.
	var page keyward.Page[keyward.Key]
	s.pk(t, "GET", "/v1/keys?q=laptop&owner="+dev.UserID+"&scope=keys:read&sort=used&status=all", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != devKey.ID {
		t.Fatalf("/v1/keys search: %+v", page.Data)
	}
	s.ok(t, "GET", "/v1/org/keys?q=nothing-like-this&sort=oldest", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("/v1/org/keys search for nothing found %d keys", len(page.Data))
	}

	// Problems name the parameters.
	wantField(t, s.ok(t, "GET", base+"?sort=loudest", nil), "sort")
	wantField(t, s.ok(t, "GET", base+"?q="+strings.Repeat("x", 201), nil), "q")
	wantField(t, s.ok(t, "GET", base+"?owner=bob", nil), "owner")
	wantField(t, s.ok(t, "GET", base+"?sort=used&cursor="+*p1.NextCursor, nil), "cursor") // a place in another order

	// Lists that cannot go back have no prev_cursor member at all.
	raw := s.ok(t, "GET", "/v1/org/projects?limit=1", nil).want(t, 200).Body
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members["prev_cursor"] != nil {
		t.Fatalf("projects page %s: want no prev_cursor", raw)
	}
}

// flushLastUse writes the last-use times verifications have noted, as the
// recorder's last flush does when Run's context ends.
func flushLastUse(t *testing.T, s *setup) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.srv.Service.Run(ctx); close(done) }()
	stop()
	<-done
}
