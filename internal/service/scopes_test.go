package service_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestProjectKeyScopes: what a project key may do follows its scopes.
func TestProjectKeyScopes(t *testing.T) {
	env := kwtest.NewEnv(t)
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(50)})
	p := env.MustProject(t, "P", "orders:read")
	_, readOnly := projectKey(t, env, nil, p.ID, []string{keyward.ScopeKeysRead})
	_, writer := projectKey(t, env, nil, p.ID, []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite})
	_, auditor := projectKey(t, env, nil, p.ID, []string{keyward.ScopeAuditRead})
	_, noScopes := projectKey(t, env, nil, p.ID, []string{})
	_, writeOnly := projectKey(t, env, nil, p.ID, []string{keyward.ScopeKeysWrite})
	full := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "full"})

	tests := []struct {
		name string
		a    *service.Actor
		do   func(a *service.Actor) error
		want string
	}{
		{"keys:read lists", readOnly, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, ""},
		{"keys:read gets", readOnly, func(a *service.Actor) error {
			_, err := env.Service.GetKey(ctx, a, where(p.ID), full.ID)
			return err
		}, ""},
		{"keys:read cannot create", readOnly, func(a *service.Actor) error {
			_, err := env.Service.CreateKey(ctx, a, where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeKeysRead}})
			return err
		}, keyward.CodePermissionDenied},
		{"keys:read cannot revoke another key", readOnly, func(a *service.Actor) error {
			_, err := env.Service.RevokeKey(ctx, a, where(p.ID), full.ID, keyward.RevokeInput{})
			return err
		}, keyward.CodePermissionDenied},
		{"keys:read cannot read the audit log", readOnly, func(a *service.Actor) error {
			_, err := env.Service.ListProjectAudit(ctx, a, service.AuditQuery{ProjectID: p.ID})
			return err
		}, keyward.CodePermissionDenied},
		{"audit:read reads the audit log", auditor, func(a *service.Actor) error {
			_, err := env.Service.ListProjectAudit(ctx, a, service.AuditQuery{ProjectID: p.ID})
			return err
		}, ""},
		{"audit:read cannot list keys", auditor, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, keyward.CodePermissionDenied},
		{"writer creates a key within its scopes", writer, func(a *service.Actor) error {
			_, err := env.Service.CreateKey(ctx, a, where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeKeysRead}})
			return err
		}, ""},
		{"writer cannot grant a scope it lacks", writer, func(a *service.Actor) error {
			_, err := env.Service.CreateKey(ctx, a, where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeKeysRead, "orders:read"}})
			return err
		}, keyward.CodePermissionDenied},
		{"writer's key without scopes gets the writer's scopes, not full access", writer, func(a *service.Actor) error {
			k, err := env.Service.CreateKey(ctx, a, where(p.ID), keyward.CreateKeyInput{Name: "x"})
			if err == nil && !slices.Equal(k.Scopes, []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite}) {
				t.Errorf("default scopes = %q, want the writer's own", k.Scopes)
			}
			return err
		}, ""},
		{"writer cannot rotate a key holding scopes it lacks", writer, func(a *service.Actor) error {
			_, err := env.Service.RotateKey(ctx, a, where(p.ID), full.ID, keyward.RotateInput{})
			return err
		}, keyward.CodePermissionDenied},
		{"writer rotates a key within its scopes", writer, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysWrite}})
			_, err := env.Service.RotateKey(ctx, a, where(p.ID), k.ID, keyward.RotateInput{})
			return err
		}, ""},
		{"writer narrows another key within its scopes", writer, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite}})
			_, err := env.Service.UpdateKey(ctx, a, where(p.ID), k.ID, keyward.KeyPatch{Scopes: &[]string{keyward.ScopeKeysRead}})
			return err
		}, ""},
		{"writer cannot change a key stronger than itself", writer, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
			_, err := env.Service.UpdateKey(ctx, a, where(p.ID), k.ID, keyward.KeyPatch{Scopes: &[]string{keyward.ScopeKeysRead}})
			return err
		}, keyward.CodePermissionDenied},
		// Rotate and PATCH need keys:write, nothing more (docs/authority.md).
		{"keys:write alone rotates", writeOnly, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysWrite}})
			_, err := env.Service.RotateKey(ctx, a, where(p.ID), k.ID, keyward.RotateInput{})
			return err
		}, ""},
		{"keys:write alone updates", writeOnly, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysWrite}})
			_, err := env.Service.UpdateKey(ctx, a, where(p.ID), k.ID, keyward.KeyPatch{Name: ptr("renamed")})
			return err
		}, ""},
		{"keys:write alone revokes", writeOnly, func(a *service.Actor) error {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysWrite}})
			_, err := env.Service.RevokeKey(ctx, a, where(p.ID), k.ID, keyward.RevokeInput{})
			return err
		}, ""},
		{"keys:write alone cannot list", writeOnly, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, keyward.CodePermissionDenied},
		{"a key with no scopes cannot list", noScopes, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, keyward.CodePermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(tt.a), tt.want)
		})
	}
	// The old full key is untouched by the refused rotation.
	if got, err := env.Store.GetKey(ctx, full.ID); err != nil || got.RevokedAt != nil || got.ReplacedBy != nil {
		t.Errorf("refused rotation changed the key: %+v, %v", got, err)
	}
}

