package service

import (
	"context"
	"slices"

	"github.com/keyward/keyward"
)

// ListMembers lists the org's members by user id, with their project roles.
func (s *Service) ListMembers(ctx context.Context, a *Actor, limit int, cursor string) (*keyward.Page[*keyward.Member], error) {
	if _, err := s.orgAccess(ctx, s.store, a, actMembersRead, AuditMemberRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	limit, after, err := pageArgs(limit, cursor)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.ListMembers(ctx, a.OrgID, after, limit+1)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := fillProjects(ctx, s.store, m); err != nil {
			return nil, err
		}
	}
	return makePage(ms, limit, func(m *keyward.Member) string { return m.UserID }), nil
}

func fillProjects(ctx context.Context, q keyward.Queries, m *keyward.Member) error {
	roles, err := q.ListUserProjectRoles(ctx, m.OrgID, m.UserID)
	if err != nil {
		return err
	}
	m.Projects = []keyward.ProjectMember{}
	for _, r := range roles {
		m.Projects = append(m.Projects, *r)
	}
	return nil
}

// AddMember adds a new person (the user is created) to the org with a role
// and optional project roles, with a one-time link that sets their
// password; an email that already has an account gets a pending
// invitation instead (see invite). Only owners may add owners.
func (s *Service) AddMember(ctx context.Context, a *Actor, in keyward.AddMemberInput) (*keyward.Member, error) {
	email, e1 := checkEmail(in.Email)
	name, e2 := checkText("name", in.Name, MaxNameLen, true)
	var e3 *keyward.FieldError
	if !in.Role.Valid() {
		e3 = &keyward.FieldError{Field: "role", Problem: "must be owner, admin or member"}
	}
	if err := invalid(e1, e2, e3, checkProjectRoles(in.Projects, false)); err != nil {
		return nil, err
	}
	var out *keyward.Member
	err := s.inTx(ctx, func(q keyward.Queries) error {
		role, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditMemberAdd)
		if err != nil {
			return err
		}
		if in.Role == keyward.OrgOwner && role != keyward.OrgOwner {
			return s.denied(a, AuditMemberAdd, "", keyward.ActorRef{Type: "org", ID: a.OrgID}, "Only owners may add owners")
		}
		if err := s.mayGrant(a, in.Role, in.Projects, AuditMemberAdd, keyward.ActorRef{Type: "org", ID: a.OrgID}); err != nil {
			return err
		}
		now := s.clock.Now()
		u, err := q.GetUserByEmail(ctx, email)
		if err == nil {
			// An account belongs to its person: invite it, never attach it.
			out, err = s.invite(ctx, q, a, u, in)
			return err
		}
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			u = &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: email, Name: name, CreatedAt: now}
			err = q.CreateUser(ctx, u)
		}
		if err != nil {
			return err
		}
		if _, err := q.GetMember(ctx, a.OrgID, u.ID); err == nil {
			return keyward.Errorf(keyward.CodeConflict, "This user is already a member of the organization")
		} else if keyward.ErrorCode(err) != keyward.CodeNotFound {
			return err
		}
		m := &keyward.Member{OrgID: a.OrgID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: in.Role, CreatedAt: now}
		if err := q.PutMember(ctx, m); err != nil {
			return err
		}
		for _, pr := range in.Projects {
			if err := s.setProjectRole(ctx, q, a, u.ID, pr, AuditMemberAdd); err != nil {
				return err
			}
		}
		// The new person's link sets their password (see invitations.go).
		if m.Invitation, err = s.newInvitation(ctx, q, a, u, in.Role, in.Projects); err != nil {
			return err
		}
		ev := s.event(a, AuditMemberAdd, "", userRef(u.ID))
		ev.Details = map[string]any{"role": string(in.Role), "projects": len(in.Projects), "invitation_id": m.Invitation.ID}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		out = m
		return fillProjects(ctx, q, m)
	})
	return out, s.finish(ctx, err)
}

