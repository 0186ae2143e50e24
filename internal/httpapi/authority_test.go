package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// The attacks of docs/authority.md, each through HTTP against a real
// server: a key never outranks its owner, only makes or changes weaker
// keys, manages nothing once rotated out, and org key scopes mean what
// they say.

// memberKey adds a member with a project role and returns a full key they
// made themselves.
func (s *setup) memberKey(t *testing.T, email string, role keyward.OrgRole, prole keyward.ProjectRole) (*keyward.Member, *keyward.Key) {
	t.Helper()
	m := s.srv.MustMember(t, email, role, s.project.ID, prole)
	k := s.srv.MustKey(t, s.srv.User(m.UserID), s.project.ID, keyward.CreateKeyInput{Name: email})
	return m, k
}

// verifyCode asks keyward, with the setup's full key, whether key holds
// scopes.
func (s *setup) verifyCode(t *testing.T, key string, scopes ...string) string {
	t.Helper()
	var res keyward.VerifyResult
	s.pk(t, "POST", "/v1/verify", keyward.VerifyInput{Key: key, Scopes: scopes}).want(t, 200).decode(t, &res)
	return res.Code
}

var ctx = context.Background()

func withKey(t *testing.T, s *setup, key, method, path string, body any) *resp {
	t.Helper()
	return do(t, s.srv, method, path, body, "x-api-key", key)
}

func withOrgKey(t *testing.T, s *setup, key, method, path string, body any) *resp {
	t.Helper()
	return do(t, s.srv, method, path, body, "x-org-api-key", key)
}

func TestDemotionNarrowsTheOwnersKeysOnTheNextRequest(t *testing.T) {
	s := newSetup(t)
	dev, k := s.memberKey(t, "dev@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	withKey(t, s, k.Secret, "POST", "/v1/keys", map[string]any{"name": "before"}).want(t, 201)
	if c := s.verifyCode(t, k.Secret, "orders:read"); c != keyward.VerifyValid {
		t.Fatalf("verify before the demotion = %s", c)
	}

	patch := map[string]any{"projects": []map[string]any{{"project_id": s.project.ID, "role": "viewer"}}}
	s.ok(t, "PATCH", "/v1/org/members/"+dev.UserID, patch).want(t, 200)

	// The very next request: a viewer's key reads, and does nothing else.
	withKey(t, s, k.Secret, "POST", "/v1/keys", map[string]any{"name": "after"}).wantError(t, 403, keyward.CodePermissionDenied)
	if c := s.verifyCode(t, k.Secret, "orders:read"); c != keyward.VerifyInsufficientScope {
		t.Errorf("verify of a custom scope after the demotion = %s, want INSUFFICIENT_SCOPE", c)
	}
	var who keyward.Whoami
	withKey(t, s, k.Secret, "GET", "/v1/whoami", nil).want(t, 200).decode(t, &who)
	if want := []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}; !slices.Equal(who.Scopes, want) {
		t.Errorf("whoami scopes after the demotion = %q, want %q", who.Scopes, want)
	}
	withKey(t, s, k.Secret, "GET", "/v1/keys", nil).want(t, 200)

	// The key itself keeps what it was given: promoted again, it works again.
	patch["projects"] = []map[string]any{{"project_id": s.project.ID, "role": "developer"}}
	s.ok(t, "PATCH", "/v1/org/members/"+dev.UserID, patch).want(t, 200)
	withKey(t, s, k.Secret, "POST", "/v1/keys", map[string]any{"name": "promoted"}).want(t, 201)
}

func TestDemotedOrgAdminLosesKeysOutOfReach(t *testing.T) {
	s := newSetup(t)
	admin := s.srv.MustMember(t, "admin@example.com", keyward.OrgAdmin, "", "")
	projectKey := s.srv.MustKey(t, s.srv.User(admin.UserID), s.project.ID, keyward.CreateKeyInput{Name: "admin's"})
	orgKey, err := s.srv.Service.CreateKey(ctx, s.srv.User(admin.UserID), service.Where{}, keyward.CreateKeyInput{Name: "admin's org key"})
	if err != nil {
		t.Fatal(err)
	}
	withOrgKey(t, s, orgKey.Secret, "POST", "/v1/org/members", map[string]any{"email": "one@example.com", "role": "admin"}).want(t, 201)

	s.ok(t, "PATCH", "/v1/org/members/"+admin.UserID, map[string]any{"role": "member"}).want(t, 200)

	// As a plain member with no project role, the admin's keys are revoked
	// (the default key handling): neither adds admins any more.
	withOrgKey(t, s, orgKey.Secret, "POST", "/v1/org/members", map[string]any{"email": "two@example.com", "role": "admin"}).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	withKey(t, s, projectKey.Secret, "GET", "/v1/whoami", nil).wantError(t, 401, keyward.CodeAPIKeyInvalid)
}

