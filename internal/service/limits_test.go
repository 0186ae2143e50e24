package service_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// wantLimit fails t unless err is KEY_LIMIT_REACHED with a message that
// names the limit and says that revoking a key frees a slot.
func wantLimit(t *testing.T, err error, mentions string) {
	t.Helper()
	wantCode(t, err, keyward.CodeKeyLimitReached)
	msg := asError(t, err).Message
	if !strings.Contains(msg, "revoking a key frees a slot") || !strings.Contains(msg, mentions) {
		t.Errorf("limit message %q should mention %q and that revoking a key frees a slot", msg, mentions)
	}
}

func TestMaxKeysPerUser(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	q := env.MustProject(t, "Q")
	create := func(in keyward.CreateKeyInput) (*keyward.Key, error) {
		in.Name = uniq("k")
		return env.Service.CreateKey(ctx, env.Owner(), where(p.ID), in)
	}
	k1 := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{ExpiresIn: dur("1h")})

	_, err := create(keyward.CreateKeyInput{})
	wantLimit(t, err, "limit of 3 keys per user")

	// The limit is per project: the same user still has room in Q.
	env.MustKey(t, nil, q.ID, keyward.CreateKeyInput{})

	// Revoking one frees a slot.
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), k1.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := create(keyward.CreateKeyInput{}); err != nil {
		t.Fatalf("create after a revoke: %v", err)
	}
	_, err = create(keyward.CreateKeyInput{})
	wantLimit(t, err, "per user")

	// An expired key frees its slot too.
	env.Clock.Advance(time.Hour)
	if _, err := create(keyward.CreateKeyInput{}); err != nil {
		t.Fatalf("create after a key expired: %v", err)
	}
	_, err = create(keyward.CreateKeyInput{})
	wantLimit(t, err, "per user")

	// A key created by a project key is owned by that key's owner, so it
	// counts against the same user.
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(2)})
	owned, ka := projectKey(t, env, nil, q.ID, nil) // the owner's 2nd key in Q
	if owned.OwnerUserID == nil || *owned.OwnerUserID != env.OwnerID {
		t.Fatalf("owner of a user's key = %v", owned.OwnerUserID)
	}
	_, err = env.Service.CreateKey(ctx, ka, where(q.ID), keyward.CreateKeyInput{Name: "by key"})
	wantLimit(t, err, "per user")

	// Rotation is not held to the limit: a user at the limit can rotate.
	if _, err := env.Service.RotateKey(ctx, env.Owner(), where(q.ID), owned.ID, keyward.RotateInput{GracePeriod: dur("1h")}); err != nil {
		t.Errorf("rotate at the limit: %v", err)
	}
}

func TestMaxKeysPerProject(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	_, automation := orgKey(t, env, nil)
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerProject: ptr(4), MaxKeysPerUser: ptr(1)})

	// Keys an org key creates have no owner and count only against the
	// project: three of them leave the owner's own slot free.
	for i := 0; i < 3; i++ {
		k, err := env.Service.CreateKey(ctx, automation, where(p.ID), keyward.CreateKeyInput{Name: uniq("auto")})
		if err != nil {
			t.Fatalf("org key creates key %d: %v", i, err)
		}
		if k.OwnerUserID != nil {
			t.Fatalf("key created by an org key has owner %q", *k.OwnerUserID)
		}
	}
	mine := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})

	// The project is full, for org keys and users alike.
	_, err := env.Service.CreateKey(ctx, automation, where(p.ID), keyward.CreateKeyInput{Name: "one more"})
	wantLimit(t, err, "limit of 4 keys")
	other := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	_, err = env.Service.CreateKey(ctx, env.User(other), where(p.ID), keyward.CreateKeyInput{Name: "one more"})
	wantLimit(t, err, "project")

	// Org keys do not count against projects.
	if _, err := env.Service.CreateKey(ctx, automation, service.Where{}, keyward.CreateKeyInput{Name: "org"}); err != nil {
		t.Errorf("org key while a project is full: %v", err)
	}
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), where(p.ID), mine.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.CreateKey(ctx, env.User(other), where(p.ID), keyward.CreateKeyInput{Name: "now"}); err != nil {
		t.Errorf("create after a revoke freed a project slot: %v", err)
	}
}

func TestMaxOrgKeys(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxOrgKeys: ptr(3)})
	createOrgKey := func() (*keyward.Key, error) {
		return env.Service.CreateKey(ctx, env.Owner(), service.Where{}, keyward.CreateKeyInput{Name: uniq("org")})
	}
	// The bootstrap key is the first.
	k2, err := createOrgKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createOrgKey(); err != nil {
		t.Fatal(err)
	}
	_, err = createOrgKey()
	wantLimit(t, err, "limit of 3 org keys")
	// Project keys are not org keys.
	env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	if _, err := env.Service.RevokeKey(ctx, env.Owner(), service.Where{}, k2.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := createOrgKey(); err != nil {
		t.Errorf("org key after a revoke: %v", err)
	}
}