// TestRefusedWideningIsAudited: a key that tries to grant more than it holds
// is a denied management attempt, and those are audited.
func TestRefusedWideningIsAudited(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	full := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "full"})
	wk, writer := projectKey(t, env, nil, p.ID, []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite})

	_, err := env.Service.CreateKey(ctx, writer, where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeAuditRead}})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.RotateKey(ctx, writer, where(p.ID), full.ID, keyward.RotateInput{})
	wantCode(t, err, keyward.CodePermissionDenied)

	var got []string
	for _, e := range events(t, env, keyward.AuditFilter{ActorID: wk.ID}) {
		if e.Result == keyward.ResultDenied {
			got = append(got, e.Action)
		}
	}
	if diff := cmp.Diff([]string{service.AuditKeyRotate, service.AuditKeyCreate}, got); diff != "" {
		t.Errorf("denied events of the key (-want +got):\n%s", diff)
	}
}

// TestKeyRevokesItself: a key may revoke itself whatever its scopes, and
// is dead afterwards.
func TestKeyRevokesItself(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k, a := projectKey(t, env, nil, p.ID, []string{})
	got, err := env.Service.RevokeKey(ctx, a, where(p.ID), k.ID, keyward.RevokeInput{Reason: "leaked"})
	if err != nil {
		t.Fatalf("a key revoking itself: %v", err)
	}
	if got.Status != keyward.StatusRevoked || got.RevokedBy == nil || got.RevokedBy.ID != k.ID {
		t.Errorf("revoked key = status %q, revoked by %v; want revoked by itself", got.Status, got.RevokedBy)
	}
	_, err = env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeAPIKeyInvalid)
	// A scope-less key still may not revoke another key.
	_, a2 := projectKey(t, env, nil, p.ID, []string{})
	target := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	_, err = env.Service.RevokeKey(ctx, a2, where(p.ID), target.ID, keyward.RevokeInput{})
	wantCode(t, err, keyward.CodePermissionDenied)
}

// TestDefaultScopes: a key created without scopes holds every built-in scope
// and every custom scope of its project; org keys default to every org scope.
func TestDefaultScopes(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "Shop", "orders:read", "orders:write")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "full"})
	want := []string{"keys:read", "keys:write", "keys:verify", "audit:read", "orders:read", "orders:write"}
	if diff := cmp.Diff(want, k.Scopes); diff != "" {
		t.Errorf("default project scopes (-want +got):\n%s", diff)
	}
	stored, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored.Scopes); diff != "" {
		t.Errorf("stored default scopes (-want +got):\n%s", diff)
	}
	ok, _ := orgKey(t, env, nil)
	if diff := cmp.Diff(keyward.OrgScopes, ok.Scopes); diff != "" {
		t.Errorf("default org key scopes (-want +got):\n%s", diff)
	}
	// A scope the project does not define is refused.
	_, err = env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{"users:read"}})
	wantCode(t, err, keyward.CodeInvalidRequest)
	// Org scopes are not project scopes.
	_, err = env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeProjectsRead}})
	wantCode(t, err, keyward.CodeInvalidRequest)
}