func TestRemovedAdminsOrgKeysAreRevokedOrKeptAsTheOrgs(t *testing.T) {
	for _, handling := range []string{"", "transfer"} {
		t.Run("key_handling="+handling, func(t *testing.T) {
			s := newSetup(t)
			admin := s.srv.MustMember(t, "admin@example.com", keyward.OrgAdmin, "", "")
			orgKey, err := s.srv.Service.CreateKey(ctx, s.srv.User(admin.UserID), service.Where{}, keyward.CreateKeyInput{Name: "admin's org key"})
			if err != nil {
				t.Fatal(err)
			}
			if orgKey.OwnerUserID == nil || *orgKey.OwnerUserID != admin.UserID {
				t.Fatalf("org key owner = %v, want the admin who made it", orgKey.OwnerUserID)
			}
			path := "/v1/org/members/" + admin.UserID
			if handling != "" {
				path += "?key_handling=" + handling
			}
			s.ok(t, "DELETE", path, nil).want(t, 204)

			add := map[string]any{"email": "late@example.com", "role": "admin"}
			if handling == "" {
				withOrgKey(t, s, orgKey.Secret, "POST", "/v1/org/members", add).wantError(t, 401, keyward.CodeAPIKeyInvalid)
				return
			}
			var who keyward.Whoami
			withOrgKey(t, s, orgKey.Secret, "GET", "/v1/org/whoami", nil).want(t, 200).decode(t, &who)
			if who.OwnerUserID != nil {
				t.Errorf("a transferred org key's owner = %q, want none (the organization's)", *who.OwnerUserID)
			}
			var events struct{ Data []keyward.AuditEvent }
			s.ok(t, "GET", "/v1/org/audit-events?action=key.transfer", nil).want(t, 200).decode(t, &events)
			if len(events.Data) != 1 || events.Data[0].Target.ID != orgKey.ID {
				t.Errorf("transfer audit events = %+v, want one for the org key", events.Data)
			}
		})
	}
}

func TestAKeyMakesOnlyKeysWeakerThanItself(t *testing.T) {
	s := newSetup(t)
	s.ok(t, "PATCH", "/v1/org/settings", map[string]any{"max_keys_per_user": 10}).want(t, 200)
	expires := s.srv.Clock.Now().Add(time.Hour).UTC().Truncate(time.Second)
	maker := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{
		Name: "bounded", ExpiresAt: &expires, IPAllowlist: []string{"127.0.0.0/8"},
		Scopes:    []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite},
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Minute)},
	})
	create := func(body map[string]any) *resp {
		body["name"] = "child"
		return withKey(t, s, maker.Secret, "POST", "/v1/keys", body)
	}
	for name, body := range map[string]map[string]any{
		"a later expiry":         {"expires_in": "48h"},
		"a wider allowlist":      {"ip_allowlist": []string{"0.0.0.0/0"}},
		"an allowlist elsewhere": {"ip_allowlist": []string{"10.0.0.0/8"}},
		"a bigger burst":         {"rate_limit": map[string]any{"limit": 144000, "window": "24h"}}, // the same 100/min on average
		"a faster rate":          {"rate_limit": map[string]any{"limit": 100, "window": "30s"}},
		"a scope it lacks":       {"scopes": []string{"keys:read", "keys:verify"}},
	} {
		t.Run(name, func(t *testing.T) { create(body).wantError(t, 403, keyward.CodePermissionDenied) })
	}

	// What the request leaves out, the child inherits.
	var child keyward.Key
	create(map[string]any{}).want(t, 201).decode(t, &child)
	if child.ExpiresAt == nil || !child.ExpiresAt.Equal(expires) {
		t.Errorf("child expires %v, want the maker's %v", child.ExpiresAt, expires)
	}
	if !slices.Equal(child.IPAllowlist, []string{"127.0.0.0/8"}) {
		t.Errorf("child allowlist %q, want the maker's", child.IPAllowlist)
	}
	if child.RateLimit == nil || child.RateLimit.Limit != 100 {
		t.Errorf("child rate limit %+v, want the maker's", child.RateLimit)
	}
	// Narrower on every axis is fine.
	create(map[string]any{"expires_in": "30m", "ip_allowlist": []string{"127.0.0.1"},
		"rate_limit": map[string]any{"limit": 1, "window": "1s"}, "scopes": []string{"keys:read"}}).want(t, 201)
}

