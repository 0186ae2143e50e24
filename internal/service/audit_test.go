package service_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// auditView is the part of an event every change must fill in.
type auditView struct {
	Actor     keyward.ActorRef
	Action    string
	Target    keyward.ActorRef
	ProjectID string
	Result    string
	IP        string
	UserAgent string
	RequestID string
}

func viewOf(e *keyward.AuditEvent) auditView {
	return auditView{e.Actor, e.Action, e.Target, e.ProjectID, e.Result, e.IP, e.UserAgent, e.RequestID}
}

// TestEveryChangeIsAuditedOnce runs each kind of change and checks that it
// wrote exactly one event, with who, what, on what, from where, which
// request and the result.
func TestEveryChangeIsAuditedOnce(t *testing.T) {
	env := kwtest.NewEnv(t)
	origin := service.Origin{IP: "198.51.100.23", UserAgent: "audit-test/1", RequestID: "req_01AUDIT"}
	owner := service.UserActor(env.OwnerID, env.OrgID, origin)
	_, automation := orgKey(t, env, nil)
	automation.Origin = origin
	me := keyward.ActorRef{Type: keyward.ActorUser, ID: env.OwnerID}

	var p *keyward.Project
	var k, rotated *keyward.Key
	var userID string
	project := func() keyward.ActorRef { return keyward.ActorRef{Type: "project", ID: p.ID} }
	steps := []struct {
		name string
		do   func(t *testing.T) error
		want func() auditView
	}{
		{"project create", func(t *testing.T) (err error) {
			p, err = env.Service.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "Shop"})
			return err
		}, func() auditView { return auditView{me, "project.create", project(), p.ID, "success", "", "", ""} }},
		{"project update", func(t *testing.T) error {
			_, err := env.Service.UpdateProject(ctx, owner, p.ID, keyward.ProjectPatch{Name: ptr("Shop 2"), CustomScopes: &[]string{"orders:read"}})
			return err
		}, func() auditView { return auditView{me, "project.update", project(), p.ID, "success", "", "", ""} }},
		{"key create", func(t *testing.T) (err error) {
			k, err = env.Service.CreateKey(ctx, owner, where(p.ID), keyward.CreateKeyInput{Name: "ci"})
			return err
		}, func() auditView { return auditView{me, "key.create", keyRefOf(k), p.ID, "success", "", "", ""} }},
		{"key update", func(t *testing.T) error {
			_, err := env.Service.UpdateKey(ctx, owner, where(p.ID), k.ID, keyward.KeyPatch{Name: ptr("ci 2")})
			return err
		}, func() auditView { return auditView{me, "key.update", keyRefOf(k), p.ID, "success", "", "", ""} }},
		{"key rotate", func(t *testing.T) (err error) {
			rotated, err = env.Service.RotateKey(ctx, owner, where(p.ID), k.ID, keyward.RotateInput{GracePeriod: dur("1h")})
			return err
		}, func() auditView { return auditView{me, "key.rotate", keyRefOf(k), p.ID, "success", "", "", ""} }},
		{"key revoke", func(t *testing.T) error {
			_, err := env.Service.RevokeKey(ctx, owner, where(p.ID), rotated.ID, keyward.RevokeInput{Reason: "done"})
			return err
		}, func() auditView { return auditView{me, "key.revoke", keyRefOf(rotated), p.ID, "success", "", "", ""} }},
		{"org key create by an org key", func(t *testing.T) (err error) {
			k, err = env.Service.CreateKey(ctx, automation, service.Where{}, keyward.CreateKeyInput{Name: "org"})
			return err
		}, func() auditView {
			return auditView{automation.Ref(), "key.create", keyRefOf(k), "", "success", "", "", ""}
		}},
		{"member add", func(t *testing.T) error {
			m, err := env.Service.AddMember(ctx, owner, keyward.AddMemberInput{Email: "ada@example.com", Role: keyward.OrgMember})
			if m != nil {
				userID = m.UserID
			}
			return err
		}, func() auditView { return auditView{me, "member.add", userRef(userID), "", "success", "", "", ""} }},
		{"member update", func(t *testing.T) error {
			_, err := env.Service.UpdateMember(ctx, owner, userID, keyward.MemberPatch{Role: ptr(keyward.OrgAdmin)})
			return err
		}, func() auditView { return auditView{me, "member.update", userRef(userID), "", "success", "", "", ""} }},
		{"member remove", func(t *testing.T) error {
			return env.Service.RemoveMember(ctx, owner, userID, keyward.RemoveMemberInput{})
		}, func() auditView { return auditView{me, "member.remove", userRef(userID), "", "success", "", "", ""} }},
		{"settings update", func(t *testing.T) error {
			_, err := env.Service.UpdateSettings(ctx, owner, keyward.SettingsPatch{MaxOrgKeys: ptr(20)})
			return err
		}, func() auditView {
			return auditView{me, "settings.update", keyward.ActorRef{Type: "org", ID: env.OrgID}, "", "success", "", "", ""}
		}},
		{"project delete", func(t *testing.T) error {
			return env.Service.DeleteProject(ctx, owner, p.ID)
		}, func() auditView { return auditView{me, "project.delete", project(), p.ID, "success", "", "", ""} }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := events(t, env, keyward.AuditFilter{})
			if err := st.do(t); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			after := events(t, env, keyward.AuditFilter{})
			if len(after) != len(before)+1 {
				t.Fatalf("%d new events, want 1", len(after)-len(before))
			}
			want := st.want()
			want.IP, want.UserAgent, want.RequestID = origin.IP, origin.UserAgent, origin.RequestID
			if diff := cmp.Diff(want, viewOf(after[0])); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if !after[0].Time.Equal(env.Clock.Now()) || !keyward.ValidID(keyward.PrefixEvent, after[0].ID) {
				t.Errorf("event id %q time %v; want an evt_ id at %v", after[0].ID, after[0].Time, env.Clock.Now())
			}
		})
	}
	// Audit events outlive the project they describe.
	if evs := events(t, env, keyward.AuditFilter{ProjectID: p.ID}); len(evs) < 6 {
		t.Errorf("%d events left for the deleted project", len(evs))
	}
}

