package service_test

import (
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// roleFixture is one org with project P, the actor under test and another
// developer of P whose keys are "someone else's".
type roleFixture struct {
	env   *kwtest.Env
	p     string // project id
	self  string // the acting user
	prole keyward.ProjectRole
	other string // another developer of P
}

func (f *roleFixture) actor() *service.Actor { return f.env.User(f.self) }

// freshProject makes a new project in which the actor holds the same
// project role as in P, for the destructive cells (rename, delete).
func (f *roleFixture) freshProject(t *testing.T) string {
	t.Helper()
	q := f.env.MustProject(t, uniq("fresh"))
	if f.prole != "" {
		if err := f.env.Store.PutProjectMember(ctx, &keyward.ProjectMember{ProjectID: q.ID, UserID: f.self, Role: f.prole}); err != nil {
			t.Fatal(err)
		}
	}
	return q.ID
}

// roleAction is one row of the role table of docs/authority.md, as a service call.
type roleAction struct {
	name string
	do   func(t *testing.T, f *roleFixture) error
}

var roleActions = []roleAction{
	{"see keys", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.ListKeys(ctx, f.actor(), where(f.p), service.ListKeysQuery{})
		return err
	}},
	{"see audit log", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.ListProjectAudit(ctx, f.actor(), service.AuditQuery{ProjectID: f.p})
		return err
	}},
	{"create key", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.CreateKey(ctx, f.actor(), where(f.p), keyward.CreateKeyInput{Name: "mine"})
		return err
	}},
	{"rotate own key", func(t *testing.T, f *roleFixture) error {
		k := keyOwnedBy(t, f.env, f.p, f.self)
		_, err := f.env.Service.RotateKey(ctx, f.actor(), where(f.p), k.ID, keyward.RotateInput{})
		return err
	}},
	{"revoke own key", func(t *testing.T, f *roleFixture) error {
		k := keyOwnedBy(t, f.env, f.p, f.self)
		_, err := f.env.Service.RevokeKey(ctx, f.actor(), where(f.p), k.ID, keyward.RevokeInput{})
		return err
	}},
	{"rotate someone else's key", func(t *testing.T, f *roleFixture) error {
		k := keyOwnedBy(t, f.env, f.p, f.other)
		_, err := f.env.Service.RotateKey(ctx, f.actor(), where(f.p), k.ID, keyward.RotateInput{})
		return err
	}},
	{"revoke someone else's key", func(t *testing.T, f *roleFixture) error {
		k := keyOwnedBy(t, f.env, f.p, f.other)
		_, err := f.env.Service.RevokeKey(ctx, f.actor(), where(f.p), k.ID, keyward.RevokeInput{})
		return err
	}},
	{"manage project members", func(t *testing.T, f *roleFixture) error {
		target := member(t, f.env, keyward.OrgMember, "", "")
		_, err := f.env.Service.UpdateMember(ctx, f.actor(), target, keyward.MemberPatch{
			Projects: []keyward.ProjectMember{{ProjectID: f.p, Role: keyward.ProjectDeveloper}},
		})
		return err
	}},
	{"manage project settings", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.UpdateProject(ctx, f.actor(), f.p, keyward.ProjectPatch{CustomScopes: &[]string{"orders:read"}})
		return err
	}},
	{"create project", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.CreateProject(ctx, f.actor(), keyward.CreateProjectInput{Name: uniq("new")})
		return err
	}},
	{"rename project", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.UpdateProject(ctx, f.actor(), f.freshProject(t), keyward.ProjectPatch{Name: ptr("Renamed")})
		return err
	}},
	{"delete project", func(t *testing.T, f *roleFixture) error {
		return f.env.Service.DeleteProject(ctx, f.actor(), f.freshProject(t))
	}},
	{"org keys", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.CreateKey(ctx, f.actor(), service.Where{}, keyward.CreateKeyInput{Name: "automation"})
		return err
	}},
	{"org members", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.AddMember(ctx, f.actor(), keyward.AddMemberInput{Email: uniq("new") + "@example.com", Role: keyward.OrgMember})
		return err
	}},
	{"org settings", func(t *testing.T, f *roleFixture) error {
		_, err := f.env.Service.UpdateSettings(ctx, f.actor(), keyward.SettingsPatch{MaxKeysPerUser: ptr(5)})
		return err
	}},
	{"change owners", func(t *testing.T, f *roleFixture) error {
		target := member(t, f.env, keyward.OrgMember, "", "")
		_, err := f.env.Service.UpdateMember(ctx, f.actor(), target, keyward.MemberPatch{Role: ptr(keyward.OrgOwner)})
		return err
	}},
}

