package service_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

var badNames = []struct {
	name, value string
}{
	{"201 characters", strings.Repeat("a", 201)},
	{"201 runes of 3 bytes", strings.Repeat("日", 201)},
	{"blank", "   "},
	{"empty", ""},
	{"NUL", "ci\x00key"},
	{"newline inside", "ci\nkey"},
	{"escape", "ci\x1b[31mkey"},
	{"DEL", "ci\x7fkey"},
	{"C1 control", "ci\u0085key"},
	{"invalid UTF-8", "ci\xff\xfekey"},
	{"truncated UTF-8", "clé\xc3"},
}

func TestBadNames(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "good"})
	calls := []struct {
		name string
		do   func(name string) error
	}{
		{"create key", func(name string) error {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: name})
			return err
		}},
		{"create org key", func(name string) error {
			_, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{}, keyward.CreateKeyInput{Name: name})
			return err
		}},
		{"rename key", func(name string) error {
			_, err := env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Name: &name})
			return err
		}},
		{"create project", func(name string) error {
			_, err := env.Service.CreateProject(ctx, env.Owner(), keyward.CreateProjectInput{Name: name, Slug: "s"})
			return err
		}},
		{"rename project", func(name string) error {
			_, err := env.Service.UpdateProject(ctx, env.Owner(), p.ID, keyward.ProjectPatch{Name: &name})
			return err
		}},
	}
	before := len(events(t, env, keyward.AuditFilter{}))
	for _, c := range calls {
		for _, bad := range badNames {
			t.Run(c.name+"/"+bad.name, func(t *testing.T) {
				if f := fieldsOf(t, c.do(bad.value)); !slices.Equal(f, []string{"name"}) {
					t.Errorf("fields at fault = %v, want [name]", f)
				}
			})
		}
	}
	if after := len(events(t, env, keyward.AuditFilter{})); after != before {
		t.Errorf("refused input wrote %d events", after-before)
	}
	// Exactly 200 characters is fine.
	if _, err := env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Name: ptr(strings.Repeat("é", 200))}); err != nil {
		t.Errorf("a 200-character name: %v", err)
	}
}

func TestUnicodeNamesRoundTrip(t *testing.T) {
	env := kwtest.NewEnv(t)
	const name = "Clé 🔑 日本語"
	p, err := env.Service.CreateProject(ctx, env.Owner(), keyward.CreateProjectInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: name, Metadata: map[string]string{"équipe": "モバイル 🚀"}})
	gotP, err := env.Service.GetProject(ctx, env.Owner(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotK, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{gotP.Name, gotK.Name, gotK.Metadata["équipe"]}
	if diff := cmp.Diff([]string{name, name, "モバイル 🚀"}, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if gotP.Slug == "" {
		t.Errorf("no slug made from %q", name)
	}
}

func TestBadAllowlists(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	var tooMany []string
	for i := range 101 {
		tooMany = append(tooMany, fmt.Sprintf("10.0.0.%d", i))
	}
	tests := []struct {
		name string
		list []string
	}{
		{"not an address", []string{"localhost"}},
		{"empty entry", []string{""}},
		{"IPv4 prefix too long", []string{"10.0.0.0/33"}},
		{"IPv6 prefix too long", []string{"2001:db8::/129"}},
		{"missing prefix length", []string{"10.0.0.0/"}},
		{"octet out of range", []string{"10.0.0.256"}},
		{"range syntax", []string{"10.0.0.1-10.0.0.9"}},
		{"zone", []string{"fe80::1%eth0"}},
		{"one bad among good", []string{"10.0.0.1", "nope"}},
		{"101 entries", tooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "k", IPAllowlist: tt.list})
			if f := fieldsOf(t, err); !slices.Equal(f, []string{"ip_allowlist"}) {
				t.Errorf("fields = %v, want [ip_allowlist]", f)
			}
		})
	}
	// Good entries are stored in canonical form, duplicates dropped.
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{IPAllowlist: []string{"10.1.2.3/8", "10.0.0.0/8", "2001:DB8::1", "192.0.2.1"}})
	if diff := cmp.Diff([]string{"10.0.0.0/8", "2001:db8::1/128", "192.0.2.1/32"}, k.IPAllowlist); diff != "" {
		t.Errorf("canonical allowlist (-want +got):\n%s", diff)
	}
}

func TestBadMetadata(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name string
		md   map[string]string
	}{
		{"51 keys", many},
		{"empty key", map[string]string{"": "v"}},
		{"41-character key", map[string]string{strings.Repeat("k", 41): "v"}},
		{"control character in key", map[string]string{"a\nb": "v"}},
		{"invalid UTF-8 key", map[string]string{"\xff": "v"}},
		{"501-character value", map[string]string{"k": strings.Repeat("v", 501)}},
		{"invalid UTF-8 value", map[string]string{"k": "\xc3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "k", Metadata: tt.md})
			if f := fieldsOf(t, err); !slices.Equal(f, []string{"metadata"}) {
				t.Errorf("create: fields = %v, want [metadata]", f)
			}
			_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Metadata: &tt.md})
			if f := fieldsOf(t, err); !slices.Equal(f, []string{"metadata"}) {
				t.Errorf("update: fields = %v, want [metadata]", f)
			}
		})
	}
	// The limits themselves are fine.
	limits := map[string]string{strings.Repeat("k", 40): strings.Repeat("v", 500)}
	if _, err := env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Metadata: &limits}); err != nil {
		t.Errorf("metadata at the limits: %v", err)
	}
}