// TestProjectKeysStayInTheirProject: another project is NOT_FOUND to a
// project key, whatever its scopes, and so are its keys.
func TestProjectKeysStayInTheirProject(t *testing.T) {
	env := kwtest.NewEnv(t)
	a := env.MustProject(t, "A")
	b := env.MustProject(t, "B")
	_, keyA := projectKey(t, env, nil, a.ID, nil)
	inB := env.MustKey(t, nil, b.ID, keyward.CreateKeyInput{})

	tests := []struct {
		name string
		do   func() error
	}{
		{"list B's keys", func() error {
			_, err := env.Service.ListKeys(ctx, keyA, where(b.ID), service.ListKeysQuery{})
			return err
		}},
		{"get B's key via B", func() error {
			_, err := env.Service.GetKey(ctx, keyA, where(b.ID), inB.ID)
			return err
		}},
		{"get B's key via A", func() error {
			_, err := env.Service.GetKey(ctx, keyA, where(a.ID), inB.ID)
			return err
		}},
		{"create in B", func() error {
			_, err := env.Service.CreateKey(ctx, keyA, where(b.ID), keyward.CreateKeyInput{Name: "x"})
			return err
		}},
		{"revoke B's key via B", func() error {
			_, err := env.Service.RevokeKey(ctx, keyA, where(b.ID), inB.ID, keyward.RevokeInput{})
			return err
		}},
		{"revoke B's key via A", func() error {
			_, err := env.Service.RevokeKey(ctx, keyA, where(a.ID), inB.ID, keyward.RevokeInput{})
			return err
		}},
		{"rotate B's key", func() error {
			_, err := env.Service.RotateKey(ctx, keyA, where(b.ID), inB.ID, keyward.RotateInput{})
			return err
		}},
		{"update B's key", func() error {
			_, err := env.Service.UpdateKey(ctx, keyA, where(b.ID), inB.ID, keyward.KeyPatch{Name: ptr("x")})
			return err
		}},
		{"B's audit log", func() error {
			_, err := env.Service.ListProjectAudit(ctx, keyA, service.AuditQuery{ProjectID: b.ID})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(), keyward.CodeNotFound)
		})
	}
	if got, err := env.Store.GetKey(ctx, inB.ID); err != nil || got.RevokedAt != nil || got.Name != inB.Name {
		t.Errorf("B's key changed: %+v, %v", got, err)
	}
	// A project key's verify sees only its own project's keys.
	res, err := env.Service.Verify(ctx, keyA, a.ID, keyward.VerifyInput{Key: inB.Secret})
	if err != nil || res.Valid || res.Code != keyward.VerifyInvalid {
		t.Errorf("Verify(B's key) from A = %+v, %v; want INVALID", res, err)
	}
}

