package service

import (
	"context"
	"errors"

	"github.com/keyward/keyward"
)

// action is something an actor may be allowed to do. The role table
// and the scope table of docs/authority.md both map onto these.
type action int

const (
	actKeysRead       action = iota // see a project's keys
	actKeysWrite                    // create keys; rotate, revoke, edit one's own
	actKeysAdmin                    // rotate, revoke, edit anyone's key in the project
	actKeysVerify                   // verify keys presented to the caller's API
	actAuditRead                    // read a project's audit log
	actProjectAdmin                 // manage a project's settings (custom scopes)
	actProjectMembers               // manage a project's members (and the keys a change of role costs)
	actProjectsRead                 // list and see projects
	actProjectsWrite                // create, rename, delete projects
	actOrgKeysRead                  // see org keys
	actOrgKeysWrite                 // create, rotate, revoke org keys
	actMembersRead                  // see org members
	actMembersWrite                 // add, change, remove org members
	actSettingsRead                 // see org settings
	actSettingsWrite                // change org settings
	actOrgAuditRead                 // read the whole org's audit log
	actWebhooksRead                 // see webhook endpoints and their deliveries
	actWebhooksWrite                // add, change, test, delete endpoints; redeliver
)

// changes reports whether act changes something. A key actor that changes
// something is read again from the store first (refresh): its cached copy,
// narrowed to its owner's roles and dropped on every change, is enough to
// read and verify, but a change is decided on the key as it is now.
func (act action) changes() bool {
	switch act {
	case actKeysRead, actKeysVerify, actAuditRead, actProjectsRead, actOrgKeysRead, actMembersRead, actSettingsRead, actOrgAuditRead, actWebhooksRead:
		return false
	}
	return true
}

// lockForChange takes the org's lock before a change is decided: the
// roles and keys the decision reads cannot change under it, and every
// transaction that changes them takes the same lock first, so they take
// turns (never a row lock first and the org's after, which deadlocks).
func lockForChange(ctx context.Context, q keyward.Queries, a *Actor, act action) error {
	if !act.changes() {
		return nil
	}
	_, err := q.LockOrg(ctx, a.OrgID)
	return err
}

// mayChange prepares a key actor for act: for a change, the key is read
// again from the store (refresh), and a key replaced by rotation changes
// nothing, whatever the route (keys, projects, members, settings). Only
// revoking itself stays open to it (changeableKey).
func (s *Service) mayChange(ctx context.Context, q keyward.Queries, a *Actor, act action, auditAction, projectID string, target keyward.ActorRef) error {
	if a.Key == nil || !act.changes() {
		return nil
	}
	if err := s.refresh(ctx, q, a); err != nil {
		return err
	}
	if rotatedOut(a) {
		return s.denied(a, auditAction, projectID, target, rotatedOutMsg)
	}
	return nil
}

// projectKeyScope is the scope a project key needs for each action it may
// ever take; actions missing here are never allowed to project keys.
var projectKeyScope = map[action]string{
	actKeysRead:   keyward.ScopeKeysRead,
	actKeysWrite:  keyward.ScopeKeysWrite,
	actKeysAdmin:  keyward.ScopeKeysWrite,
	actKeysVerify: keyward.ScopeKeysVerify,
	actAuditRead:  keyward.ScopeAuditRead,
}

// orgKeyScope is the scope an org key needs for each action. Org keys act as
// org admins: they never change owners.
var orgKeyScope = map[action]string{
	actKeysRead:       keyward.ScopeKeysRead,
	actKeysWrite:      keyward.ScopeKeysWrite,
	actKeysAdmin:      keyward.ScopeKeysWrite,
	actKeysVerify:     keyward.ScopeKeysVerify,
	actAuditRead:      keyward.ScopeAuditRead,
	actProjectAdmin:   keyward.ScopeProjectsWrite,
	actProjectMembers: keyward.ScopeMembersWrite,
	actProjectsRead:   keyward.ScopeProjectsRead,
	actProjectsWrite:  keyward.ScopeProjectsWrite,
	actOrgKeysRead:    keyward.ScopeKeysRead,
	actOrgKeysWrite:   keyward.ScopeKeysWrite,
	actMembersRead:    keyward.ScopeMembersRead,
	actMembersWrite:   keyward.ScopeMembersWrite,
	actSettingsRead:   "",
	actSettingsWrite:  keyward.ScopeSettingsWrite,
	actOrgAuditRead:   keyward.ScopeAuditRead,
	actWebhooksRead:   keyward.ScopeWebhooksRead,
	actWebhooksWrite:  keyward.ScopeWebhooksWrite,
}

