package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var projectTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		o := e.org()
		p := &keyward.Project{
			ID: keyward.NewID(keyward.PrefixProject), OrgID: o.ID, Name: unicodeName, Slug: "cle",
			CustomScopes: []string{"orders:read", "orders:write"},
			CreatedAt:    base, UpdatedAt: base.Add(time.Microsecond),
		}
		mustNil(t, "CreateProject", e.s.CreateProject(e.ctx, p))
		got, err := e.s.GetProject(e.ctx, p.ID)
		mustNil(t, "GetProject", err)
		diff(t, "GetProject", p, got)
	}},
	{"NilScopesReadAsEmpty", func(t *testing.T, e *env) {
		o := e.org()
		p := &keyward.Project{ID: keyward.NewID(keyward.PrefixProject), OrgID: o.ID, Name: "P", Slug: "p", CreatedAt: base, UpdatedAt: base}
		mustNil(t, "CreateProject", e.s.CreateProject(e.ctx, p))
		got, err := e.s.GetProject(e.ctx, p.ID)
		mustNil(t, "GetProject", err)
		if got.CustomScopes == nil || len(got.CustomScopes) != 0 {
			t.Errorf("CustomScopes = %#v, want []string{}", got.CustomScopes)
		}
	}},
	{"SlugUniquePerOrg", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		p := e.project(o)
		dup := &keyward.Project{ID: keyward.NewID(keyward.PrefixProject), OrgID: o.ID, Name: "x", Slug: p.Slug, CreatedAt: base, UpdatedAt: base}
		wantCode(t, "CreateProject(same slug, same org)", e.s.CreateProject(e.ctx, dup), keyward.CodeConflict)
		dup.OrgID = other.ID
		mustNil(t, "CreateProject(same slug, other org)", e.s.CreateProject(e.ctx, dup))
		_, err := e.s.GetProject(e.ctx, keyward.NewID(keyward.PrefixProject))
		wantCode(t, "GetProject(unknown)", err, keyward.CodeNotFound)
	}},
	{"ListNewestFirstWithCursor", func(t *testing.T, e *env) {
		o := e.org()
		var ps []*keyward.Project
		for range 5 {
			ps = append(ps, e.project(o))
		}
		e.project(e.org())
		newestFirst := []string{ps[4].ID, ps[3].ID, ps[2].ID, ps[1].ID, ps[0].ID}

		got, err := e.s.ListProjects(e.ctx, o.ID, "", 0)
		mustNil(t, "ListProjects", err)
		diff(t, "ListProjects(all)", newestFirst, ids(got, projectID))
		diff(t, "ListProjects(all)[0]", ps[4], got[0])

		got, err = e.s.ListProjects(e.ctx, o.ID, "", 2)
		mustNil(t, "ListProjects", err)
		diff(t, "page 1", newestFirst[:2], ids(got, projectID))
		got, err = e.s.ListProjects(e.ctx, o.ID, got[1].ID, 2)
		mustNil(t, "ListProjects", err)
		diff(t, "page 2", newestFirst[2:4], ids(got, projectID))
		got, err = e.s.ListProjects(e.ctx, o.ID, got[1].ID, 2)
		mustNil(t, "ListProjects", err)
		diff(t, "page 3", newestFirst[4:], ids(got, projectID))

		got, err = e.s.ListProjects(e.ctx, e.org().ID, "", 0)
		mustNil(t, "ListProjects", err)
		diff(t, "ListProjects(empty org)", []*keyward.Project{}, got)
	}},
	{"Update", func(t *testing.T, e *env) {
		o := e.org()
		p, other := e.project(o), e.project(o)
		p.Name, p.Slug, p.CustomScopes, p.UpdatedAt = unicodeName, "new-slug", []string{"a:b"}, base.Add(time.Hour)
		mustNil(t, "UpdateProject", e.s.UpdateProject(e.ctx, p))
		got, err := e.s.GetProject(e.ctx, p.ID)
		mustNil(t, "GetProject", err)
		diff(t, "after UpdateProject", p, got)

		taken := *p
		taken.Slug = other.Slug
		wantCode(t, "UpdateProject(taken slug)", e.s.UpdateProject(e.ctx, &taken), keyward.CodeConflict)
		missing := *p
		missing.ID, missing.Slug = keyward.NewID(keyward.PrefixProject), "missing"
		wantCode(t, "UpdateProject(unknown)", e.s.UpdateProject(e.ctx, &missing), keyward.CodeNotFound)
	}},
	{"DeleteRemovesKeysAndRoles", func(t *testing.T, e *env) {
		o, u := e.org(), e.user("Ann")
		p, keep := e.project(o), e.project(o)
		k1, k2 := e.key(o, p), e.key(o, p, revoked(base))
		kept := e.key(o, keep)
		orgKey := e.key(o, nil)
		mustNil(t, "PutProjectMember", e.s.PutProjectMember(e.ctx,
			&keyward.ProjectMember{ProjectID: p.ID, UserID: u.ID, Role: keyward.ProjectAdmin}))
		ev := e.event(o, "project.create", func(ev *keyward.AuditEvent) { ev.ProjectID = p.ID })

		mustNil(t, "DeleteProject", e.s.DeleteProject(e.ctx, p.ID))
		_, err := e.s.GetProject(e.ctx, p.ID)
		wantCode(t, "GetProject(deleted)", err, keyward.CodeNotFound)
		for _, k := range []*keyward.Key{k1, k2} {
			_, err := e.s.GetKey(e.ctx, k.ID)
			wantCode(t, "GetKey(key of deleted project)", err, keyward.CodeNotFound)
		}
		_, err = e.s.GetKeyByDigest(e.ctx, k1.Digest)
		wantCode(t, "GetKeyByDigest(key of deleted project)", err, keyward.CodeNotFound)
		_, err = e.s.GetProjectMember(e.ctx, p.ID, u.ID)
		wantCode(t, "GetProjectMember(deleted project)", err, keyward.CodeNotFound)
		for _, k := range []*keyward.Key{kept, orgKey} {
			_, err := e.s.GetKey(e.ctx, k.ID)
			mustNil(t, "GetKey(other key)", err)
		}
		events, err := e.s.ListAuditEvents(e.ctx, keyward.AuditFilter{OrgID: o.ID, ProjectID: p.ID})
		mustNil(t, "ListAuditEvents", err)
		diff(t, "audit events of the deleted project", []*keyward.AuditEvent{ev}, events)

		wantCode(t, "DeleteProject(again)", e.s.DeleteProject(e.ctx, p.ID), keyward.CodeNotFound)
	}},
}