// checkProjectRoles validates project role assignments; a role of "" (which
// removes the member from that project) is allowed only in patches.
func checkProjectRoles(prs []keyward.ProjectMember, allowRemove bool) *keyward.FieldError {
	if len(prs) > MaxProjectRoles {
		return &keyward.FieldError{Field: "projects", Problem: "at most 100"}
	}
	for _, pr := range prs {
		if !(pr.Role.Valid() || (allowRemove && pr.Role == "")) {
			return &keyward.FieldError{Field: "projects", Problem: "role must be admin, developer or viewer"}
		}
	}
	return nil
}

// setProjectRole gives user userID the project role pr, if a may manage
// that project's members.
func (s *Service) setProjectRole(ctx context.Context, q keyward.Queries, a *Actor, userID string, pr keyward.ProjectMember, auditAction string) error {
	p, err := s.projectAccess(ctx, q, a, pr.ProjectID, actProjectMembers, auditAction)
	if err != nil {
		return err
	}
	if err := s.mayGrant(a, "", []keyward.ProjectMember{pr}, auditAction, userRef(userID)); err != nil {
		return err
	}
	return q.PutProjectMember(ctx, &keyward.ProjectMember{ProjectID: p.ID, UserID: userID, Role: pr.Role})
}

// UpdateMember changes a member's org role and project roles. Project admins
// may change project roles of their projects; org roles need an org admin,
// and owners are changed only by owners. An org always keeps an owner.
func (s *Service) UpdateMember(ctx context.Context, a *Actor, userID string, in keyward.MemberPatch) (*keyward.Member, error) {
	if err := invalid(checkProjectRoles(in.Projects, true), checkHandling(in.KeyHandling)); err != nil {
		return nil, err
	}
	if in.Role != nil && !in.Role.Valid() {
		return nil, invalid(&keyward.FieldError{Field: "role", Problem: "must be owner, admin or member"})
	}
	var out *keyward.Member
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := q.LockOrg(ctx, a.OrgID); err != nil {
			return err
		}
		m, err := s.member(ctx, q, a, userID)
		if err != nil {
			return err
		}
		before, err := s.keysNow(ctx, q, a, userID)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if in.Role != nil && *in.Role != m.Role {
			if err := s.mayChangeRole(ctx, q, a, m, *in.Role, AuditMemberUpdate); err != nil {
				return err
			}
			details["role"] = map[string]any{"from": string(m.Role), "to": string(*in.Role)}
			m.Role = *in.Role
			if err := q.PutMember(ctx, m); err != nil {
				return err
			}
		} else if in.Role != nil || len(in.Projects) == 0 {
			// A patch that changes nothing still needs the right to manage
			// members: otherwise any member could read any other this way.
			if _, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditMemberUpdate); err != nil {
				return err
			}
		}
		if len(details) == 0 && len(in.Projects) == 0 {
			out = m // nothing changed: no audit event without a change
			return fillProjects(ctx, q, m)
		}
		for _, pr := range in.Projects {
			if pr.Role != "" {
				if err := s.setProjectRole(ctx, q, a, userID, pr, AuditMemberUpdate); err != nil {
					return err
				}
				continue
			}
			if _, err := s.projectAccess(ctx, q, a, pr.ProjectID, actProjectMembers, AuditMemberUpdate); err != nil {
				return err
			}
			n, err := s.handleKeys(ctx, q, a, userID, pr.ProjectID, in.KeyHandling, in.TransferTo, nil, before)
			if err != nil {
				return err
			}
			if err := q.DeleteProjectMember(ctx, pr.ProjectID, userID); err != nil && keyward.ErrorCode(err) != keyward.CodeNotFound {
				return err
			}
			details["removed_from_"+pr.ProjectID] = map[string]any{"keys": n, "key_handling": string(handling(in.KeyHandling))}
		}
		details["projects"] = len(in.Projects)
		// Keys the member's roles no longer allow at all (an admin's org
		// keys after a demotion, project keys in projects they no longer
		// reach) go the way key_handling says; the others are narrowed to
		// the new roles on their next use (authority.go).
		n, err := s.handleKeys(ctx, q, a, userID, "", in.KeyHandling, in.TransferTo, s.lostByOwner, before)
		if err != nil {
			return err
		}
		if n > 0 {
			details["keys_no_longer_allowed"] = map[string]any{"keys": n, "key_handling": string(handling(in.KeyHandling))}
		}
		ev := s.event(a, AuditMemberUpdate, "", userRef(userID))
		ev.Details = details
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		out = m
		return fillProjects(ctx, q, m)
	})
	return out, s.finish(ctx, err)
}

