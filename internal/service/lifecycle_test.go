package service_test

import (
	"net/netip"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// authn authenticates a project key from localhost.
func authn(env *kwtest.Env, secret string) error {
	_, err := env.Service.Authenticate(ctx, secret, keyward.KindProject, localIP)
	return err
}

func TestSecretShownOnce(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "ci"})
	if !regexp.MustCompile(`^kwp_[0-9A-Za-z]{36}$`).MatchString(k.Secret) {
		t.Fatalf("secret %q is not a project key", k.Secret)
	}
	if want := "kwp_…" + k.Secret[len(k.Secret)-4:]; k.Hint != want {
		t.Errorf("Hint = %q, want %q", k.Hint, want)
	}
	got, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != "" || got.Hint != k.Hint {
		t.Errorf("GetKey: Secret %q, Hint %q; want no secret and hint %q", got.Secret, got.Hint, k.Hint)
	}
	page, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), service.ListKeysQuery{Status: "all"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range page.Data {
		if l.Secret != "" {
			t.Errorf("ListKeys returned the secret of %s", l.ID)
		}
	}
	rotated, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{})
	if err != nil || rotated.Secret == "" || rotated.Secret == k.Secret {
		t.Fatalf("rotate returned secret %q, %v; want a new one", rotated.Secret, err)
	}
	ok, _ := orgKey(t, env, nil)
	if !regexp.MustCompile(`^kwo_[0-9A-Za-z]{36}$`).MatchString(ok.Secret) || ok.Hint != "kwo_…"+ok.Secret[36:] {
		t.Errorf("org key secret %q, hint %q", ok.Secret, ok.Hint)
	}
}

// keySettings are what a rotated key must carry over.
type keySettings struct {
	Name        string
	Kind        keyward.KeyKind
	ProjectID   string
	Scopes      []string
	IPAllowlist []string
	Metadata    map[string]string
	Owner       *string
}

func settingsOf(k *keyward.Key) keySettings {
	return keySettings{k.Name, k.Kind, k.ProjectID, k.Scopes, k.IPAllowlist, k.Metadata, k.OwnerUserID}
}

func TestRotateNow(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P", "orders:read")
	dev := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	old := env.MustKey(t, env.User(dev), p.ID, keyward.CreateKeyInput{
		Name: "deploys", Scopes: []string{"keys:read", "orders:read"},
		IPAllowlist: []string{"127.0.0.0/8", "2001:db8::/32"}, Metadata: map[string]string{"team": "ops"},
	})
	// The owner (not the key's owner) rotates: ownership stays with dev.
	nk, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), old.ID, keyward.RotateInput{GracePeriod: dur("0s")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(settingsOf(old), settingsOf(nk)); diff != "" {
		t.Errorf("rotated key settings (-old +new):\n%s", diff)
	}
	if nk.ID == old.ID || nk.Status != keyward.StatusActive {
		t.Errorf("new key id %s status %q", nk.ID, nk.Status)
	}
	wantCode(t, authn(env, old.Secret), keyward.CodeAPIKeyInvalid)
	wantCode(t, authn(env, nk.Secret), "")

	got, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != keyward.StatusRevoked || got.ReplacedBy == nil || *got.ReplacedBy != nk.ID {
		t.Errorf("old key: status %q, replaced by %v; want revoked, replaced by %s", got.Status, got.ReplacedBy, nk.ID)
	}
	stored, _ := env.Store.GetKey(ctx, old.ID)
	if stored.Digest != nil {
		t.Error("the old key's digest survived a rotation without grace")
	}
	// The default grace (none given) is 0 as well.
	nk2, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), nk.ID, keyward.RotateInput{})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, authn(env, nk.Secret), keyward.CodeAPIKeyInvalid)
	wantCode(t, authn(env, nk2.Secret), "")
}

func TestRotateWithGrace(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	old := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	start := env.Clock.Now()
	nk, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), old.ID, keyward.RotateInput{GracePeriod: dur("24h")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != keyward.StatusExpiring || got.ExpiresAt == nil || !got.ExpiresAt.Equal(start.Add(24*time.Hour)) {
		t.Errorf("old key: status %q, expires %v; want expiring at %v", got.Status, got.ExpiresAt, start.Add(24*time.Hour))
	}
	wantCode(t, authn(env, old.Secret), "")
	wantCode(t, authn(env, nk.Secret), "")

	// An expiring key cannot be rotated again: its replacement can.
	_, err = env.Service.RotateKey(ctx, env.Owner(), where(p.ID), old.ID, keyward.RotateInput{})
	wantCode(t, err, keyward.CodeConflict)

	env.Clock.Advance(24*time.Hour + time.Second)
	wantCode(t, authn(env, old.Secret), keyward.CodeAPIKeyExpired)
	wantCode(t, authn(env, nk.Secret), "")
	got, _ = env.Service.GetKey(ctx, env.Owner(), where(p.ID), old.ID)
	if got.Status != keyward.StatusExpired {
		t.Errorf("old key after its grace: status %q, want expired", got.Status)
	}
}