// TestRoleTable checks every cell of the role table (docs/authority.md), plus an org
// member without a role in the project, to whom it does not exist.
func TestRoleTable(t *testing.T) {
	const (
		ok = ""
		no = keyward.CodePermissionDenied
		nf = keyward.CodeNotFound
	)
	actors := []struct {
		name  string
		role  keyward.OrgRole
		prole keyward.ProjectRole
		want  map[string]string // action -> code
	}{
		{"org owner", keyward.OrgOwner, "", map[string]string{
			"see keys": ok, "see audit log": ok, "create key": ok, "rotate own key": ok, "revoke own key": ok,
			"rotate someone else's key": ok, "revoke someone else's key": ok,
			"manage project members": ok, "manage project settings": ok,
			"create project": ok, "rename project": ok, "delete project": ok,
			"org keys": ok, "org members": ok, "org settings": ok, "change owners": ok,
		}},
		{"org admin", keyward.OrgAdmin, "", map[string]string{
			"see keys": ok, "see audit log": ok, "create key": ok, "rotate own key": ok, "revoke own key": ok,
			"rotate someone else's key": ok, "revoke someone else's key": ok,
			"manage project members": ok, "manage project settings": ok,
			"create project": ok, "rename project": ok, "delete project": ok,
			"org keys": ok, "org members": ok, "org settings": ok, "change owners": no,
		}},
		{"project admin", keyward.OrgMember, keyward.ProjectAdmin, map[string]string{
			"see keys": ok, "see audit log": ok, "create key": ok, "rotate own key": ok, "revoke own key": ok,
			"rotate someone else's key": ok, "revoke someone else's key": ok,
			"manage project members": ok, "manage project settings": ok,
			"create project": no, "rename project": no, "delete project": no,
			"org keys": no, "org members": no, "org settings": no, "change owners": no,
		}},
		{"developer", keyward.OrgMember, keyward.ProjectDeveloper, map[string]string{
			"see keys": ok, "see audit log": ok, "create key": ok, "rotate own key": ok, "revoke own key": ok,
			"rotate someone else's key": no, "revoke someone else's key": no,
			"manage project members": no, "manage project settings": no,
			"create project": no, "rename project": no, "delete project": no,
			"org keys": no, "org members": no, "org settings": no, "change owners": no,
		}},
		{"viewer", keyward.OrgMember, keyward.ProjectViewer, map[string]string{
			"see keys": ok, "see audit log": ok, "create key": no, "rotate own key": no, "revoke own key": no,
			"rotate someone else's key": no, "revoke someone else's key": no,
			"manage project members": no, "manage project settings": no,
			"create project": no, "rename project": no, "delete project": no,
			"org keys": no, "org members": no, "org settings": no, "change owners": no,
		}},
		// Project-level cells are NOT_FOUND: the project does not exist for
		// this member. Org-level cells are refused before any project is
		// looked up (delete checks the org role first), so they say nothing
		// about the project either.
		{"org member without project role", keyward.OrgMember, "", map[string]string{
			"see keys": nf, "see audit log": nf, "create key": nf, "rotate own key": nf, "revoke own key": nf,
			"rotate someone else's key": nf, "revoke someone else's key": nf,
			"manage project members": nf, "manage project settings": nf,
			"create project": no, "rename project": nf, "delete project": no,
			"org keys": no, "org members": no, "org settings": no, "change owners": no,
		}},
	}
	for _, ac := range actors {
		t.Run(ac.name, func(t *testing.T) {
			t.Parallel()
			env := kwtest.NewEnv(t)
			p := env.MustProject(t, "P")
			f := &roleFixture{env: env, p: p.ID, prole: ac.prole}
			if ac.role == keyward.OrgOwner {
				f.self = env.OwnerID
			} else if ac.prole == "" {
				f.self = member(t, env, ac.role, "", "")
			} else {
				f.self = member(t, env, ac.role, p.ID, ac.prole)
			}
			f.other = member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
			if len(ac.want) != len(roleActions) {
				t.Fatalf("expectations for %d actions, table has %d", len(ac.want), len(roleActions))
			}
			for _, act := range roleActions {
				t.Run(act.name, func(t *testing.T) {
					want, ok := ac.want[act.name]
					if !ok {
						t.Fatalf("no expectation for %q", act.name)
					}
					// Repeats of a denial within a minute add to one
					// event's count: count attempts, not rows.
					deniedCount := func(evs []*keyward.AuditEvent) (n int, denied []*keyward.AuditEvent) {
						for _, e := range evs {
							if e.Result == keyward.ResultDenied {
								n += e.Count
								denied = append(denied, e)
							}
						}
						return n, denied
					}
					before, _ := deniedCount(events(t, env, keyward.AuditFilter{ActorID: f.self}))
					err := act.do(t, f)
					wantCode(t, err, want)
					// Every refusal of a known user is audited as "denied",
					// once; NOT_FOUND and successes write no denial.
					after, denied := deniedCount(events(t, env, keyward.AuditFilter{ActorID: f.self}))
					wantDenied := 0
					if want == keyward.CodePermissionDenied {
						wantDenied = 1
					}
					if after-before != wantDenied {
						t.Errorf("%d denied attempts audited, want %d", after-before, wantDenied)
					}
					for _, e := range denied {
						if e.Actor != (keyward.ActorRef{Type: keyward.ActorUser, ID: f.self}) || e.IP != "127.0.0.1" || e.RequestID != "req_test" || e.Action == "" {
							t.Errorf("denied event %+v lacks actor, action, IP or request id", e)
						}
					}
				})
			}
		})
	}
}