func TestAKeyChangesOnlyKeysItCouldHaveMade(t *testing.T) {
	s := newSetup(t)
	strong := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{
		Name: "strong", IPAllowlist: []string{"127.0.0.1"},
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Second)},
	})
	writeOnly := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "w", Scopes: []string{keyward.ScopeKeysWrite}})
	path := "/v1/keys/" + strong.ID
	withKey(t, s, writeOnly.Secret, "PATCH", path, map[string]any{"ip_allowlist": []string{}, "clear_rate_limit": true}).wantError(t, 403, keyward.CodePermissionDenied)
	withKey(t, s, writeOnly.Secret, "POST", path+"/rotate", map[string]any{}).wantError(t, 403, keyward.CodePermissionDenied)
	withKey(t, s, writeOnly.Secret, "POST", path+"/revoke", map[string]any{}).wantError(t, 403, keyward.CodePermissionDenied)
	got, err := s.srv.Store.GetKey(ctx, strong.ID)
	if err != nil || len(got.IPAllowlist) != 1 || got.RateLimit == nil || got.RevokedAt != nil || got.ReplacedBy != nil {
		t.Fatalf("the strong key changed: %+v, %v", got, err)
	}

	// Org keys alike: keys:write alone cannot loosen a full org key.
	weak, err := s.srv.Service.CreateKey(ctx, s.srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "weak", Scopes: []string{keyward.ScopeKeysWrite}})
	if err != nil {
		t.Fatal(err)
	}
	full, err := s.srv.Service.CreateKey(ctx, s.srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "full", IPAllowlist: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	withOrgKey(t, s, weak.Secret, "PATCH", "/v1/org/keys/"+full.ID, map[string]any{"ip_allowlist": []string{}}).wantError(t, 403, keyward.CodePermissionDenied)
	// And on project keys, through the org routes.
	withOrgKey(t, s, weak.Secret, "PATCH", "/v1/org/projects/"+s.project.ID+"/keys/"+strong.ID, map[string]any{"clear_rate_limit": true}).wantError(t, 403, keyward.CodePermissionDenied)
}

func TestARotatedOutKeyManagesNoOtherKey(t *testing.T) {
	s := newSetup(t)
	var next keyward.Key
	s.pk(t, "POST", "/v1/keys/"+s.key.ID+"/rotate", map[string]any{"grace_period": "1h"}).want(t, 201).decode(t, &next)

	// In its grace period the old key still authenticates ...
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200)
	// ... but mints nothing, and cannot revoke or rotate its replacement.
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "forever"}).wantError(t, 403, keyward.CodePermissionDenied)
	s.pk(t, "POST", "/v1/keys/"+next.ID+"/revoke", map[string]any{}).wantError(t, 403, keyward.CodePermissionDenied)
	s.pk(t, "POST", "/v1/keys/"+next.ID+"/rotate", map[string]any{}).wantError(t, 403, keyward.CodePermissionDenied)
	s.pk(t, "PATCH", "/v1/keys/"+next.ID, map[string]any{"name": "mine"}).wantError(t, 403, keyward.CodePermissionDenied)
	withKey(t, s, next.Secret, "GET", "/v1/whoami", nil).want(t, 200)
	// It may still revoke itself.
	s.pk(t, "POST", "/v1/keys/"+s.key.ID+"/revoke", map[string]any{}).want(t, 200)
}

func TestGraceRotationsHoldTheKeyLimit(t *testing.T) {
	s := newSetup(t)
	_, k := s.memberKey(t, "dev@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	for range 2 { // up to the limit of 3 keys per user
		withKey(t, s, k.Secret, "POST", "/v1/keys", map[string]any{"name": "more"}).want(t, 201)
	}
	cur := k
	rotations, refused := 0, 0
	for range 10 {
		var next keyward.Key
		r := withKey(t, s, cur.Secret, "POST", "/v1/keys/"+cur.ID+"/rotate", map[string]any{"grace_period": "168h"})
		if r.Status != 201 {
			r.wantError(t, 409, keyward.CodeKeyLimitReached)
			refused++
			continue
		}
		r.decode(t, &next)
		rotations++
		cur = &next
	}
	if rotations != 1 || refused != 9 {
		t.Errorf("grace rotations at the limit: %d done, %d refused; want 1 and 9", rotations, refused)
	}
	var page struct{ Data []keyward.Key }
	s.pk(t, "GET", "/v1/keys?limit=200", nil).want(t, 200).decode(t, &page)
	usable := 0
	for _, key := range page.Data {
		if key.OwnerUserID != nil && *key.OwnerUserID == *k.OwnerUserID {
			usable++
		}
	}
	if usable != 4 {
		t.Errorf("usable keys of the member = %d, want the limit 3 plus one in its grace period", usable)
	}
	// Rotation without a grace period keeps the count, so it always works.
	withKey(t, s, cur.Secret, "POST", "/v1/keys/"+cur.ID+"/rotate", map[string]any{}).want(t, 201)
}

