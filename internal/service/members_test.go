package service_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// keyFate is what became of one key: its status and owner.
type keyFate struct {
	Status keyward.KeyStatus
	Owner  string
}

func fates(t *testing.T, env *kwtest.Env, keys ...*keyward.Key) map[string]keyFate {
	t.Helper()
	out := map[string]keyFate{}
	for _, k := range keys {
		got, err := env.Store.GetKey(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		f := keyFate{Status: got.StatusAt(env.Clock.Now())}
		if got.OwnerUserID != nil {
			f.Owner = *got.OwnerUserID
		}
		out[k.ID] = f
	}
	return out
}

// auditedKeys returns, per key id, the actions of the org's key events
// after the first n events (newest first).
func auditedKeys(t *testing.T, env *kwtest.Env, since int) map[string][]string {
	t.Helper()
	all := events(t, env, keyward.AuditFilter{Action: "key."})
	out := map[string][]string{}
	for _, e := range all[:len(all)-since] {
		out[e.Target.ID] = append(out[e.Target.ID], e.Action)
	}
	return out
}

func TestRemoveMemberKeys(t *testing.T) {
	tests := []struct {
		name     string
		in       keyward.RemoveMemberInput
		wantFate keyward.KeyStatus
		toAdmin  bool
		action   string
	}{
		{"default revokes", keyward.RemoveMemberInput{}, keyward.StatusRevoked, false, service.AuditKeyRevoke},
		{"revoke", keyward.RemoveMemberInput{KeyHandling: keyward.KeysRevoke}, keyward.StatusRevoked, false, service.AuditKeyRevoke},
		{"transfer to the acting admin", keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer}, keyward.StatusActive, true, service.AuditKeyTransfer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := kwtest.NewEnv(t)
			p := env.MustProject(t, "P")
			q := env.MustProject(t, "Q")
			admin := member(t, env, keyward.OrgAdmin, "", "")
			leaver := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
			if _, err := env.Service.UpdateMember(ctx, env.Owner(), leaver, keyward.MemberPatch{Projects: []keyward.ProjectMember{{ProjectID: q.ID, Role: keyward.ProjectDeveloper}}}); err != nil {
				t.Fatal(err)
			}
			k1 := env.MustKey(t, env.User(leaver), p.ID, keyward.CreateKeyInput{})
			k2 := env.MustKey(t, env.User(leaver), q.ID, keyward.CreateKeyInput{})
			bystander := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
			n := len(events(t, env, keyward.AuditFilter{Action: "key."}))

			if err := env.Service.RemoveMember(ctx, env.User(admin), leaver, tt.in); err != nil {
				t.Fatalf("RemoveMember: %v", err)
			}
			owner := leaver
			if tt.toAdmin {
				owner = admin
			}
			want := map[string]keyFate{
				k1.ID:        {tt.wantFate, owner},
				k2.ID:        {tt.wantFate, owner},
				bystander.ID: {keyward.StatusActive, env.OwnerID},
			}
			if diff := cmp.Diff(want, fates(t, env, k1, k2, bystander)); diff != "" {
				t.Errorf("keys after removal (-want +got):\n%s", diff)
			}
			wantEvents := map[string][]string{k1.ID: {tt.action}, k2.ID: {tt.action}}
			if diff := cmp.Diff(wantEvents, auditedKeys(t, env, n)); diff != "" {
				t.Errorf("key events (-want +got):\n%s", diff)
			}
			if n := countEvents(t, env, service.AuditMemberRemove, keyward.ResultSuccess); n != 1 {
				t.Errorf("%d member.remove events, want 1", n)
			}
			if _, err := env.Store.GetMember(ctx, env.OrgID, leaver); kwtest.Code(err) != keyward.CodeNotFound {
				t.Errorf("member still there: %v", err)
			}
			wantAuth := keyward.CodeAPIKeyInvalid
			if tt.toAdmin {
				wantAuth = ""
			}
			wantCode(t, authn(env, k1.Secret), wantAuth)
		})
	}
}