func TestBadListArguments(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	tests := []struct {
		name  string
		q     service.ListKeysQuery
		field string
	}{
		{"limit 201", service.ListKeysQuery{Limit: 201}, "limit"},
		{"limit -1", service.ListKeysQuery{Limit: -1}, "limit"},
		{"cursor not base64", service.ListKeysQuery{Cursor: "!!!"}, "cursor"},
		{"cursor without an id", service.ListKeysQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte("garbage"))}, "cursor"},
		{"cursor too long", service.ListKeysQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte("key_" + strings.Repeat("A", 100)))}, "cursor"},
		{"unknown status", service.ListKeysQuery{Status: "deleted"}, "status"},
		{"status in capitals", service.ListKeysQuery{Status: "ACTIVE"}, "status"},
		{"search too long", service.ListKeysQuery{Search: strings.Repeat("a", 201)}, "search"},
		{"owner not a user id", service.ListKeysQuery{OwnerUserID: "bob"}, "owner"},
		{"scope too long", service.ListKeysQuery{Scope: strings.Repeat("a", 201)}, "scope"},
		{"unknown order", service.ListKeysQuery{Order: "name"}, "order"},
		{"cursor of another order", service.ListKeysQuery{Order: keyward.OrderUsed, Cursor: base64.RawURLEncoding.EncodeToString([]byte("key_01"))}, "cursor"},
		{"cursor with a bad last use", service.ListKeysQuery{Order: keyward.OrderUsed, Cursor: base64.RawURLEncoding.EncodeToString([]byte("key_01 used next soon"))}, "cursor"},
		{"cursor going nowhere", service.ListKeysQuery{Cursor: base64.RawURLEncoding.EncodeToString([]byte("key_01 newest up never"))}, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), tt.q)
			if f := fieldsOf(t, err); !slices.Equal(f, []string{tt.field}) {
				t.Errorf("fields = %v, want [%s]", f, tt.field)
			}
		})
	}
	// The other lists check their arguments the same way.
	_, err := env.Service.ListProjectAudit(ctx, env.Owner(), service.AuditQuery{ProjectID: p.ID, Limit: 201})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.ListProjects(ctx, env.Owner(), 0, "%%%")
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.ListMembers(ctx, env.Owner(), 500, "")
	wantCode(t, err, keyward.CodeInvalidRequest)

	// Limit 0 is "not given" (the HTTP layer sends 0 for a missing
	// ?limit=): the default page size. 1 and 200 are the bounds.
	for _, limit := range []int{0, 1, 200} {
		page, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), service.ListKeysQuery{Limit: limit})
		if err != nil || len(page.Data) != 1 {
			t.Errorf("limit %d: %v, %v", limit, page, err)
		}
	}
}

func TestBadScopesAndSettings(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	tests := []struct {
		name  string
		do    func() error
		field string
	}{
		{"unknown scope", func() error {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "k", Scopes: []string{"keys:delete"}})
			return err
		}, "scopes"},
		{"custom scope shape", func() error {
			_, err := env.Service.CreateProject(ctx, env.Owner(), keyward.CreateProjectInput{Name: "x", CustomScopes: []string{"Orders Read"}})
			return err
		}, "custom_scopes"},
		{"custom scope shadows a built-in", func() error {
			_, err := env.Service.UpdateProject(ctx, env.Owner(), p.ID, keyward.ProjectPatch{CustomScopes: &[]string{"keys:read"}})
			return err
		}, "custom_scopes"},
		{"bad slug", func() error {
			_, err := env.Service.CreateProject(ctx, env.Owner(), keyward.CreateProjectInput{Name: "x", Slug: "Not A Slug"})
			return err
		}, "slug"},
		{"expires_at and expires_in", func() error {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "k", ExpiresIn: dur("1h"), ExpiresAt: ptr(env.Clock.Now().Add(2 * 3600e9))})
			return err
		}, "expires_at"},
		{"expires_at in the past", func() error {
			_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "k", ExpiresAt: ptr(env.Clock.Now())})
			return err
		}, "expires_at"},
		{"revoke reason too long", func() error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
			_, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{Reason: strings.Repeat("r", 501)})
			return err
		}, "reason"},
		{"limit below 1", func() error {
			_, err := env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{MaxKeysPerUser: ptr(0)})
			return err
		}, "max_keys_per_user"},
		{"max_key_lifetime below 1h", func() error {
			_, err := env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{MaxKeyLifetime: dur("59m")})
			return err
		}, "max_key_lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := fieldsOf(t, tt.do()); !slices.Equal(f, []string{tt.field}) {
				t.Errorf("fields = %v, want [%s]", f, tt.field)
			}
		})
	}
	// Malformed ids are NOT_FOUND before any lookup.
	_, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), "key_../../etc")
	wantCode(t, err, keyward.CodeNotFound)
	_, err = env.Service.ListKeys(ctx, env.Owner(), where("prj_nope"), service.ListKeysQuery{})
	wantCode(t, err, keyward.CodeNotFound)
}