func TestRotateKeepsLifetime(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	old := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{ExpiresIn: dur("30d")})
	env.Clock.Advance(10 * 24 * time.Hour)
	nk, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), old.ID, keyward.RotateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := env.Clock.Now().Add(30 * 24 * time.Hour); nk.ExpiresAt == nil || !nk.ExpiresAt.Equal(want) {
		t.Errorf("new key expires %v, want %v (the same 30-day lifetime)", nk.ExpiresAt, want)
	}
}

func TestRotateOrRevokeDeadKeys(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	revoked := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), revoked.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	expired := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{ExpiresIn: dur("1h")})
	env.Clock.Advance(time.Hour)
	for _, id := range []string{revoked.ID, expired.ID} {
		_, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), id, keyward.RotateInput{})
		wantCode(t, err, keyward.CodeConflict)
		_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), id, keyward.KeyPatch{Name: ptr("x")})
		wantCode(t, err, keyward.CodeConflict)
	}
	wantCode(t, authn(env, expired.Secret), keyward.CodeAPIKeyExpired)
}

func TestRevokeIdempotent(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	first, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{Reason: "leaked"})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	second, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{Reason: "again"})
	if err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if diff := cmp.Diff(first, second, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Digest" || p.Last().String() == ".Secret"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("second revoke changed the key (-first +second):\n%s", diff)
	}
	if first.Status != keyward.StatusRevoked || first.RevokeReason == nil || *first.RevokeReason != "leaked" {
		t.Errorf("revoked key: status %q reason %v", first.Status, first.RevokeReason)
	}
	if n := countEvents(t, env, service.AuditKeyRevoke, keyward.ResultSuccess); n != 1 {
		t.Errorf("%d key.revoke events, want 1", n)
	}
	stored, err := env.Store.GetKey(ctx, k.ID)
	if err != nil || stored.Digest != nil {
		t.Errorf("revoked key's digest = %x, %v; want erased", stored.Digest, err)
	}
	wantCode(t, authn(env, k.Secret), keyward.CodeAPIKeyInvalid)
	// It never comes back, whatever the time.
	env.Clock.Advance(365 * 24 * time.Hour)
	wantCode(t, authn(env, k.Secret), keyward.CodeAPIKeyInvalid)
}

func TestConcurrentRevokes(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]*keyward.Key, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{})
		}()
	}
	close(start)
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || results[i].Status != keyward.StatusRevoked {
			t.Errorf("revoke %d: %v, %+v", i, errs[i], results[i])
		}
	}
	if n := countEvents(t, env, service.AuditKeyRevoke, keyward.ResultSuccess); n != 1 {
		t.Errorf("%d key.revoke events, want 1", n)
	}
}

func TestUnknownAndRevokedLookAlike(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	errRevoked := asError(t, authn(env, k.Secret))
	errUnknown := asError(t, authn(env, apikey.Generate(apikey.PrefixProject)))
	errMalformed := asError(t, authn(env, "kwp_not-a-key"))
	for name, e := range map[string]*keyward.Error{"unknown": errUnknown, "malformed": errMalformed} {
		if e.Code != errRevoked.Code || e.Message != errRevoked.Message {
			t.Errorf("%s key: %s %q; revoked key: %s %q; want the same", name, e.Code, e.Message, errRevoked.Code, errRevoked.Message)
		}
	}
	if errRevoked.Code != keyward.CodeAPIKeyInvalid {
		t.Errorf("revoked key code %s", errRevoked.Code)
	}
	// Verify says INVALID for both, too.
	_, a := projectKey(t, env, nil, p.ID, nil)
	for _, secret := range []string{k.Secret, apikey.Generate(apikey.PrefixProject)} {
		res, err := env.Service.Verify(ctx, a, p.ID, keyward.VerifyInput{Key: secret})
		if err != nil || res.Valid || res.Code != keyward.VerifyInvalid || res.Key != nil {
			t.Errorf("Verify = %+v, %v; want INVALID without a key", res, err)
		}
	}
}

func TestExpiredKey(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{ExpiresIn: dur("1h")})
	env.Clock.Advance(time.Hour - time.Second)
	wantCode(t, authn(env, k.Secret), "")
	env.Clock.Advance(time.Second)
	wantCode(t, authn(env, k.Secret), keyward.CodeAPIKeyExpired)
}

func TestIPAllowlist(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(10)})
	tests := []struct {
		name      string
		allowlist []string
		inside    []string
		outside   []string
	}{
		{"IPv4 CIDR", []string{"10.0.0.0/8"}, []string{"10.0.0.1", "10.255.255.255", "::ffff:10.1.2.3"}, []string{"11.0.0.1", "192.168.1.1", "2001:db8::1"}},
		{"IPv6 CIDR", []string{"2001:db8::/32"}, []string{"2001:db8::1", "2001:db8:ffff::1"}, []string{"2001:db9::1", "10.0.0.1"}},
		{"single IP", []string{"203.0.113.7"}, []string{"203.0.113.7"}, []string{"203.0.113.8", "203.0.113.6"}},
		{"single IPv6", []string{"2001:db8::7"}, []string{"2001:db8::7"}, []string{"2001:db8::8"}},
		{"several", []string{"203.0.113.7", "10.0.0.0/8"}, []string{"203.0.113.7", "10.9.9.9"}, []string{"203.0.113.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{IPAllowlist: tt.allowlist})
			for _, ip := range tt.inside {
				_, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, netip.MustParseAddr(ip))
				wantCode(t, err, "")
			}
			for _, ip := range tt.outside {
				_, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, netip.MustParseAddr(ip))
				wantCode(t, err, keyward.CodeIPNotAllowed)
			}
		})
	}
}

