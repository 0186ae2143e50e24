package service_test

import (
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Names tells a user only what they may see: members of their own org by
// email; keys and projects of their org that they may read. Nothing of
// another org, of a project they hold no role in, of org keys (for
// non-admins) or of former members is named.
func TestNamesOnlyWhatTheUserMaySee(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	q := env.MustProject(t, "Q")
	viewer := env.MustMember(t, "viewer@example.com", keyward.OrgMember, p.ID, keyward.ProjectViewer)
	dev := env.MustMember(t, "dev@example.com", keyward.OrgMember, q.ID, keyward.ProjectDeveloper)
	former := env.MustMember(t, "former@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	if err := env.Service.RemoveMember(ctx, env.Owner(), former.UserID, keyward.RemoveMemberInput{}); err != nil {
		t.Fatal(err)
	}
	kp := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "in P"})
	kq := env.MustKey(t, nil, q.ID, keyward.CreateKeyInput{Name: "in Q"})
	orgKey, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{}, keyward.CreateKeyInput{Name: "org"})
	if err != nil {
		t.Fatal(err)
	}

	// Another org, with a person, a project and a key of its own.
	b, err := env.Service.CreateOrg(ctx, env.OwnerID, service.CreateOrgInput{Name: "Other"}, service.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	bOwner := service.UserActor(env.OwnerID, b.ID, service.Origin{})
	bp, err := env.Service.CreateProject(ctx, bOwner, keyward.CreateProjectInput{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	bonly, err := env.Service.AddMember(ctx, bOwner, keyward.AddMemberInput{Email: "bonly@example.com", Role: keyward.OrgMember})
	if err != nil {
		t.Fatal(err)
	}
	bk, err := env.Service.CreateKey(ctx, bOwner, service.Where{ProjectID: bp.ID}, keyward.CreateKeyInput{Name: "B key"})
	if err != nil {
		t.Fatal(err)
	}

	all := service.NameQuery{
		Users:    []string{env.OwnerID, dev.UserID, former.UserID, bonly.UserID, "usr_nonsense"},
		Keys:     []string{kp.ID, kq.ID, orgKey.ID, bk.ID},
		Projects: []string{p.ID, q.ID, bp.ID},
		Emails:   []string{"owner@example.com", "bonly@example.com", "former@example.com"},
	}
	check := func(who string, a *service.Actor, people, keys, projects, emails []string) {
		t.Helper()
		n, err := env.Service.Names(ctx, a, all)
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if got := len(n.People) + len(n.Keys) + len(n.Projects) + len(n.UserIDs); got != len(people)+len(keys)+len(projects)+len(emails) {
			t.Errorf("%s: named %d things, want %d: %+v", who, got, len(people)+len(keys)+len(projects)+len(emails), n)
		}
		for _, id := range people {
			if n.People[id] == "" {
				t.Errorf("%s: person %s not named", who, id)
			}
		}
		for _, id := range keys {
			if n.Keys[id].Hint == "" {
				t.Errorf("%s: key %s not named", who, id)
			}
		}
		for _, id := range projects {
			if n.Projects[id] == "" {
				t.Errorf("%s: project %s not named", who, id)
			}
		}
		for _, e := range emails {
			if n.UserIDs[e] == "" {
				t.Errorf("%s: email %s not found", who, e)
			}
		}
	}
	check("viewer", env.User(viewer.UserID), []string{env.OwnerID, dev.UserID}, []string{kp.ID}, []string{p.ID}, []string{"owner@example.com"})
	check("owner", env.Owner(), []string{env.OwnerID, dev.UserID}, []string{kp.ID, kq.ID, orgKey.ID}, []string{p.ID, q.ID}, []string{"owner@example.com"})

	// A person outside the org gets nothing; keys are no one to name for.
	_, err = env.Service.Names(ctx, env.User(bonly.UserID), all)
	wantCode(t, err, keyward.CodeNotFound)
	n, err := env.Service.Names(ctx, service.KeyActor(orgKey, service.Origin{}), all)
	if err != nil || len(n.People)+len(n.Keys)+len(n.Projects)+len(n.UserIDs) != 0 {
		t.Errorf("a key actor got names: %+v %v", n, err)
	}
}