// projectRoleMin is the least project role that allows each project action.
var projectRoleMin = map[action]keyward.ProjectRole{
	actKeysRead:       keyward.ProjectViewer,
	actAuditRead:      keyward.ProjectViewer,
	actKeysWrite:      keyward.ProjectDeveloper,
	actKeysVerify:     keyward.ProjectDeveloper,
	actKeysAdmin:      keyward.ProjectAdmin,
	actProjectAdmin:   keyward.ProjectAdmin,
	actProjectMembers: keyward.ProjectAdmin,
}

// orgRoleMin is the least org role that allows each org action.
var orgRoleMin = map[action]keyward.OrgRole{
	actProjectsRead:  keyward.OrgMember, // members see only their projects
	actSettingsRead:  keyward.OrgMember,
	actProjectsWrite: keyward.OrgAdmin,
	actOrgKeysRead:   keyward.OrgAdmin,
	actOrgKeysWrite:  keyward.OrgAdmin,
	actMembersRead:   keyward.OrgAdmin,
	actMembersWrite:  keyward.OrgAdmin,
	actSettingsWrite: keyward.OrgAdmin,
	actOrgAuditRead:  keyward.OrgAdmin,
	actWebhooksRead:  keyward.OrgAdmin,
	actWebhooksWrite: keyward.OrgAdmin,
}

func projectRank(r keyward.ProjectRole) int {
	switch r {
	case keyward.ProjectAdmin:
		return 3
	case keyward.ProjectDeveloper:
		return 2
	case keyward.ProjectViewer:
		return 1
	}
	return 0
}

func orgRank(r keyward.OrgRole) int {
	switch r {
	case keyward.OrgOwner:
		return 3
	case keyward.OrgAdmin:
		return 2
	case keyward.OrgMember:
		return 1
	}
	return 0
}

// keyAllows reports whether key actor a holds the scope that act needs.
func keyAllows(a *Actor, act action) bool {
	table := projectKeyScope
	if a.Key.Kind == keyward.KindOrg {
		table = orgKeyScope
	}
	scope, ok := table[act]
	if !ok {
		return false
	}
	return scope == "" || a.Key.HasScope(scope)
}

// orgRole returns the org role of a user actor, or "" when the user is not
// a member of the actor's org.
func (s *Service) orgRole(ctx context.Context, q keyward.Queries, a *Actor) (keyward.OrgRole, error) {
	m, err := q.GetMember(ctx, a.OrgID, a.UserID)
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return m.Role, nil
}

// projectRole returns a user's effective role in a project: org owners and
// admins are project admins everywhere; others hold what they were given.
func (s *Service) projectRole(ctx context.Context, q keyward.Queries, a *Actor, projectID string) (keyward.ProjectRole, error) {
	role, err := s.orgRole(ctx, q, a)
	if err != nil || role == "" {
		return "", err
	}
	if role == keyward.OrgOwner || role == keyward.OrgAdmin {
		return keyward.ProjectAdmin, nil
	}
	pm, err := q.GetProjectMember(ctx, projectID, a.UserID)
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return pm.Role, nil
}