// keyIDs returns the ids of keys, sorted.
func keyIDs(keys ...*keyward.Key) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestListKeysStatusFilter(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(10)})
	active := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "active"})
	rotated := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "rotated"})
	successor, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), rotated.ID, keyward.RotateInput{GracePeriod: dur("24h")})
	if err != nil {
		t.Fatal(err)
	}
	revoked := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "revoked"})
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), revoked.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	expired := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "expired", ExpiresIn: dur("1h")})
	env.Clock.Advance(2 * time.Hour)
	// Keys of another project never show.
	env.MustKey(t, nil, env.MustProject(t, "Q").ID, keyward.CreateKeyInput{})

	wantStatus := map[string]keyward.KeyStatus{
		active.ID: keyward.StatusActive, rotated.ID: keyward.StatusExpiring, successor.ID: keyward.StatusActive,
		revoked.ID: keyward.StatusRevoked, expired.ID: keyward.StatusExpired,
	}
	tests := []struct {
		status string
		want   []string
	}{
		{"", keyIDs(active, rotated, successor)},
		{"active", keyIDs(active, rotated, successor)},
		{"revoked", keyIDs(revoked)},
		{"expired", keyIDs(expired)},
		{"all", keyIDs(active, rotated, successor, revoked, expired)},
	}
	for _, tt := range tests {
		t.Run("status="+tt.status, func(t *testing.T) {
			page, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), service.ListKeysQuery{Status: tt.status})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keyIDs(page.Data...)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			for _, k := range page.Data {
				if k.Status != wantStatus[k.ID] {
					t.Errorf("%s (%s): status %q, want %q", k.ID, k.Name, k.Status, wantStatus[k.ID])
				}
			}
			if page.NextCursor != nil {
				t.Errorf("next cursor %q on a short list", *page.NextCursor)
			}
		})
	}
}

func TestListKeysPagination(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(10)})
	var want []string
	for range 7 {
		want = append(want, env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{}).ID)
	}
	slices.Reverse(want) // newest first
	var got []string
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		res, err := env.Service.ListKeys(ctx, env.Owner(), where(p.ID), service.ListKeysQuery{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(res.Data))
		for _, k := range res.Data {
			got = append(got, k.ID)
		}
		if res.NextCursor == nil {
			break
		}
		cursor = *res.NextCursor
	}
	if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids across pages, newest first, no duplicates (-want +got):\n%s", diff)
	}
}

func TestUpdateKey(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "old", Scopes: []string{"keys:read", "keys:write"}, Metadata: map[string]string{"a": "1"}})

	got, err := env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{
		Name: ptr("  new name  "), Metadata: &map[string]string{"team": "billing"},
		IPAllowlist: &[]string{"10.1.2.3"}, Scopes: &[]string{"keys:read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := env.Service.GetKey(ctx, env.Owner(), where(p.ID), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := keySettings{Name: "new name", Kind: keyward.KindProject, ProjectID: p.ID, Scopes: []string{"keys:read"},
		IPAllowlist: []string{"10.1.2.3/32"}, Metadata: map[string]string{"team": "billing"}, Owner: &env.OwnerID}
	for name, k := range map[string]*keyward.Key{"returned": got, "stored": stored} {
		if diff := cmp.Diff(want, settingsOf(k)); diff != "" {
			t.Errorf("%s key (-want +got):\n%s", name, diff)
		}
	}
	// Scopes may only narrow.
	_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Scopes: &[]string{"keys:read", "keys:write"}})
	if f := fieldsOf(t, err); !slices.Equal(f, []string{"scopes"}) {
		t.Errorf("widening: fields %v, want [scopes]", f)
	}
	// A failed update changes nothing.
	_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Name: ptr("fine"), IPAllowlist: &[]string{"nope"}})
	wantCode(t, err, keyward.CodeInvalidRequest)
	if again, _ := env.Service.GetKey(ctx, env.Owner(), where(p.ID), k.ID); again.Name != "new name" {
		t.Errorf("name after a failed update = %q", again.Name)
	}
	if n := countEvents(t, env, service.AuditKeyUpdate, keyward.ResultSuccess); n != 1 {
		t.Errorf("%d key.update events, want 1", n)
	}
	// The new allowlist holds.
	wantCode(t, authn(env, k.Secret), keyward.CodeIPNotAllowed)
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Name: ptr("zombie")})
	wantCode(t, err, keyward.CodeConflict)
}