func TestOrgKeyScopesForMembership(t *testing.T) {
	s := newSetup(t)
	viewer := s.srv.MustMember(t, "viewer@example.com", keyward.OrgMember, s.project.ID, keyward.ProjectViewer)
	dev, devKey := s.memberKey(t, "dev@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	projectsOnly, err := s.srv.Service.CreateKey(ctx, s.srv.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "p", Scopes: []string{keyward.ScopeProjectsWrite, keyward.ScopeProjectsRead}})
	if err != nil {
		t.Fatal(err)
	}
	promote := map[string]any{"projects": []map[string]any{{"project_id": s.project.ID, "role": "admin"}}}
	withOrgKey(t, s, projectsOnly.Secret, "PATCH", "/v1/org/members/"+viewer.UserID, promote).wantError(t, 403, keyward.CodePermissionDenied)
	remove := map[string]any{"projects": []map[string]any{{"project_id": s.project.ID, "role": ""}}}
	withOrgKey(t, s, projectsOnly.Secret, "PATCH", "/v1/org/members/"+dev.UserID, remove).wantError(t, 403, keyward.CodePermissionDenied)
	withKey(t, s, devKey.Secret, "GET", "/v1/whoami", nil).want(t, 200)
	// projects:write still covers the project itself.
	withOrgKey(t, s, projectsOnly.Secret, "PATCH", "/v1/org/projects/"+s.project.ID, map[string]any{"name": "Renamed"}).want(t, 200)
}

func TestDefaultScopesAreTheMakersAfterCustomScopesGrow(t *testing.T) {
	s := newSetup(t)
	s.ok(t, "PATCH", "/v1/org/projects/"+s.project.ID, map[string]any{"custom_scopes": []string{"orders:read", "orders:write"}}).want(t, 200)
	var k keyward.Key
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "made by an older full key"}).want(t, 201).decode(t, &k)
	if !slices.Equal(k.Scopes, s.key.Scopes) {
		t.Errorf("default scopes = %q, want the maker's %q", k.Scopes, s.key.Scopes)
	}
}

func TestRemovedCustomScopeLeavesEveryKey(t *testing.T) {
	s := newSetup(t)
	k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "orders", Scopes: []string{"orders:read", keyward.ScopeKeysRead}})
	if c := s.verifyCode(t, k.Secret, "orders:read"); c != keyward.VerifyValid {
		t.Fatalf("verify before = %s", c)
	}
	s.ok(t, "PATCH", "/v1/org/projects/"+s.project.ID, map[string]any{"custom_scopes": []string{}}).want(t, 200)
	if c := s.verifyCode(t, k.Secret, "orders:read"); c == keyward.VerifyValid {
		t.Errorf("verify of a scope the project no longer has = %s", c)
	}
	var got keyward.Key
	s.pk(t, "GET", "/v1/keys/"+k.ID, nil).want(t, 200).decode(t, &got)
	if !slices.Equal(got.Scopes, []string{keyward.ScopeKeysRead}) {
		t.Errorf("scopes after the project dropped orders:read = %q", got.Scopes)
	}
}