// projectAccess loads the project and checks that a may take act on it.
// Projects the actor cannot see are NOT_FOUND, never forbidden; a visible
// project with too little access is PERMISSION_DENIED, and the denial is
// audited under auditAction.
func (s *Service) projectAccess(ctx context.Context, q keyward.Queries, a *Actor, projectID string, act action, auditAction string) (*keyward.Project, error) {
	if !keyward.ValidID(keyward.PrefixProject, projectID) {
		return nil, keyward.NotFound("project")
	}
	if err := lockForChange(ctx, q, a, act); err != nil {
		return nil, err
	}
	p, err := q.GetProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if p.OrgID != a.OrgID {
		return nil, keyward.NotFound("project")
	}
	target := keyward.ActorRef{Type: "project", ID: p.ID}
	if err := s.mayChange(ctx, q, a, act, auditAction, p.ID, target); err != nil {
		return nil, err
	}
	switch {
	case a.IsKind(keyward.KindProject):
		if a.Key.ProjectID != p.ID {
			return nil, keyward.NotFound("project")
		}
		if !keyAllows(a, act) {
			return nil, s.denied(a, auditAction, p.ID, target, "This key lacks the scope "+projectKeyScope[act])
		}
	case a.IsKind(keyward.KindOrg):
		if !keyAllows(a, act) {
			return nil, s.denied(a, auditAction, p.ID, target, "This key lacks the scope "+orgKeyScope[act])
		}
	default:
		role, err := s.projectRole(ctx, q, a, p.ID)
		if err != nil {
			return nil, err
		}
		if role == "" {
			return nil, keyward.NotFound("project")
		}
		min, ok := projectRoleMin[act]
		if !ok || projectRank(role) < projectRank(min) {
			return nil, s.denied(a, auditAction, p.ID, target, "Your role in this project does not allow this")
		}
	}
	return p, nil
}

// orgAccess checks that a may take the org-level act. It returns the user's
// org role ("" for keys).
func (s *Service) orgAccess(ctx context.Context, q keyward.Queries, a *Actor, act action, auditAction string) (keyward.OrgRole, error) {
	target := keyward.ActorRef{Type: "org", ID: a.OrgID}
	if err := lockForChange(ctx, q, a, act); err != nil {
		return "", err
	}
	switch {
	case a.IsKind(keyward.KindProject):
		return "", keyward.Denied("Project keys cannot use org endpoints; use an org key (kwo_) in the x-org-api-key header")
	case a.IsKind(keyward.KindOrg):
		if err := s.mayChange(ctx, q, a, act, auditAction, "", target); err != nil {
			return "", err
		}
		if !keyAllows(a, act) {
			return "", s.denied(a, auditAction, "", target, "This key lacks the scope "+orgKeyScope[act])
		}
		return "", nil
	}
	role, err := s.orgRole(ctx, q, a)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", keyward.NotFound("organization")
	}
	min, ok := orgRoleMin[act]
	if !ok || orgRank(role) < orgRank(min) {
		return "", s.denied(a, auditAction, "", target, "Your role in this organization does not allow this")
	}
	return role, nil
}

// ownsKey reports whether the actor owns key k: a user owns the keys they
// created; a project key acts for its own owner.
func ownsKey(a *Actor, k *keyward.Key) bool {
	if k.OwnerUserID == nil {
		return false
	}
	if a.IsUser() {
		return *k.OwnerUserID == a.UserID
	}
	return a.Key.OwnerUserID != nil && *a.Key.OwnerUserID == *k.OwnerUserID
}

// denial is a PERMISSION_DENIED error that still has to be audited. It is
// recorded by finish, after any transaction has ended, because a denied
// attempt changes nothing and must not hold a write transaction open.
type denial struct {
	err   *keyward.Error
	event *keyward.AuditEvent
}

func (d *denial) Error() string { return d.err.Error() }
func (d *denial) Unwrap() error { return d.err }

// denied returns a PERMISSION_DENIED error that finish will audit.
func (s *Service) denied(a *Actor, auditAction, projectID string, target keyward.ActorRef, msg string) error {
	ev := s.event(a, auditAction, projectID, target)
	ev.Result = keyward.ResultDenied
	return &denial{err: keyward.Denied("%s", msg), event: ev}
}

// finish ends every public operation: a denial is written to the audit log
// and returned as its plain error.
func (s *Service) finish(ctx context.Context, err error) error {
	if err == nil {
		return nil // the common case, without errors.As (which allocates)
	}
	var d *denial
	if !errors.As(err, &d) {
		return err
	}
	if werr := s.recordDenial(ctx, d.event); werr != nil {
		s.log.ErrorContext(ctx, "audit: cannot record a denied attempt", "action", d.event.Action, "err", werr)
	}
	return d.err
}