func keyRefOf(k *keyward.Key) keyward.ActorRef {
	return keyward.ActorRef{Type: keyward.ActorKey, ID: k.ID}
}
func userRef(id string) keyward.ActorRef { return keyward.ActorRef{Type: keyward.ActorUser, ID: id} }

// TestFailedChangesWriteNoSuccess: a refused change leaves no success event
// behind (the event lives in the change's transaction).
func TestFailedChangesWriteNoSuccess(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(1)})
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	before := events(t, env, keyward.AuditFilter{})

	_, err := env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: "over"})
	wantCode(t, err, keyward.CodeKeyLimitReached)
	_, err = env.Service.CreateKey(ctx, env.Owner(), where(p.ID), keyward.CreateKeyInput{Name: ""})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{GracePeriod: dur("200h")})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{Scopes: &[]string{"orders:read"}})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.UpdateSettings(ctx, env.Owner(), keyward.SettingsPatch{MaxOrgKeys: ptr(0)})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.CreateProject(ctx, env.Owner(), keyward.CreateProjectInput{Name: "P"}) // duplicate slug
	wantCode(t, err, keyward.CodeConflict)

	after := events(t, env, keyward.AuditFilter{})
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("failed changes wrote events (-before +after):\n%s", diff)
	}
	if n, _ := env.Store.CountUsableKeys(ctx, keyward.KeyFilter{OrgID: env.OrgID, ProjectID: p.ID, Now: env.Clock.Now()}); n != 1 {
		t.Errorf("%d usable keys, want 1", n)
	}
}

// TestNoSecretInAudit: after every kind of change, no secret appears in any
// event.
func TestNoSecretInAudit(t *testing.T) {
	env := kwtest.NewEnv(t)
	const password = "correct horse battery"
	secrets := []string{env.OrgKey, password, string(env.Pepper)}
	p := env.MustProject(t, "P", "orders:read")
	setSettings(t, env, keyward.SettingsPatch{MaxKeysPerUser: ptr(20)})
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "a", Metadata: map[string]string{"env": "prod"}})
	secrets = append(secrets, k.Secret)
	nk, err := env.Service.RotateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.RotateInput{GracePeriod: dur("1h")})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, nk.Secret)
	ok, okActor := orgKey(t, env, nil)
	secrets = append(secrets, ok.Secret)
	byKey, err := env.Service.CreateKey(ctx, okActor, where(p.ID), keyward.CreateKeyInput{Name: "by org key"})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, byKey.Secret)
	if _, err := env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), nk.ID, keyward.KeyPatch{Metadata: &map[string]string{"env": "staging"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.RevokeKey(ctx, okActor, where(p.ID), nk.ID, keyward.RevokeInput{Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	dev := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	dk := env.MustKey(t, env.User(dev), p.ID, keyward.CreateKeyInput{})
	secrets = append(secrets, dk.Secret)
	if err := env.Service.RemoveMember(ctx, env.Owner(), dev, keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer}); err != nil {
		t.Fatal(err)
	}
	// Denied attempts by keys and users.
	_, limited := projectKey(t, env, nil, p.ID, []string{"keys:write"})
	_, _ = env.Service.CreateKey(ctx, limited, where(p.ID), keyward.CreateKeyInput{Name: "wider"})
	// Authentication with a bad key is not audited at all.
	_, _ = env.Service.Authenticate(ctx, env.OrgKey[:39]+"x", keyward.KindOrg, localIP)

	evs := events(t, env, keyward.AuditFilter{})
	if len(evs) < 10 {
		t.Fatalf("only %d events", len(evs))
	}
	raw, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a secret (%.6s…) appears in the audit log", s)
		}
	}
	if m := regexp.MustCompile(`kw[po]_[0-9A-Za-z]{36}`).FindString(text); m != "" {
		t.Errorf("something shaped like a key appears in the audit log: %.8s…", m)
	}
	// Digests are as good as secrets for a lookup; they stay out too.
	if strings.Contains(strings.ToLower(text), "digest") {
		t.Errorf("a digest appears in the audit log")
	}
}