// TestOwnersProtected: admins (users or org keys) may not make, change or
// remove owners, and the last owner can be neither demoted nor removed.
func TestOwnersProtected(t *testing.T) {
	env := kwtest.NewEnv(t)
	admin := env.User(member(t, env, keyward.OrgAdmin, "", ""))
	_, orgKeyActor := orgKey(t, env, nil)
	plain := member(t, env, keyward.OrgMember, "", "")
	secondAdmin := member(t, env, keyward.OrgAdmin, "", "")

	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"admin demotes owner", func() error {
			_, err := env.Service.UpdateMember(ctx, admin, env.OwnerID, keyward.MemberPatch{Role: ptr(keyward.OrgAdmin)})
			return err
		}, keyward.CodePermissionDenied},
		{"admin promotes member to owner", func() error {
			_, err := env.Service.UpdateMember(ctx, admin, plain, keyward.MemberPatch{Role: ptr(keyward.OrgOwner)})
			return err
		}, keyward.CodePermissionDenied},
		{"admin adds an owner", func() error {
			_, err := env.Service.AddMember(ctx, admin, keyward.AddMemberInput{Email: uniq("o") + "@example.com", Role: keyward.OrgOwner})
			return err
		}, keyward.CodePermissionDenied},
		{"admin removes owner", func() error {
			return env.Service.RemoveMember(ctx, admin, env.OwnerID, keyward.RemoveMemberInput{})
		}, keyward.CodePermissionDenied},
		{"org key demotes owner", func() error {
			_, err := env.Service.UpdateMember(ctx, orgKeyActor, env.OwnerID, keyward.MemberPatch{Role: ptr(keyward.OrgMember)})
			return err
		}, keyward.CodePermissionDenied},
		{"org key promotes member to owner", func() error {
			_, err := env.Service.UpdateMember(ctx, orgKeyActor, plain, keyward.MemberPatch{Role: ptr(keyward.OrgOwner)})
			return err
		}, keyward.CodePermissionDenied},
		{"org key removes owner", func() error {
			return env.Service.RemoveMember(ctx, orgKeyActor, env.OwnerID, keyward.RemoveMemberInput{})
		}, keyward.CodePermissionDenied},
		{"admin demotes another admin", func() error {
			_, err := env.Service.UpdateMember(ctx, admin, secondAdmin, keyward.MemberPatch{Role: ptr(keyward.OrgMember)})
			return err
		}, ""},
		{"last owner demotes self", func() error {
			_, err := env.Service.UpdateMember(ctx, env.Owner(), env.OwnerID, keyward.MemberPatch{Role: ptr(keyward.OrgAdmin)})
			return err
		}, keyward.CodeConflict},
		{"last owner removes self", func() error {
			return env.Service.RemoveMember(ctx, env.Owner(), env.OwnerID, keyward.RemoveMemberInput{})
		}, keyward.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.do(), tt.want)
		})
	}
	m, err := env.Store.GetMember(ctx, env.OrgID, env.OwnerID)
	if err != nil || m.Role != keyward.OrgOwner {
		t.Fatalf("the owner is now %v (err %v), want still owner", m, err)
	}
	if n := countEvents(t, env, service.AuditMemberUpdate, keyward.ResultDenied); n != 4 {
		t.Errorf("%d denied member.update events, want 4", n)
	}
}