func TestRemoveMemberTransferTo(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	leaver := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	heir := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	k := env.MustKey(t, env.User(leaver), p.ID, keyward.CreateKeyInput{})
	_, automation := orgKey(t, env, nil)

	// An org key has no user to transfer to: it must say whom.
	err := env.Service.RemoveMember(ctx, automation, leaver, keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer})
	if f := fieldsOf(t, err); len(f) != 1 || f[0] != "transfer_to" {
		t.Errorf("fields %v, want [transfer_to]", f)
	}
	// Not to the leaver, nor to a stranger.
	for _, to := range []string{leaver, keyward.NewID(keyward.PrefixUser)} {
		err = env.Service.RemoveMember(ctx, automation, leaver, keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer, TransferTo: to})
		wantCode(t, err, keyward.CodeInvalidRequest)
	}
	if _, err := env.Store.GetMember(ctx, env.OrgID, leaver); err != nil {
		t.Fatalf("a refused removal removed the member: %v", err)
	}
	err = env.Service.RemoveMember(ctx, automation, leaver, keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer, TransferTo: heir})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]keyFate{k.ID: {keyward.StatusActive, heir}}, fates(t, env, k)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	evs := events(t, env, keyward.AuditFilter{Action: service.AuditKeyTransfer})
	if len(evs) != 1 || evs[0].Details["to_user_id"] != heir || evs[0].Details["from_user_id"] != leaver {
		t.Errorf("key.transfer events = %+v", evs)
	}
	// A bad key_handling is refused outright.
	err = env.Service.RemoveMember(ctx, env.Owner(), heir, keyward.RemoveMemberInput{KeyHandling: "orphan"})
	wantCode(t, err, keyward.CodeInvalidRequest)
}

// TestRemoveFromOneProject: a project role of "" removes the member from
// that project, and only that project's keys are handled.
func TestRemoveFromOneProject(t *testing.T) {
	tests := []struct {
		name    string
		patch   func(p string) keyward.MemberPatch
		wantP   keyFate
		eventOf string
	}{
		{"revoke", func(p string) keyward.MemberPatch {
			return keyward.MemberPatch{Projects: []keyward.ProjectMember{{ProjectID: p, Role: ""}}}
		}, keyFate{Status: keyward.StatusRevoked}, service.AuditKeyRevoke},
		{"transfer", func(p string) keyward.MemberPatch {
			return keyward.MemberPatch{Projects: []keyward.ProjectMember{{ProjectID: p, Role: ""}}, KeyHandling: keyward.KeysTransfer}
		}, keyFate{Status: keyward.StatusActive}, service.AuditKeyTransfer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := kwtest.NewEnv(t)
			p := env.MustProject(t, "P")
			q := env.MustProject(t, "Q")
			padmin := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectAdmin)
			dev := member(t, env, keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
			if _, err := env.Service.UpdateMember(ctx, env.Owner(), dev, keyward.MemberPatch{Projects: []keyward.ProjectMember{{ProjectID: q.ID, Role: keyward.ProjectDeveloper}}}); err != nil {
				t.Fatal(err)
			}
			inP := env.MustKey(t, env.User(dev), p.ID, keyward.CreateKeyInput{})
			inQ := env.MustKey(t, env.User(dev), q.ID, keyward.CreateKeyInput{})
			n := len(events(t, env, keyward.AuditFilter{Action: "key."}))

			// The project admin of P (nothing in Q) removes dev from P.
			m, err := env.Service.UpdateMember(ctx, env.User(padmin), dev, tt.patch(p.ID))
			if err != nil {
				t.Fatalf("UpdateMember: %v", err)
			}
			if diff := cmp.Diff([]keyward.ProjectMember{{ProjectID: q.ID, UserID: dev, Role: keyward.ProjectDeveloper}}, m.Projects); diff != "" {
				t.Errorf("project roles after removal (-want +got):\n%s", diff)
			}
			wantP := tt.wantP
			wantP.Owner = dev
			if tt.eventOf == service.AuditKeyTransfer {
				wantP.Owner = padmin
			}
			want := map[string]keyFate{inP.ID: wantP, inQ.ID: {keyward.StatusActive, dev}}
			if diff := cmp.Diff(want, fates(t, env, inP, inQ)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string][]string{inP.ID: {tt.eventOf}}, auditedKeys(t, env, n)); diff != "" {
				t.Errorf("key events (-want +got):\n%s", diff)
			}
			// The project admin of P cannot do the same in Q: Q does not
			// exist for them.
			_, err = env.Service.UpdateMember(ctx, env.User(padmin), dev, tt.patch(q.ID))
			wantCode(t, err, keyward.CodeNotFound)
			if got := fates(t, env, inQ)[inQ.ID]; got.Status != keyward.StatusActive {
				t.Errorf("Q key after a refused removal: %+v", got)
			}
		})
	}
}