func TestAuditFilters(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	dev := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	t0 := env.Clock.Now()
	env.Clock.Advance(time.Hour)
	k1 := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{}) // t0+1h
	env.Clock.Advance(time.Hour)
	k2 := env.MustKey(t, env.User(dev), p.ID, keyward.CreateKeyInput{}) // t0+2h
	env.Clock.Advance(time.Hour)
	if _, err := env.Service.RevokeKey(ctx, env.User(dev), where(p.ID), k2.ID, keyward.RevokeInput{}); err != nil { // t0+3h
		t.Fatal(err)
	}
	if _, err := env.Service.UpdateProject(ctx, env.Owner(), p.ID, keyward.ProjectPatch{CustomScopes: &[]string{"a:b"}}); err != nil { // t0+3h
		t.Fatal(err)
	}

	type ev struct{ Action, Target string }
	list := func(q service.AuditQuery) []ev {
		t.Helper()
		q.ProjectID = p.ID
		page, err := env.Service.ListProjectAudit(ctx, env.Owner(), q)
		if err != nil {
			t.Fatalf("ListProjectAudit(%+v): %v", q, err)
		}
		var out []ev
		for _, e := range page.Data {
			out = append(out, ev{e.Action, e.Target.ID})
		}
		return out
	}
	tests := []struct {
		name string
		q    service.AuditQuery
		want []ev
	}{
		{"all, newest first", service.AuditQuery{}, []ev{
			{"project.update", p.ID}, {"key.revoke", k2.ID}, {"key.create", k2.ID}, {"key.create", k1.ID}, {"project.create", p.ID}}},
		{"action prefix key.", service.AuditQuery{Action: "key."}, []ev{
			{"key.revoke", k2.ID}, {"key.create", k2.ID}, {"key.create", k1.ID}}},
		{"exact action", service.AuditQuery{Action: "key.create"}, []ev{{"key.create", k2.ID}, {"key.create", k1.ID}}},
		{"prefix without dot is exact", service.AuditQuery{Action: "key"}, nil},
		{"actor", service.AuditQuery{ActorID: dev}, []ev{{"key.revoke", k2.ID}, {"key.create", k2.ID}}},
		{"since (inclusive)", service.AuditQuery{Since: t0.Add(2 * time.Hour)}, []ev{
			{"project.update", p.ID}, {"key.revoke", k2.ID}, {"key.create", k2.ID}}},
		{"until (exclusive)", service.AuditQuery{Until: t0.Add(2 * time.Hour)}, []ev{{"key.create", k1.ID}, {"project.create", p.ID}}},
		{"since and until", service.AuditQuery{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []ev{
			{"key.create", k2.ID}, {"key.create", k1.ID}}},
		{"actor and action", service.AuditQuery{ActorID: env.OwnerID, Action: "key."}, []ev{{"key.create", k1.ID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, list(tt.q)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// since must come before until.
	_, err := env.Service.ListProjectAudit(ctx, env.Owner(), service.AuditQuery{ProjectID: p.ID, Since: t0.Add(time.Hour), Until: t0})
	wantCode(t, err, keyward.CodeInvalidRequest)
	// Paging the audit log: 2 per page, no event twice.
	var seen []string
	cursor := ""
	for range 5 {
		page, err := env.Service.ListProjectAudit(ctx, env.Owner(), service.AuditQuery{ProjectID: p.ID, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Data {
			seen = append(seen, e.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	all, _ := env.Service.ListProjectAudit(ctx, env.Owner(), service.AuditQuery{ProjectID: p.ID})
	var want []string
	for _, e := range all.Data {
		want = append(want, e.ID)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("paged audit ids (-want +got):\n%s", diff)
	}
	// The org log holds the project's events and the org's own.
	org, err := env.Service.ListOrgAudit(ctx, env.Owner(), service.AuditQuery{Action: "member."})
	if err != nil || len(org.Data) != 1 || org.Data[0].Target.ID != dev {
		t.Errorf("org log member events = %+v, %v; want the one member.add", org, err)
	}
}
