package service

import (
	"context"
	"slices"

	"github.com/keyward/keyward"
)

// ListProjects lists the org's projects, newest first. Org members without
// an org-wide role see only the projects they belong to.
func (s *Service) ListProjects(ctx context.Context, a *Actor, limit int, cursor string) (*keyward.Page[*keyward.Project], error) {
	role, err := s.orgAccess(ctx, s.store, a, actProjectsRead, AuditProjectRead)
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	limit, before, err := pageArgs(limit, cursor)
	if err != nil {
		return nil, err
	}
	if role != keyward.OrgMember {
		ps, err := s.store.ListProjects(ctx, a.OrgID, before, limit+1)
		if err != nil {
			return nil, err
		}
		return makePage(ps, limit, func(p *keyward.Project) string { return p.ID }), nil
	}
	// A plain member: their few projects, paged the same way.
	roles, err := s.store.ListUserProjectRoles(ctx, a.OrgID, a.UserID)
	if err != nil {
		return nil, err
	}
	var ps []*keyward.Project
	all, err := s.store.ListProjects(ctx, a.OrgID, before, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		for _, r := range roles {
			if r.ProjectID == p.ID {
				ps = append(ps, p)
				break
			}
		}
		if len(ps) > limit {
			break
		}
	}
	return makePage(ps, limit, func(p *keyward.Project) string { return p.ID }), nil
}

// GetProject returns one project the actor can see.
func (s *Service) GetProject(ctx context.Context, a *Actor, id string) (*keyward.Project, error) {
	// Org keys need projects:read; users and project keys need to be
	// able to see the project's keys.
	act := actKeysRead
	if a.IsKind(keyward.KindOrg) {
		act = actProjectsRead
	}
	p, err := s.projectAccess(ctx, s.store, a, id, act, AuditProjectRead)
	return p, s.finish(ctx, err)
}

// CreateProject creates a project in the actor's org.
func (s *Service) CreateProject(ctx context.Context, a *Actor, in keyward.CreateProjectInput) (*keyward.Project, error) {
	name, e1 := checkText("name", in.Name, MaxNameLen, false)
	slug := in.Slug
	if slug == "" {
		slug = slugify(name)
	}
	e2 := checkSlug(slug)
	scopes, e3 := checkCustomScopes(in.CustomScopes)
	if err := invalid(e1, e2, e3); err != nil {
		return nil, err
	}
	var out *keyward.Project
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := s.orgAccess(ctx, q, a, actProjectsWrite, AuditProjectCreate); err != nil {
			return err
		}
		now := s.clock.Now()
		p := &keyward.Project{
			ID: keyward.NewID(keyward.PrefixProject), OrgID: a.OrgID, Name: name, Slug: slug,
			CustomScopes: scopes, CreatedAt: now, UpdatedAt: now,
		}
		if err := q.CreateProject(ctx, p); err != nil {
			return err
		}
		ev := s.event(a, AuditProjectCreate, p.ID, keyward.ActorRef{Type: "project", ID: p.ID})
		ev.Details = map[string]any{"name": p.Name, "slug": p.Slug}
		out = p
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, s.finish(ctx, err)
}

// UpdateProject renames a project or changes its slug or custom scopes.
// Renaming needs an org role; custom scopes are project settings, which
// project admins may change.
func (s *Service) UpdateProject(ctx context.Context, a *Actor, id string, in keyward.ProjectPatch) (*keyward.Project, error) {
	var out *keyward.Project
	err := s.inTx(ctx, func(q keyward.Queries) error {
		// projectAccess takes the org's lock: the keys dropScopes changes
		// cannot change under it.
		p, err := s.projectAccess(ctx, q, a, id, actProjectAdmin, AuditProjectUpdate)
		if err != nil {
			return err
		}
		before := p.CustomScopes
		if in.Name != nil || in.Slug != nil {
			if _, err := s.orgAccess(ctx, q, a, actProjectsWrite, AuditProjectUpdate); err != nil {
				return err
			}
		}
		changes := map[string]any{}
		var errs []*keyward.FieldError
		if in.Name != nil {
			name, fe := checkText("name", *in.Name, MaxNameLen, false)
			errs = append(errs, fe)
			p.Name, changes["name"] = name, name
		}
		if in.Slug != nil {
			errs = append(errs, checkSlug(*in.Slug))
			p.Slug, changes["slug"] = *in.Slug, *in.Slug
		}
		if in.CustomScopes != nil {
			scopes, fe := checkCustomScopes(*in.CustomScopes)
			errs = append(errs, fe)
			p.CustomScopes, changes["custom_scopes"] = scopes, scopes
		}
		if err := invalid(errs...); err != nil {
			return err
		}
		removed := slices.DeleteFunc(slices.Clone(before), func(sc string) bool { return slices.Contains(p.CustomScopes, sc) })
		p.UpdatedAt = s.clock.Now()
		if err := q.UpdateProject(ctx, p); err != nil {
			return err
		}
		n, err := s.dropScopes(ctx, q, a, p, removed)
		if err != nil {
			return err
		}
		if n > 0 {
			changes["keys_narrowed"] = n
		}
		ev := s.event(a, AuditProjectUpdate, p.ID, keyward.ActorRef{Type: "project", ID: p.ID})
		ev.Details = changes
		out = p
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, s.finish(ctx, err)
}

// dropScopes takes the custom scopes removed from project p off every key
// of p that holds them, with an audit event per key, so that no key, and no
// verification, holds a scope its project no longer has. It returns how
// many keys it changed.
func (s *Service) dropScopes(ctx context.Context, q keyward.Queries, a *Actor, p *keyward.Project, removed []string) (int, error) {
	if len(removed) == 0 {
		return 0, nil
	}
	keys, err := q.ListKeys(ctx, keyward.KeyFilter{OrgID: p.OrgID, Kind: keyward.KindProject, ProjectID: p.ID, Now: s.clock.Now()})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		kept := slices.DeleteFunc(slices.Clone(k.Scopes), func(sc string) bool { return slices.Contains(removed, sc) })
		if len(kept) == len(k.Scopes) {
			continue
		}
		k.Scopes = kept
		if err := q.UpdateKey(ctx, k); err != nil {
			return 0, err
		}
		ev := s.event(a, AuditKeyUpdate, p.ID, keyRef(k))
		ev.Details = map[string]any{"scopes": kept, "reason": "custom scopes removed from the project"}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// DeleteProject deletes a project with its keys, which stop working at once.
// Its audit events stay in the org's log.
func (s *Service) DeleteProject(ctx context.Context, a *Actor, id string) error {
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := q.LockOrg(ctx, a.OrgID); err != nil {
			return err
		}
		if _, err := s.orgAccess(ctx, q, a, actProjectsWrite, AuditProjectDelete); err != nil {
			return err
		}
		p, err := s.projectAccess(ctx, q, a, id, actProjectAdmin, AuditProjectDelete)
		if err != nil {
			return err
		}
		if err := q.DeleteProject(ctx, p.ID); err != nil {
			return err
		}
		ev := s.event(a, AuditProjectDelete, p.ID, keyward.ActorRef{Type: "project", ID: p.ID})
		ev.Details = map[string]any{"name": p.Name}
		return q.InsertAuditEvent(ctx, ev)
	})
	return s.finish(ctx, err)
}
