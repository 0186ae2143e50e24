package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var memberTests = []test{
	{"RoundTripFillsUser", func(t *testing.T, e *env) {
		o, u := e.org(), e.user(unicodeName)
		// Email and Name are read from the user, not from the Member given.
		mustNil(t, "PutMember", e.s.PutMember(e.ctx, &keyward.Member{
			OrgID: o.ID, UserID: u.ID, Role: keyward.OrgAdmin, CreatedAt: base}))
		got, err := e.s.GetMember(e.ctx, o.ID, u.ID)
		mustNil(t, "GetMember", err)
		want := &keyward.Member{OrgID: o.ID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: keyward.OrgAdmin, CreatedAt: base}
		diff(t, "GetMember", want, got)
	}},
	{"PutUpdatesRole", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		m := e.member(o, u, keyward.OrgMember)
		mustNil(t, "PutMember(update)", e.s.PutMember(e.ctx, &keyward.Member{
			OrgID: o.ID, UserID: u.ID, Role: keyward.OrgOwner, CreatedAt: base.Add(time.Hour)}))
		got, err := e.s.GetMember(e.ctx, o.ID, u.ID)
		mustNil(t, "GetMember", err)
		m.Role = keyward.OrgOwner // created_at stays the first one
		diff(t, "after role change", m, got)
	}},
	{"GetNotFound", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		_, err := e.s.GetMember(e.ctx, o.ID, u.ID)
		wantCode(t, "GetMember(not a member)", err, keyward.CodeNotFound)
		e.member(o, u, keyward.OrgMember)
		_, err = e.s.GetMember(e.ctx, e.org().ID, u.ID)
		wantCode(t, "GetMember(other org)", err, keyward.CodeNotFound)
	}},
	{"ListPaginatesByUserID", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		var all []*keyward.Member
		for range 5 {
			all = append(all, e.member(o, e.user("U"), keyward.OrgMember))
		}
		e.member(other, e.user("Elsewhere"), keyward.OrgMember)

		got, err := e.s.ListMembers(e.ctx, o.ID, "", 0)
		mustNil(t, "ListMembers", err)
		diff(t, "ListMembers(all)", all, got)

		var seen []*keyward.Member
		after := ""
		for page := 0; ; page++ {
			got, err := e.s.ListMembers(e.ctx, o.ID, after, 2)
			mustNil(t, "ListMembers", err)
			if len(got) == 0 {
				break
			}
			if len(got) > 2 || page > 3 {
				t.Fatalf("page %d has %d members, limit 2", page, len(got))
			}
			seen = append(seen, got...)
			after = got[len(got)-1].UserID
		}
		diff(t, "members seen across pages", all, seen)

		got, err = e.s.ListMembers(e.ctx, e.org().ID, "", 0)
		mustNil(t, "ListMembers", err)
		diff(t, "ListMembers(empty org)", []*keyward.Member{}, got)
	}},
	{"CountOwners", func(t *testing.T, e *env) {
		o := e.org()
		e.member(o, e.user("A"), keyward.OrgOwner)
		e.member(o, e.user("B"), keyward.OrgOwner)
		e.member(o, e.user("C"), keyward.OrgAdmin)
		e.member(e.org(), e.user("D"), keyward.OrgOwner)
		n, err := e.s.CountOwners(e.ctx, o.ID)
		mustNil(t, "CountOwners", err)
		diff(t, "CountOwners", 2, n)
	}},
	{"DeleteRemovesProjectRoles", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		u, stay := e.user("Leaving"), e.user("Staying")
		e.member(o, u, keyward.OrgMember)
		e.member(o, stay, keyward.OrgMember)
		e.member(other, u, keyward.OrgMember)
		p1, p2, elsewhere := e.project(o), e.project(o), e.project(other)
		for _, pm := range []*keyward.ProjectMember{
			{ProjectID: p1.ID, UserID: u.ID, Role: keyward.ProjectAdmin},
			{ProjectID: p2.ID, UserID: u.ID, Role: keyward.ProjectViewer},
			{ProjectID: p1.ID, UserID: stay.ID, Role: keyward.ProjectDeveloper},
			{ProjectID: elsewhere.ID, UserID: u.ID, Role: keyward.ProjectDeveloper},
		} {
			mustNil(t, "PutProjectMember", e.s.PutProjectMember(e.ctx, pm))
		}

		mustNil(t, "DeleteMember", e.s.DeleteMember(e.ctx, o.ID, u.ID))
		_, err := e.s.GetMember(e.ctx, o.ID, u.ID)
		wantCode(t, "GetMember(deleted)", err, keyward.CodeNotFound)
		roles, err := e.s.ListUserProjectRoles(e.ctx, o.ID, u.ID)
		mustNil(t, "ListUserProjectRoles", err)
		diff(t, "project roles left in the org", []*keyward.ProjectMember{}, roles)

		// Other members and the user's roles in other orgs stay.
		_, err = e.s.GetProjectMember(e.ctx, p1.ID, stay.ID)
		mustNil(t, "GetProjectMember(other member)", err)
		_, err = e.s.GetProjectMember(e.ctx, elsewhere.ID, u.ID)
		mustNil(t, "GetProjectMember(other org)", err)
		_, err = e.s.GetMember(e.ctx, other.ID, u.ID)
		mustNil(t, "GetMember(other org)", err)

		wantCode(t, "DeleteMember(again)", e.s.DeleteMember(e.ctx, o.ID, u.ID), keyward.CodeNotFound)
	}},
}