func TestAddMember(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	m, err := env.Service.AddMember(ctx, env.Owner(), keyward.AddMemberInput{
		Email: "  Ada@Example.COM ", Name: "Ada Lovelace", Role: keyward.OrgMember,
		Projects: []keyward.ProjectMember{{ProjectID: p.ID, Role: keyward.ProjectViewer}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A new person gets a one-time link that sets their password.
	if m.Invitation == nil || !strings.HasPrefix(m.Invitation.URL, kwtest.PublicURL+"/invite?token=") {
		t.Errorf("new member's invitation: %+v", m.Invitation)
	}
	m.Invitation = nil
	want := &keyward.Member{OrgID: env.OrgID, UserID: m.UserID, Email: "ada@example.com", Name: "Ada Lovelace", Role: keyward.OrgMember,
		CreatedAt: env.Clock.Now(), Projects: []keyward.ProjectMember{{ProjectID: p.ID, UserID: m.UserID, Role: keyward.ProjectViewer}}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("member (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		in   keyward.AddMemberInput
		want string
	}{
		{"existing member", keyward.AddMemberInput{Email: "ada@example.com", Role: keyward.OrgMember}, keyward.CodeConflict},
		{"existing member, other case", keyward.AddMemberInput{Email: "ADA@example.com", Role: keyward.OrgAdmin}, keyward.CodeConflict},
		{"the owner", keyward.AddMemberInput{Email: "owner@example.com", Role: keyward.OrgMember}, keyward.CodeConflict},
		{"no at", keyward.AddMemberInput{Email: "ada.example.com", Role: keyward.OrgMember}, keyward.CodeInvalidRequest},
		{"nothing before the at", keyward.AddMemberInput{Email: "@example.com", Role: keyward.OrgMember}, keyward.CodeInvalidRequest},
		{"nothing after the at", keyward.AddMemberInput{Email: "ada@", Role: keyward.OrgMember}, keyward.CodeInvalidRequest},
		{"spaces", keyward.AddMemberInput{Email: "a da@example.com", Role: keyward.OrgMember}, keyward.CodeInvalidRequest},
		{"empty", keyward.AddMemberInput{Email: "", Role: keyward.OrgMember}, keyward.CodeInvalidRequest},
		{"bad role", keyward.AddMemberInput{Email: "bob@example.com", Role: "god"}, keyward.CodeInvalidRequest},
		{"bad project role", keyward.AddMemberInput{Email: "bob@example.com", Role: keyward.OrgMember, Projects: []keyward.ProjectMember{{ProjectID: p.ID, Role: "boss"}}}, keyward.CodeInvalidRequest},
		{"unknown project", keyward.AddMemberInput{Email: "bob@example.com", Role: keyward.OrgMember, Projects: []keyward.ProjectMember{{ProjectID: keyward.NewID(keyward.PrefixProject), Role: keyward.ProjectViewer}}}, keyward.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.Service.AddMember(ctx, env.Owner(), tt.in)
			wantCode(t, err, tt.want)
			if tt.want == keyward.CodeInvalidRequest {
				fieldsOf(t, err)
			}
		})
	}
	// Refused adds left nothing behind: bob is not a member.
	if _, err := env.Store.GetUserByEmail(ctx, "bob@example.com"); kwtest.Code(err) != keyward.CodeNotFound {
		t.Errorf("bob exists after refused adds: %v", err)
	}
	if n := countEvents(t, env, service.AuditMemberAdd, keyward.ResultSuccess); n != 1 {
		t.Errorf("%d member.add events, want 1", n)
	}
}

func TestProjectAdminAddsProjectMembers(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	padmin := env.MustMember(t, "padmin@example.com", keyward.OrgMember, p.ID, keyward.ProjectAdmin)
	env.MustMember(t, "dev2@example.com", keyward.OrgMember, "", "")
	viewer := env.MustMember(t, "viewer2@example.com", keyward.OrgMember, p.ID, keyward.ProjectViewer)

	m, err := env.Service.AddProjectMember(ctx, env.User(padmin.UserID), p.ID, "DEV2@example.com", keyward.ProjectDeveloper)
	if err != nil || len(m.Projects) != 1 || m.Projects[0].Role != keyward.ProjectDeveloper {
		t.Fatalf("AddProjectMember = %+v, %v", m, err)
	}
	// Only org members can be added, and only by project admins.
	_, err = env.Service.AddProjectMember(ctx, env.User(padmin.UserID), p.ID, "stranger@example.com", keyward.ProjectViewer)
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.AddProjectMember(ctx, env.User(viewer.UserID), p.ID, "dev2@example.com", keyward.ProjectAdmin)
	wantCode(t, err, keyward.CodePermissionDenied)
}