// TestSecondOwner: with two owners one may go, but never the last.
func TestSecondOwner(t *testing.T) {
	env := kwtest.NewEnv(t)
	second := member(t, env, keyward.OrgMember, "", "")
	if _, err := env.Service.UpdateMember(ctx, env.Owner(), second, keyward.MemberPatch{Role: ptr(keyward.OrgOwner)}); err != nil {
		t.Fatalf("owner makes an owner: %v", err)
	}
	// The second owner demotes the first: allowed, one owner is left.
	if _, err := env.Service.UpdateMember(ctx, env.User(second), env.OwnerID, keyward.MemberPatch{Role: ptr(keyward.OrgAdmin)}); err != nil {
		t.Fatalf("second owner demotes the first: %v", err)
	}
	_, err := env.Service.UpdateMember(ctx, env.User(second), second, keyward.MemberPatch{Role: ptr(keyward.OrgMember)})
	wantCode(t, err, keyward.CodeConflict)
	err = env.Service.RemoveMember(ctx, env.User(second), second, keyward.RemoveMemberInput{})
	wantCode(t, err, keyward.CodeConflict)
	// The demoted first owner, now an admin, cannot remove the last owner.
	err = env.Service.RemoveMember(ctx, env.Owner(), second, keyward.RemoveMemberInput{})
	wantCode(t, err, keyward.CodePermissionDenied)
	if n, err := env.Store.CountOwners(ctx, env.OrgID); err != nil || n != 1 {
		t.Fatalf("CountOwners = %d, %v; want 1", n, err)
	}
}

// TestUpdateMemberNeedsARight: a member without any right over members
// cannot use an empty or same-role patch to read another member or to write
// an audit event for a change that did not happen.
func TestUpdateMemberNeedsARight(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	viewer := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectViewer)
	target := member(t, env, keyward.OrgAdmin, "", "")
	before := countEvents(t, env, service.AuditMemberUpdate, keyward.ResultSuccess)

	tests := []struct {
		name  string
		patch keyward.MemberPatch
	}{
		{"empty patch", keyward.MemberPatch{}},
		{"same role", keyward.MemberPatch{Role: ptr(keyward.OrgAdmin)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.UpdateMember(ctx, env.User(viewer), target, tt.patch)
			wantCode(t, err, keyward.CodePermissionDenied)
		})
	}
	if n := countEvents(t, env, service.AuditMemberUpdate, keyward.ResultSuccess); n != before {
		t.Errorf("%d new member.update success events for no change, want 0", n-before)
	}
}