var projectMemberTests = []test{
	{"PutGetUpdate", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		p := e.project(o)
		pm := &keyward.ProjectMember{ProjectID: p.ID, UserID: u.ID, Role: keyward.ProjectViewer}
		mustNil(t, "PutProjectMember", e.s.PutProjectMember(e.ctx, pm))
		got, err := e.s.GetProjectMember(e.ctx, p.ID, u.ID)
		mustNil(t, "GetProjectMember", err)
		diff(t, "GetProjectMember", pm, got)

		pm.Role = keyward.ProjectAdmin
		mustNil(t, "PutProjectMember(update)", e.s.PutProjectMember(e.ctx, pm))
		got, err = e.s.GetProjectMember(e.ctx, p.ID, u.ID)
		mustNil(t, "GetProjectMember", err)
		diff(t, "after role change", pm, got)

		_, err = e.s.GetProjectMember(e.ctx, e.project(o).ID, u.ID)
		wantCode(t, "GetProjectMember(other project)", err, keyward.CodeNotFound)
	}},
	{"Lists", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		p1, p2, elsewhere := e.project(o), e.project(o), e.project(other)
		a, b := e.user("A"), e.user("B")
		put := func(p *keyward.Project, u *keyward.User, r keyward.ProjectRole) *keyward.ProjectMember {
			pm := &keyward.ProjectMember{ProjectID: p.ID, UserID: u.ID, Role: r}
			mustNil(t, "PutProjectMember", e.s.PutProjectMember(e.ctx, pm))
			return pm
		}
		a1 := put(p1, a, keyward.ProjectAdmin)
		b1 := put(p1, b, keyward.ProjectViewer)
		a2 := put(p2, a, keyward.ProjectDeveloper)
		put(elsewhere, a, keyward.ProjectViewer)

		got, err := e.s.ListProjectMembers(e.ctx, p1.ID)
		mustNil(t, "ListProjectMembers", err)
		diff(t, "ListProjectMembers(p1)", []*keyward.ProjectMember{a1, b1}, got)
		got, err = e.s.ListProjectMembers(e.ctx, e.project(o).ID)
		mustNil(t, "ListProjectMembers", err)
		diff(t, "ListProjectMembers(empty)", []*keyward.ProjectMember{}, got)

		got, err = e.s.ListUserProjectRoles(e.ctx, o.ID, a.ID)
		mustNil(t, "ListUserProjectRoles", err)
		diff(t, "ListUserProjectRoles(a)", []*keyward.ProjectMember{a1, a2}, got)
	}},
	{"Delete", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		p := e.project(o)
		mustNil(t, "PutProjectMember", e.s.PutProjectMember(e.ctx,
			&keyward.ProjectMember{ProjectID: p.ID, UserID: u.ID, Role: keyward.ProjectViewer}))
		mustNil(t, "DeleteProjectMember", e.s.DeleteProjectMember(e.ctx, p.ID, u.ID))
		_, err := e.s.GetProjectMember(e.ctx, p.ID, u.ID)
		wantCode(t, "GetProjectMember(deleted)", err, keyward.CodeNotFound)
		wantCode(t, "DeleteProjectMember(again)", e.s.DeleteProjectMember(e.ctx, p.ID, u.ID), keyward.CodeNotFound)
	}},
}
