package service

import (
	"context"

	"github.com/keyward/keyward"
)

// Abilities says what a signed-in user may do in an org and, optionally,
// one project. The dashboard offers only these actions; every action is
// still checked again when it is taken. It reads the same role tables as
// the checks themselves (authz.go), so the two cannot disagree.
type Abilities struct {
	UserID      string
	OrgRole     keyward.OrgRole
	ProjectRole keyward.ProjectRole // effective role in the project ("" = none)

	ViewProject    bool // see keys, members and the audit log
	CreateKeys     bool // and rotate or revoke their own
	ManageAnyKey   bool // rotate or revoke anyone's key in the project
	ManageProject  bool // project members and settings
	ManageProjects bool // create, rename, delete projects
	ManageOrg      bool // org keys, members, settings, audit log
	Owner          bool // change owners, reset passwords
}

// Abilities returns what a may do in its org and in projectID ("" for org
// pages only). A user who is not a member of the org is NOT_FOUND.
func (s *Service) Abilities(ctx context.Context, a *Actor, projectID string) (*Abilities, error) {
	role, err := s.orgRole(ctx, s.store, a)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, keyward.NotFound("organization")
	}
	ab := &Abilities{
		UserID:         a.UserID,
		OrgRole:        role,
		ManageProjects: orgRank(role) >= orgRank(orgRoleMin[actProjectsWrite]),
		ManageOrg:      orgRank(role) >= orgRank(orgRoleMin[actMembersWrite]),
		Owner:          role == keyward.OrgOwner,
	}
	if projectID == "" {
		return ab, nil
	}
	if _, err := s.projectAccess(ctx, s.store, a, projectID, actKeysRead, AuditProjectRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	pr, err := s.projectRole(ctx, s.store, a, projectID)
	if err != nil {
		return nil, err
	}
	may := func(act action) bool { return projectRank(pr) >= projectRank(projectRoleMin[act]) }
	ab.ProjectRole = pr
	ab.ViewProject = may(actKeysRead)
	ab.CreateKeys = may(actKeysWrite)
	ab.ManageAnyKey = may(actKeysAdmin)
	ab.ManageProject = may(actProjectAdmin)
	return ab, nil
}

// CanChangeKey reports whether the user may rotate or revoke k: a usable
// key they own (with write access), or any usable key as a project admin.
func (ab *Abilities) CanChangeKey(k *keyward.Key) bool {
	if k.Status == keyward.StatusRevoked || k.Status == keyward.StatusExpired {
		return false
	}
	if k.Kind == keyward.KindOrg {
		return ab.ManageOrg
	}
	own := k.OwnerUserID != nil && *k.OwnerUserID == ab.UserID
	return ab.ManageAnyKey || (own && ab.CreateKeys)
}

// OrgsForUser lists the orgs a user belongs to, for the org switcher.
func (s *Service) OrgsForUser(ctx context.Context, userID string) ([]*keyward.Org, error) {
	return s.store.ListOrgsForUser(ctx, userID)
}

// GetOrg returns the actor's org, if the actor belongs to it.
func (s *Service) GetOrg(ctx context.Context, a *Actor) (*keyward.Org, error) {
	if a.IsUser() {
		if role, err := s.orgRole(ctx, s.store, a); err != nil || role == "" {
			if err == nil {
				err = keyward.NotFound("organization")
			}
			return nil, err
		}
	}
	return s.store.GetOrg(ctx, a.OrgID)
}

// ListProjectMembers lists the members who hold a role in the project, with
// their email and name. Anyone who can see the project can see who is in it.
func (s *Service) ListProjectMembers(ctx context.Context, a *Actor, projectID string) ([]*keyward.Member, error) {
	if _, err := s.projectAccess(ctx, s.store, a, projectID, actKeysRead, AuditMemberRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	pms, err := s.store.ListProjectMembers(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]*keyward.Member, 0, len(pms))
	for _, pm := range pms {
		m, err := s.store.GetMember(ctx, a.OrgID, pm.UserID)
		if err != nil {
			return nil, err
		}
		m.Projects = []keyward.ProjectMember{*pm}
		out = append(out, m)
	}
	return out, nil
}

// GetUser returns a user by id (for the signed-in user's own page).
func (s *Service) GetUser(ctx context.Context, id string) (*keyward.User, error) {
	return s.store.GetUser(ctx, id)
}