func TestTransfersCannotPassALimitOrReachSomeoneWithoutAccess(t *testing.T) {
	s := newSetup(t)
	leaving, k := s.memberKey(t, "leaving@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	full, _ := s.memberKey(t, "full@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	for range 2 { // full@ reaches the limit of 3 keys per user
		s.srv.MustKey(t, s.srv.User(full.UserID), s.project.ID, keyward.CreateKeyInput{Name: "more"})
	}
	outsider := s.srv.MustMember(t, "outsider@example.com", keyward.OrgMember, "", "")

	path := "/v1/org/members/" + leaving.UserID + "?key_handling=transfer&transfer_to="
	s.ok(t, "DELETE", path+full.UserID, nil).wantError(t, 409, keyward.CodeKeyLimitReached)
	s.ok(t, "DELETE", path+outsider.UserID, nil).wantError(t, 400, keyward.CodeInvalidRequest)
	// Nothing happened: the member and their key are as they were.
	withKey(t, s, k.Secret, "GET", "/v1/whoami", nil).want(t, 200)
	if _, err := s.srv.Store.GetMember(ctx, s.srv.OrgID, leaving.UserID); err != nil {
		t.Errorf("the member is gone after refused removals: %v", err)
	}
}

func TestDemotedAdminsOrgKeysKeptAsTheOrgs(t *testing.T) {
	s := newSetup(t)
	admin := s.srv.MustMember(t, "admin@example.com", keyward.OrgAdmin, "", "")
	orgKey, err := s.srv.Service.CreateKey(ctx, s.srv.User(admin.UserID), service.Where{}, keyward.CreateKeyInput{Name: "admin's org key"})
	if err != nil {
		t.Fatal(err)
	}
	s.ok(t, "PATCH", "/v1/org/members/"+admin.UserID, map[string]any{"role": "member", "key_handling": "transfer"}).want(t, 200)
	var who keyward.Whoami
	withOrgKey(t, s, orgKey.Secret, "GET", "/v1/org/whoami", nil).want(t, 200).decode(t, &who)
	if who.OwnerUserID != nil {
		t.Errorf("org key owner after the demotion = %q, want none (the organization's)", *who.OwnerUserID)
	}
}

func TestATransferNeverRaisesAKey(t *testing.T) {
	s := newSetup(t)
	dev, k := s.memberKey(t, "dev@example.com", keyward.OrgMember, keyward.ProjectDeveloper)
	admin := s.srv.MustMember(t, "admin@example.com", keyward.OrgMember, s.project.ID, keyward.ProjectAdmin)
	viewer := map[string]any{"projects": []map[string]any{{"project_id": s.project.ID, "role": "viewer"}}}
	s.ok(t, "PATCH", "/v1/org/members/"+dev.UserID, viewer).want(t, 200)
	// Removed from the project, the viewer's key goes to an admin: whoever
	// holds it keeps what it could do, reading, and gains nothing.
	remove := map[string]any{"projects": []map[string]any{{"project_id": s.project.ID, "role": ""}},
		"key_handling": "transfer", "transfer_to": admin.UserID}
	s.ok(t, "PATCH", "/v1/org/members/"+dev.UserID, remove).want(t, 200)
	var who keyward.Whoami
	withKey(t, s, k.Secret, "GET", "/v1/whoami", nil).want(t, 200).decode(t, &who)
	if want := []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}; !slices.Equal(who.Scopes, want) {
		t.Errorf("transferred key scopes = %q, want what it could do before, %q", who.Scopes, want)
	}
	withKey(t, s, k.Secret, "POST", "/v1/keys", map[string]any{"name": "more"}).wantError(t, 403, keyward.CodePermissionDenied)
}

// Neither rotating a rate-limited key nor tightening its own window by a
// hair gives it a fresh budget: each once let a key limited to 3 requests
// an hour make as many as it liked.
func TestRateLimitsHoldThroughRotationAndWindowChanges(t *testing.T) {
	s := newSetup(t)
	limited := func() *keyward.Key {
		return s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "limited",
			RateLimit: &keyward.RateLimit{Limit: 3, Window: keyward.Duration(time.Hour)}})
	}
	t.Run("rotation", func(t *testing.T) {
		cur := limited()
		ok := 0
		for range 5 {
			for range 2 {
				if withKey(t, s, cur.Secret, "GET", "/v1/whoami", nil).Status == 200 {
					ok++
				}
			}
			var next keyward.Key
			r := withKey(t, s, cur.Secret, "POST", "/v1/keys/"+cur.ID+"/rotate", map[string]any{"grace_period": "0s"})
			if r.Status != 201 {
				continue
			}
			ok++
			r.decode(t, &next)
			cur = &next
		}
		if ok > 3 {
			t.Errorf("%d requests got through a limit of 3 an hour by rotating", ok)
		}
	})
	t.Run("window", func(t *testing.T) {
		k := limited()
		ok := 0
		for i := range 5 {
			for range 2 {
				if withKey(t, s, k.Secret, "GET", "/v1/whoami", nil).Status == 200 {
					ok++
				}
			}
			window := fmt.Sprintf("%ds", 3601+i)
			if withKey(t, s, k.Secret, "PATCH", "/v1/keys/"+k.ID, map[string]any{"rate_limit": map[string]any{"limit": 3, "window": window}}).Status == 200 {
				ok++
			}
		}
		if ok > 3 {
			t.Errorf("%d requests got through a limit of 3 an hour by changing the window", ok)
		}
	})
}