// member loads a member of a's org that a can see; users and org keys
// without any org-level role see only themselves.
func (s *Service) member(ctx context.Context, q keyward.Queries, a *Actor, userID string) (*keyward.Member, error) {
	if !keyward.ValidID(keyward.PrefixUser, userID) {
		return nil, keyward.NotFound("member")
	}
	if a.IsKind(keyward.KindProject) {
		return nil, keyward.Denied("Project keys cannot manage members; use an org key")
	}
	if a.IsUser() {
		if role, err := s.orgRole(ctx, q, a); err != nil || role == "" {
			if err == nil {
				err = keyward.NotFound("member")
			}
			return nil, err
		}
	}
	m, err := q.GetMember(ctx, a.OrgID, userID)
	if err != nil {
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			return nil, keyward.NotFound("member")
		}
		return nil, err
	}
	return m, nil
}

// mayChangeRole checks an org role change of member m to role.
func (s *Service) mayChangeRole(ctx context.Context, q keyward.Queries, a *Actor, m *keyward.Member, role keyward.OrgRole, auditAction string) error {
	actorRole, err := s.orgAccess(ctx, q, a, actMembersWrite, auditAction)
	if err != nil {
		return err
	}
	if (m.Role == keyward.OrgOwner || role == keyward.OrgOwner) && actorRole != keyward.OrgOwner {
		return s.denied(a, auditAction, "", userRef(m.UserID), "Only owners may make or change owners")
	}
	if err := s.mayGrant(a, role, nil, auditAction, userRef(m.UserID)); err != nil {
		return err
	}
	if m.Role == keyward.OrgOwner && role != keyward.OrgOwner {
		return lastOwnerCheck(ctx, q, a.OrgID)
	}
	return nil
}

func lastOwnerCheck(ctx context.Context, q keyward.Queries, orgID string) error {
	n, err := q.CountOwners(ctx, orgID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return keyward.Errorf(keyward.CodeConflict, "An organization must keep at least one owner")
	}
	return nil
}

// RemoveMember removes a member from the org. Their project keys are
// revoked (the default) or transferred (to TransferTo, by default the
// acting user); either way each key's fate is audited.
func (s *Service) RemoveMember(ctx context.Context, a *Actor, userID string, in keyward.RemoveMemberInput) error {
	if err := invalid(checkHandling(in.KeyHandling)); err != nil {
		return err
	}
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := q.LockOrg(ctx, a.OrgID); err != nil {
			return err
		}
		actorRole, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditMemberRemove)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, q, a, userID)
		if err != nil {
			return err
		}
		if m.Role == keyward.OrgOwner {
			if actorRole != keyward.OrgOwner {
				return s.denied(a, AuditMemberRemove, "", userRef(userID), "Only owners may remove owners")
			}
			if err := lastOwnerCheck(ctx, q, a.OrgID); err != nil {
				return err
			}
		}
		before, err := s.keysNow(ctx, q, a, userID)
		if err != nil {
			return err
		}
		n, err := s.handleKeys(ctx, q, a, userID, "", in.KeyHandling, in.TransferTo, nil, before)
		if err != nil {
			return err
		}
		if err := q.DeleteMember(ctx, a.OrgID, userID); err != nil {
			return err
		}
		if err := s.revokeInvitationsOf(ctx, q, a.OrgID, userID); err != nil {
			return err
		}
		ev := s.event(a, AuditMemberRemove, "", userRef(userID))
		ev.Details = map[string]any{"key_handling": string(handling(in.KeyHandling)), "keys": n}
		return q.InsertAuditEvent(ctx, ev)
	})
	return s.finish(ctx, err)
}