// TestOrgKeyScopes: org keys are held to their scopes too.
func TestOrgKeyScopes(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	_, projectsRO := orgKey(t, env, []string{keyward.ScopeProjectsRead})
	_, keysRW := orgKey(t, env, []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite})
	_, members := orgKey(t, env, []string{keyward.ScopeMembersRead, keyward.ScopeMembersWrite})

	tests := []struct {
		name string
		a    *service.Actor
		do   func(a *service.Actor) error
		want string
	}{
		{"projects:read lists projects", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.ListProjects(ctx, a, 0, "")
			return err
		}, ""},
		{"projects:read gets a project", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.GetProject(ctx, a, p.ID)
			return err
		}, ""},
		{"keys:write cannot get a project", keysRW, func(a *service.Actor) error {
			_, err := env.Service.GetProject(ctx, a, p.ID)
			return err
		}, keyward.CodePermissionDenied},
		{"projects:read cannot create a project", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.CreateProject(ctx, a, keyward.CreateProjectInput{Name: "x"})
			return err
		}, keyward.CodePermissionDenied},
		{"projects:read cannot list a project's keys", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, keyward.CodePermissionDenied},
		{"projects:read cannot add members", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.AddMember(ctx, a, keyward.AddMemberInput{Email: uniq("m") + "@example.com", Role: keyward.OrgMember})
			return err
		}, keyward.CodePermissionDenied},
		{"projects:read cannot change settings", projectsRO, func(a *service.Actor) error {
			_, err := env.Service.UpdateSettings(ctx, a, keyward.SettingsPatch{MaxOrgKeys: ptr(20)})
			return err
		}, keyward.CodePermissionDenied},
		{"keys:write creates a project key (no owner)", keysRW, func(a *service.Actor) error {
			k, err := env.Service.CreateKey(ctx, a, where(p.ID), keyward.CreateKeyInput{Name: "x"})
			if err == nil && k.OwnerUserID != nil {
				t.Errorf("key created by an org key has owner %q", *k.OwnerUserID)
			}
			return err
		}, ""},
		{"keys:write creates an org key within its scopes", keysRW, func(a *service.Actor) error {
			_, err := env.Service.CreateKey(ctx, a, service.Where{}, keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeKeysRead}})
			return err
		}, ""},
		{"keys:write's org key without scopes gets its own scopes", keysRW, func(a *service.Actor) error {
			k, err := env.Service.CreateKey(ctx, a, service.Where{}, keyward.CreateKeyInput{Name: "x"})
			if err == nil && !slices.Equal(k.Scopes, a.Key.Scopes) {
				t.Errorf("default scopes = %q, want the maker's %q", k.Scopes, a.Key.Scopes)
			}
			return err
		}, ""},
		{"keys:write cannot grant settings:write", keysRW, func(a *service.Actor) error {
			_, err := env.Service.CreateKey(ctx, a, service.Where{}, keyward.CreateKeyInput{Name: "x", Scopes: []string{keyward.ScopeSettingsWrite}})
			return err
		}, keyward.CodePermissionDenied},
		{"keys:write cannot create a project", keysRW, func(a *service.Actor) error {
			_, err := env.Service.CreateProject(ctx, a, keyward.CreateProjectInput{Name: "x"})
			return err
		}, keyward.CodePermissionDenied},
		{"members:write adds a member", members, func(a *service.Actor) error {
			_, err := env.Service.AddMember(ctx, a, keyward.AddMemberInput{Email: uniq("m") + "@example.com", Role: keyward.OrgMember})
			return err
		}, ""},
		{"members:write cannot list keys", members, func(a *service.Actor) error {
			_, err := env.Service.ListKeys(ctx, a, where(p.ID), service.ListKeysQuery{})
			return err
		}, keyward.CodePermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(tt.a), tt.want)
		})
	}
}

// TestWrongKeyKind: a project key on an org operation, and an org key on
// the project-key path, are refused with a message naming the right header.
func TestWrongKeyKind(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	pk, pa := projectKey(t, env, nil, p.ID, nil)
	_, err := env.Service.CreateProject(ctx, pa, keyward.CreateProjectInput{Name: "x"})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.Authenticate(ctx, pk.Secret, keyward.KindOrg, localIP)
	wantCode(t, err, keyward.CodePermissionDenied)
	if e := asError(t, err); !strings.Contains(e.Message, "x-api-key") {
		t.Errorf("message %q does not name the project key header", e.Message)
	}
	_, err = env.Service.Authenticate(ctx, env.OrgKey, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodePermissionDenied)
	if e := asError(t, err); !strings.Contains(e.Message, "x-org-api-key") {
		t.Errorf("message %q does not name the org key header", e.Message)
	}
}

// A developer's own key acts with the developer's role: it may change the
// developer's keys but not anyone else's, even holding keys:write.
func TestUserKeyActsWithItsOwnersRole(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	dev := env.MustMember(t, "keydev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	ownerKey := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "owner's"})
	devKey := env.MustKey(t, env.User(dev.UserID), p.ID, keyward.CreateKeyInput{Name: "dev's"})
	devOther := env.MustKey(t, env.User(dev.UserID), p.ID, keyward.CreateKeyInput{Name: "dev's other"})
	asDevKey := service.KeyActor(devKey, service.Origin{IP: "127.0.0.1"})
	if !devKey.HasScope(keyward.ScopeKeysWrite) {
		t.Fatal("the developer's key should hold keys:write (full access)")
	}
	_, err := env.Service.RotateKey(ctx, asDevKey, where(p.ID), ownerKey.ID, keyward.RotateInput{})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.RevokeKey(ctx, asDevKey, where(p.ID), ownerKey.ID, keyward.RevokeInput{})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.RevokeKey(ctx, asDevKey, where(p.ID), devOther.ID, keyward.RevokeInput{})
	wantCode(t, err, "")
	// The owner's key (an org owner is project admin) may change anyone's.
	asOwnerKey := service.KeyActor(ownerKey, service.Origin{IP: "127.0.0.1"})
	_, err = env.Service.RevokeKey(ctx, asOwnerKey, where(p.ID), devKey.ID, keyward.RevokeInput{})
	wantCode(t, err, "")
}