// During a rotation's grace period the old and the new key share one
// budget: a key limited to 5 a minute does not get 10 by being rotated.
func TestRotationGracePairSharesOneBudget(t *testing.T) {
	s := newSetup(t)
	k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "limited",
		RateLimit: &keyward.RateLimit{Limit: 5, Window: keyward.Duration(time.Hour)}})
	var next keyward.Key
	s.pk(t, "POST", "/v1/keys/"+k.ID+"/rotate", map[string]any{"grace_period": "1h"}).want(t, 201).decode(t, &next)
	ok := 0
	for range 10 {
		for _, secret := range []string{k.Secret, next.Secret} {
			if withKey(t, s, secret, "GET", "/v1/whoami", nil).Status == 200 {
				ok++
			}
		}
	}
	if ok != 5 {
		t.Errorf("the old and new key together made %d requests in the window; want the one budget of 5", ok)
	}
}

// The ways around a shared budget the third review found: a replacement
// narrowing its own window while both keys are used; a replacement
// narrowing its predecessor's window step by step; a chain of self
// rotations. None gets past one budget (10 a day here).
func TestRotationChainsAndWindowsKeepOneBudget(t *testing.T) {
	s := newSetup(t)
	s.ok(t, "PATCH", "/v1/org/settings", map[string]any{"max_keys_per_user": 50}).want(t, 200)
	limit := func() *keyward.Key {
		return s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "limited",
			Scopes: []string{keyward.ScopeKeysRead, keyward.ScopeKeysWrite}, RateLimit: &keyward.RateLimit{Limit: 10, Window: keyward.Duration(24 * time.Hour)}})
	}
	verify := func(secret string) bool { return s.verifyCode(t, secret) == keyward.VerifyValid }
	rotate := func(k *keyward.Key, grace string) (*keyward.Key, bool) {
		var next keyward.Key
		r := withKey(t, s, k.Secret, "POST", "/v1/keys/"+k.ID+"/rotate", map[string]any{"grace_period": grace})
		if r.Status != 201 {
			return nil, false
		}
		r.decode(t, &next)
		return &next, true
	}
	t.Run("replacement narrows its own window", func(t *testing.T) {
		k1 := limit()
		k2, ok := rotate(k1, "24h")
		if !ok {
			t.Fatal("rotate")
		}
		n := 1
		if withKey(t, s, k2.Secret, "PATCH", "/v1/keys/"+k2.ID, map[string]any{"rate_limit": map[string]any{"limit": 9, "window": "86399s"}}).Status == 200 {
			n++
		}
		for range 100 {
			for _, k := range []*keyward.Key{k1, k2} {
				if verify(k.Secret) {
					n++
				}
			}
		}
		if n > 10 {
			t.Errorf("%d requests went through one budget of 10", n)
		}
	})
	t.Run("replacement narrows its predecessor step by step", func(t *testing.T) {
		k1 := limit()
		k2, ok := rotate(k1, "24h")
		if !ok {
			t.Fatal("rotate")
		}
		n := 1
		for i := range 5 {
			for range 10 {
				if verify(k1.Secret) {
					n++
				}
			}
			if withKey(t, s, k2.Secret, "PATCH", "/v1/keys/"+k1.ID, map[string]any{"rate_limit": map[string]any{"limit": 9 - i, "window": fmt.Sprintf("%ds", 86399-i)}}).Status == 200 {
				n++
			}
		}
		if n > 10 {
			t.Errorf("%d requests went through one budget of 10", n)
		}
	})
	t.Run("chain of self rotations", func(t *testing.T) {
		cur := limit()
		keys := []*keyward.Key{cur}
		n := 0
		for range 4 {
			if verify(cur.Secret) {
				n++
			}
			next, ok := rotate(cur, "24h")
			if !ok {
				break
			}
			n++
			keys = append(keys, next)
			cur = next
		}
		for range 20 {
			for _, k := range keys {
				if verify(k.Secret) {
					n++
				}
			}
		}
		if n > 2*10 {
			t.Errorf("%d requests went through a chain of %d rotations; want at most two budgets of 10", n, len(keys)-1)
		}
	})
}