func checkHandling(h keyward.KeyHandling) *keyward.FieldError {
	if h != "" && h != keyward.KeysRevoke && h != keyward.KeysTransfer {
		return &keyward.FieldError{Field: "key_handling", Problem: "must be revoke or transfer"}
	}
	return nil
}

func handling(h keyward.KeyHandling) keyward.KeyHandling {
	if h == "" {
		return keyward.KeysRevoke
	}
	return h
}

// handleKeys revokes or transfers the usable keys that userID owns in the
// org (or, with projectID, its keys in one project), those only that which
// selects when it is set, writing one audit event per key. A transferred
// key keeps what it could do before the change (before, from keysNow) and
// nothing more: whoever holds its secret keeps using it, so a transfer must
// never raise it to its new owner's role. Transferred
// project keys go to member to (by default the acting user), who must hold
// a role that allows them; transferred org keys become the organization's
// own (no owner, bounded by their scopes alone). It returns how many keys it
// handled.
func (s *Service) handleKeys(ctx context.Context, q keyward.Queries, a *Actor, userID, projectID string, h keyward.KeyHandling, to string, which func(context.Context, keyward.Queries, *keyward.Key) (bool, error), before map[string][]string) (int, error) {
	now := s.clock.Now()
	f := keyward.KeyFilter{OrgID: a.OrgID, ProjectID: projectID, OwnerUserID: userID, Now: now}
	if projectID != "" {
		f.Kind = keyward.KindProject
	}
	all, err := q.ListKeys(ctx, f)
	if err != nil {
		return 0, err
	}
	var keys []*keyward.Key
	for _, k := range all {
		if which != nil {
			if pick, err := which(ctx, q, k); err != nil || !pick {
				if err != nil {
					return 0, err
				}
				continue
			}
		}
		keys = append(keys, k)
	}
	transfer := handling(h) == keyward.KeysTransfer
	if transfer && slices.ContainsFunc(keys, func(k *keyward.Key) bool { return k.Kind == keyward.KindProject }) {
		if to == "" && a.IsUser() {
			to = a.UserID
		}
		if to == "" {
			return 0, invalid(&keyward.FieldError{Field: "transfer_to", Problem: "is required when an org key transfers keys"})
		}
		if to == userID {
			return 0, invalid(&keyward.FieldError{Field: "transfer_to", Problem: "must be another member"})
		}
		if _, err := q.GetMember(ctx, a.OrgID, to); err != nil {
			if keyward.ErrorCode(err) == keyward.CodeNotFound {
				return 0, invalid(&keyward.FieldError{Field: "transfer_to", Problem: "must be a member of the organization"})
			}
			return 0, err
		}
	}
	for _, k := range keys {
		action := AuditKeyRevoke
		switch {
		case transfer && k.Kind == keyward.KindOrg:
			action, k.OwnerUserID, k.Scopes = AuditKeyTransfer, nil, keptScopes(k, before)
		case transfer:
			action, k.OwnerUserID, k.Scopes = AuditKeyTransfer, &to, keptScopes(k, before)
			if _, ok, err := s.ownerAllows(ctx, q, k); err != nil || !ok {
				if err != nil {
					return 0, err
				}
				return 0, invalid(&keyward.FieldError{Field: "transfer_to", Problem: "has no role in project " + k.ProjectID + " that allows keys; give them one first, or revoke the keys"})
			}
		default:
			revoke(k, a, now, "owner removed")
		}
		if err := q.UpdateKey(ctx, k); err != nil {
			return 0, err
		}
		ev := s.event(a, action, k.ProjectID, keyRef(k))
		ev.Details = map[string]any{"from_user_id": userID, "reason": "owner removed"}
		if which != nil {
			ev.Details["reason"] = "owner's role no longer allows the key"
		}
		if action == AuditKeyTransfer {
			if k.OwnerUserID == nil {
				ev.Details["to"] = "organization"
			} else {
				ev.Details["to_user_id"] = to
			}
		}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return 0, err
		}
	}
	if transfer {
		if err := s.withinUserLimit(ctx, q, a.OrgID, to, keys); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// withinUserLimit refuses a transfer that leaves member to with more usable
// keys in a project than the org's max_keys_per_user: a transfer must not
// be a way around the limit.
func (s *Service) withinUserLimit(ctx context.Context, q keyward.Queries, orgID, to string, moved []*keyward.Key) error {
	org, err := q.LockOrg(ctx, orgID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, k := range moved {
		if k.Kind != keyward.KindProject || seen[k.ProjectID] {
			continue
		}
		seen[k.ProjectID] = true
		max := org.Settings.MaxKeysPerUser
		n, err := q.CountUsableKeys(ctx, keyward.KeyFilter{OrgID: orgID, Kind: keyward.KindProject, ProjectID: k.ProjectID, OwnerUserID: to, Now: s.clock.Now(), Limit: max + 1})
		if err != nil {
			return err
		}
		if n > max {
			return keyward.Errorf(keyward.CodeKeyLimitReached, "The transfer would give %s more than the limit of %d keys per user in project %s; revoke the keys instead, or transfer them to another member", to, max, k.ProjectID)
		}
	}
	return nil
}

// keysNow is what each usable key of userID in a's org may do now, under
// the roles userID holds before a change: what a transfer keeps.
func (s *Service) keysNow(ctx context.Context, q keyward.Queries, a *Actor, userID string) (map[string][]string, error) {
	keys, err := q.ListKeys(ctx, keyward.KeyFilter{OrgID: a.OrgID, OwnerUserID: userID, Now: s.clock.Now()})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(keys))
	for _, k := range keys {
		if err := s.narrowToOwner(ctx, q, k); err != nil {
			return nil, err
		}
		out[k.ID] = k.Scopes
	}
	return out, nil
}

// keptScopes is what a transferred key keeps: what it could do before.
func keptScopes(k *keyward.Key, before map[string][]string) []string {
	if sc, ok := before[k.ID]; ok && sc != nil {
		return sc
	}
	return []string{}
}

// lostByOwner selects the keys whose owner's roles no longer allow them.
func (s *Service) lostByOwner(ctx context.Context, q keyward.Queries, k *keyward.Key) (bool, error) {
	_, ok, err := s.ownerAllows(ctx, q, k)
	return !ok, err
}

func userRef(id string) keyward.ActorRef { return keyward.ActorRef{Type: keyward.ActorUser, ID: id} }

// AddProjectMember gives an existing org member, found by email, a role in
// one project. Project admins may do this for their projects without an
// org role; adding people to the org itself stays with org admins.
func (s *Service) AddProjectMember(ctx context.Context, a *Actor, projectID, email string, role keyward.ProjectRole) (*keyward.Member, error) {
	email, fe := checkEmail(email)
	if fe == nil && !role.Valid() {
		fe = &keyward.FieldError{Field: "role", Problem: "must be admin, developer or viewer"}
	}
	if fe != nil {
		return nil, invalid(fe)
	}
	var out *keyward.Member
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := s.projectAccess(ctx, q, a, projectID, actProjectMembers, AuditMemberUpdate); err != nil {
			return err
		}
		if err := s.mayGrant(a, "", []keyward.ProjectMember{{ProjectID: projectID, Role: role}}, AuditMemberUpdate, keyward.ActorRef{Type: "project", ID: projectID}); err != nil {
			return err
		}
		u, err := q.GetUserByEmail(ctx, email)
		if err == nil {
			out, err = q.GetMember(ctx, a.OrgID, u.ID)
		}
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			return invalid(&keyward.FieldError{Field: "email", Problem: "is not a member of this organization; an org admin can add them"})
		}
		if err != nil {
			return err
		}
		if err := q.PutProjectMember(ctx, &keyward.ProjectMember{ProjectID: projectID, UserID: u.ID, Role: role}); err != nil {
			return err
		}
		ev := s.event(a, AuditMemberUpdate, projectID, userRef(u.ID))
		ev.Details = map[string]any{"project_role": string(role)}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		return fillProjects(ctx, q, out)
	})
	return out, s.finish(ctx, err)
}