func TestMaxKeyLifetime(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(50), MaxKeyLifetime: dur("30d")})
	now := env.Clock.Now()
	tests := []struct {
		name string
		in   keyward.CreateKeyInput
		want string
	}{
		{"no expiry", keyward.CreateKeyInput{}, keyward.CodeInvalidRequest},
		{"expires_in too long", keyward.CreateKeyInput{ExpiresIn: dur("31d")}, keyward.CodeInvalidRequest},
		{"expires_at too late", keyward.CreateKeyInput{ExpiresAt: ptr(now.Add(30*24*time.Hour + time.Second))}, keyward.CodeInvalidRequest},
		{"expires_in inside", keyward.CreateKeyInput{ExpiresIn: dur("29d")}, ""},
		{"expires_at at the limit", keyward.CreateKeyInput{ExpiresAt: ptr(now.Add(30 * 24 * time.Hour))}, ""},
		{"expires_in 1h", keyward.CreateKeyInput{ExpiresIn: dur("1h")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Name = "k"
			k, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), tt.in)
			wantCode(t, err, tt.want)
			if err != nil {
				if got := fieldsOf(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "expires_") {
					t.Errorf("fields at fault = %v, want expires_at or expires_in", got)
				}
				return
			}
			if k.ExpiresAt == nil || k.ExpiresAt.After(now.Add(30*24*time.Hour)) {
				t.Errorf("ExpiresAt = %v, want within 30 days of %v", k.ExpiresAt, now)
			}
		})
	}
	// Org keys are held to it as well; clearing it allows keys for ever.
	_, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "org"})
	wantCode(t, err, keyward.CodeInvalidRequest)
	setSettings(t, env, keyward.SettingsPatch{ClearMaxKeyLifetime: true})
	if k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{}); k.ExpiresAt != nil {
		t.Errorf("ExpiresAt = %v after clearing the limit, want none", k.ExpiresAt)
	}
}

func TestRotationMaxGrace(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(50)})
	rotate := func(grace string) error {
		k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
		_, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{GracePeriod: dur(grace)})
		return err
	}
	// The default policy is the hard maximum, 168h.
	wantCode(t, rotate("168h"), "")
	wantCode(t, rotate("168h1s"), keyward.CodeInvalidRequest)
	wantCode(t, rotate("8d"), keyward.CodeInvalidRequest)

	setSettings(t, env, keyward.SettingsPatch{RotationMaxGrace: dur("1h")})
	wantCode(t, rotate("1h"), "")
	err := rotate("1h1s")
	if got := fieldsOf(t, err); len(got) != 1 || got[0] != "grace_period" {
		t.Errorf("fields at fault = %v, want [grace_period]", got)
	}
	// The policy itself can never allow more than 168h.
	_, err = env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{RotationMaxGrace: dur("169h")})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{RotationMaxGrace: ptr(keyward.Duration(-time.Hour))})
	wantCode(t, err, keyward.CodeInvalidRequest)
	st, err := env.Service.GetSettings(ctx, env.Owner())
	if err != nil || st.RotationMaxGrace.Std() != time.Hour {
		t.Errorf("rotation_max_grace = %v, %v; want 1h unchanged", st, err)
	}
}

// TestLimitRace: concurrent creates racing for the last slots take exactly
// as many slots as there are, and every other one hears KEY_LIMIT_REACHED.
func TestLimitRace(t *testing.T) {
	tests := []struct {
		name     string
		existing int // keys the owner holds before the race
		racers   int
	}{
		{"two racers, one slot", 2, 2},
		{"ten racers, three slots", 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := kwtest.NewEnv(t)
			p := env.MustProject(t, "P")
			for i := 0; i < tt.existing; i++ {
				env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
			}
			start := make(chan struct{})
			errs := make([]error, tt.racers)
			var wg sync.WaitGroup
			for i := range tt.racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "racer"})
				}()
			}
			close(start)
			wg.Wait()
			ok, limited := 0, 0
			for _, err := range errs {
				switch kwtest.Code(err) {
				case "":
					ok++
				case keyward.CodeKeyLimitReached:
					limited++
				default:
					t.Errorf("racer: %v", err)
				}
			}
			slots := 3 - tt.existing
			if ok != slots || limited != tt.racers-slots {
				t.Errorf("%d created, %d limited; want %d and %d", ok, limited, slots, tt.racers-slots)
			}
			n, err := env.Store.CountUsableKeys(ctx, keyward.KeyFilter{OrgID: env.OrgID, ProjectID: p.ID, OwnerUserID: env.OwnerID, Now: env.Clock.Now()})
			if err != nil || n != 3 {
				t.Errorf("usable keys = %d, %v; want 3", n, err)
			}
			if got := countEvents(t, env, service.AuditKeyCreate, keyward.ResultSuccess); got != 3 {
				t.Errorf("%d key.create events, want 3", got)
			}
		})
	}
}

// TestRotateUnderMaxKeyLifetime: a rotated key is a new key, so the org's
// max_key_lifetime holds for it too, even when the old key predates the
// policy or had a longer lifetime.
func TestRotateUnderMaxKeyLifetime(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	forever := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	long := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{ExpiresIn: dur("90d")})
	setSettings(t, env, keyward.SettingsPatch{MaxKeyLifetime: dur("30d")})
	limit := env.Clock.Now().Add(30 * 24 * time.Hour)
	for _, k := range []*keyward.Key{forever, long} {
		nk, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{})
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if nk.ExpiresAt == nil || nk.ExpiresAt.After(limit) {
			t.Errorf("rotated key expires %v, want by %v (max_key_lifetime)", nk.ExpiresAt, limit)
		}
	}
}
