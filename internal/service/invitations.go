package service

import (
	"context"
	"net/url"
	"time"

	"github.com/keyward/keyward"
)

// InvitationLifetime is how long an invitation link works.
const InvitationLifetime = 7 * 24 * time.Hour

// Audit actions of invitations.
const (
	AuditMemberInvite     = "member.invite"
	AuditInvitationAccept = "member.invite_accept"
	AuditInvitationRevoke = "member.invite_revoke"
)

// maxPendingInvitations bounds the pending invitations listed at once.
const maxPendingInvitations = 200

// errBadInvitation is the answer for a token that names no invitation.
var errBadInvitation = keyward.Errorf(keyward.CodeNotFound, "This invitation link is invalid")

// invite is AddMember's path for an email that already has an account: an
// account belongs to its person, so it is never attached to another org
// silently. It makes a pending invitation that the person accepts, signed
// in, and returns it as a member with status "pending". The caller has
// checked a's right to add members with this role.
func (s *Service) invite(ctx context.Context, q keyward.Queries, a *Actor, u *keyward.User, in keyward.AddMemberInput) (*keyward.Member, error) {
	if _, err := q.GetMember(ctx, a.OrgID, u.ID); err == nil {
		return nil, keyward.Errorf(keyward.CodeConflict, "This user is already a member of the organization")
	} else if keyward.ErrorCode(err) != keyward.CodeNotFound {
		return nil, err
	}
	for _, pr := range in.Projects {
		if _, err := s.projectAccess(ctx, q, a, pr.ProjectID, actProjectMembers, AuditMemberInvite); err != nil {
			return nil, err
		}
	}
	inv, err := s.newInvitation(ctx, q, a, u, in.Role, in.Projects)
	if err != nil {
		return nil, err
	}
	ev := s.event(a, AuditMemberInvite, "", userRef(u.ID))
	ev.Details = map[string]any{"invitation_id": inv.ID, "role": string(in.Role), "projects": len(in.Projects)}
	if err := q.InsertAuditEvent(ctx, ev); err != nil {
		return nil, err
	}
	return &keyward.Member{
		OrgID: a.OrgID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: in.Role,
		CreatedAt: inv.CreatedAt, Projects: inv.Projects, Status: "pending", Invitation: inv,
	}, nil
}

// revokeInvitationsOf revokes the pending invitations of userID to orgID:
// a removed member cannot come back through an old link.
func (s *Service) revokeInvitationsOf(ctx context.Context, q keyward.Queries, orgID, userID string) error {
	now := s.clock.Now()
	pending, err := q.ListPendingInvitations(ctx, orgID, now, maxPendingInvitations)
	if err != nil {
		return err
	}
	for _, inv := range pending {
		if inv.UserID == userID {
			inv.RevokedAt = &now
			if err := q.UpdateInvitation(ctx, inv); err != nil {
				return err
			}
		}
	}
	return nil
}

// newInvitation stores a pending invitation of u to a's org, replacing
// (revoking) any earlier pending one of u, and returns it with its one-time
// link. Only the digest of the link's token is stored.
func (s *Service) newInvitation(ctx context.Context, q keyward.Queries, a *Actor, u *keyward.User, role keyward.OrgRole, prs []keyward.ProjectMember) (*keyward.Invitation, error) {
	if err := s.revokeInvitationsOf(ctx, q, a.OrgID, u.ID); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	token := newToken()
	inv := &keyward.Invitation{
		ID: keyward.NewID(keyward.PrefixInvitation), OrgID: a.OrgID, UserID: u.ID, Email: u.Email,
		Role: role, Projects: []keyward.ProjectMember{}, Digest: s.digest.Digest(token),
		CreatedBy: a.Ref().ID, CreatedAt: now, ExpiresAt: now.Add(InvitationLifetime),
	}
	for _, pr := range prs {
		inv.Projects = append(inv.Projects, keyward.ProjectMember{ProjectID: pr.ProjectID, UserID: u.ID, Role: pr.Role})
	}
	if err := q.CreateInvitation(ctx, inv); err != nil {
		return nil, err
	}
	inv.URL = s.PublicLink("/invite?token=" + url.QueryEscape(token))
	return inv, nil
}

// invitationState explains why an invitation can no longer be accepted,
// or returns nil while it is pending.
func invitationState(inv *keyward.Invitation, now time.Time) error {
	switch {
	case inv.RevokedAt != nil:
		return keyward.Errorf(keyward.CodeConflict, "This invitation was revoked; ask an admin of the organization for a new one")
	case inv.AcceptedAt != nil:
		return keyward.Errorf(keyward.CodeConflict, "This invitation was already used")
	case !now.Before(inv.ExpiresAt):
		return keyward.Errorf(keyward.CodeConflict, "This invitation has expired; ask an admin of the organization for a new one")
	}
	return nil
}

// InvitationView is what the invitation page shows before it is accepted.
type InvitationView struct {
	Invitation *keyward.Invitation
	Org        *keyward.Org
	// SetPassword is whether the link itself may set the account's
	// password: only for an account without a password that belongs to no
	// other org. Every other account accepts after signing in.
	SetPassword bool
}

// LookupInvitation returns the pending invitation behind a link's token.
// Unknown tokens are NOT_FOUND; revoked, used and expired invitations are
// CONFLICT with a message that says which.
func (s *Service) LookupInvitation(ctx context.Context, token string) (*InvitationView, error) {
	inv, err := s.invitationByToken(ctx, s.store, token)
	if err != nil {
		return nil, err
	}
	if err := invitationState(inv, s.clock.Now()); err != nil {
		return nil, err
	}
	org, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, inv.UserID)
	if err != nil {
		return nil, err
	}
	ok, err := s.linkMaySetPassword(ctx, s.store, u, inv.OrgID)
	if err != nil {
		return nil, err
	}
	return &InvitationView{Invitation: inv, Org: org, SetPassword: ok}, nil
}

func (s *Service) invitationByToken(ctx context.Context, q keyward.Queries, token string) (*keyward.Invitation, error) {
	if token == "" || len(token) > 100 {
		return nil, errBadInvitation
	}
	inv, err := q.GetInvitationByDigest(ctx, s.digest.Digest(token))
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return nil, errBadInvitation
	}
	return inv, err
}

// linkMaySetPassword reports whether a link made by orgID may set u's
// password: u has none, and belongs to no org but orgID.
func (s *Service) linkMaySetPassword(ctx context.Context, q keyward.Queries, u *keyward.User, orgID string) (bool, error) {
	if u.PasswordHash != "" {
		return false, nil
	}
	return onlyIn(ctx, q, u.ID, orgID)
}

// onlyIn reports whether user userID belongs to no org but orgID.
func onlyIn(ctx context.Context, q keyward.Queries, userID, orgID string) (bool, error) {
	orgs, err := q.ListOrgsForUser(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, o := range orgs {
		if o.ID != orgID {
			return false, nil
		}
	}
	return true, nil
}

// AcceptInvitation accepts an invitation for the signed-in user userID: they
// become a member with the invited org role and project roles. Only the
// invited account may accept it.
func (s *Service) AcceptInvitation(ctx context.Context, userID, token string, o Origin) (*keyward.Org, error) {
	var org *keyward.Org
	err := s.inTx(ctx, func(q keyward.Queries) error {
		inv, err := s.lockInvitation(ctx, q, token)
		if err != nil {
			return err
		}
		if inv.UserID != userID {
			a := UserActor(userID, inv.OrgID, o)
			return s.denied(a, AuditInvitationAccept, "", userRef(inv.UserID), "This invitation is for another account; sign in as the person it was sent to")
		}
		org, err = s.join(ctx, q, inv, o)
		return err
	})
	return org, s.finish(ctx, err)
}

// AcceptInvitationWithPassword accepts an invitation through its link alone,
// setting the account's password, and signs the person in. It works only
// for an account without a password that belongs to no other org (a new
// person); everyone else signs in and accepts.
func (s *Service) AcceptInvitationWithPassword(ctx context.Context, token, password string, o Origin) (string, *keyward.Org, error) {
	if fe := checkPassword(password); fe != nil {
		return "", nil, invalid(fe)
	}
	// Only a link that works gets a hash slot: a made-up token must not
	// keep sign-ins waiting.
	inv, err := s.invitationByToken(ctx, s.store, token)
	if err == nil {
		err = invitationState(inv, s.clock.Now())
	}
	if err != nil {
		return "", nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", nil, err
	}
	var (
		org    *keyward.Org
		userID string
	)
	err = s.inTx(ctx, func(q keyward.Queries) error {
		inv, err := s.lockInvitation(ctx, q, token)
		if err != nil {
			return err
		}
		u, err := q.GetUser(ctx, inv.UserID)
		if err != nil {
			return err
		}
		ok, err := s.linkMaySetPassword(ctx, q, u, inv.OrgID)
		if err != nil {
			return err
		}
		if !ok {
			return keyward.Errorf(keyward.CodeConflict, "This account already exists: sign in with its password to accept the invitation")
		}
		u.PasswordHash = hash
		if err := storePassword(ctx, q, u); err != nil {
			return err
		}
		userID = u.ID
		org, err = s.join(ctx, q, inv, o)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	session, _, err := s.startSession(ctx, userID, o)
	return session, org, err
}

// lockInvitation finds the invitation behind token, locks its org and
// checks that it is still pending.
func (s *Service) lockInvitation(ctx context.Context, q keyward.Queries, token string) (*keyward.Invitation, error) {
	inv, err := s.invitationByToken(ctx, q, token)
	if err != nil {
		return nil, err
	}
	if _, err := q.LockOrg(ctx, inv.OrgID); err != nil {
		return nil, err
	}
	if inv, err = q.GetInvitation(ctx, inv.ID); err != nil { // as the lock found it
		return nil, err
	}
	return inv, invitationState(inv, s.clock.Now())
}

// join makes the invited user a member (if not already one) with the
// invited roles, marks the invitation accepted and audits it. Projects
// deleted since the invitation are skipped. Once the account belongs to
// more than one org, no org's reset link may work on it any more.
func (s *Service) join(ctx context.Context, q keyward.Queries, inv *keyward.Invitation, o Origin) (*keyward.Org, error) {
	if err := s.inviterMay(ctx, q, inv); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a := UserActor(inv.UserID, inv.OrgID, o)
	_, err := q.GetMember(ctx, inv.OrgID, inv.UserID)
	switch keyward.ErrorCode(err) {
	case "":
	case keyward.CodeNotFound:
		if err := q.PutMember(ctx, &keyward.Member{OrgID: inv.OrgID, UserID: inv.UserID, Role: inv.Role, CreatedAt: now}); err != nil {
			return nil, err
		}
		for _, pr := range inv.Projects {
			p, err := q.GetProject(ctx, pr.ProjectID)
			if keyward.ErrorCode(err) == keyward.CodeNotFound || (err == nil && p.OrgID != inv.OrgID) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := q.PutProjectMember(ctx, &keyward.ProjectMember{ProjectID: p.ID, UserID: inv.UserID, Role: pr.Role}); err != nil {
				return nil, err
			}
		}
	default:
		return nil, err
	}
	inv.AcceptedAt = &now
	if err := q.UpdateInvitation(ctx, inv); err != nil {
		return nil, err
	}
	if only, err := onlyIn(ctx, q, inv.UserID, inv.OrgID); err != nil {
		return nil, err
	} else if !only {
		if err := q.DeleteUserPasswordResets(ctx, inv.UserID); err != nil {
			return nil, err
		}
	}
	ev := s.event(a, AuditInvitationAccept, "", userRef(inv.UserID))
	ev.Details = map[string]any{"invitation_id": inv.ID, "role": string(inv.Role), "projects": len(inv.Projects)}
	if err := q.InsertAuditEvent(ctx, ev); err != nil {
		return nil, err
	}
	return q.GetOrg(ctx, inv.OrgID)
}

// errStaleInvitation refuses an invitation whose maker may no longer add
// the member it names.
var errStaleInvitation = keyward.Errorf(keyward.CodeConflict, "This invitation is no longer valid: whoever made it may no longer add this member; ask an admin of the organization for a new one")

// inviterMay asks again, as an invitation is accepted, whether whoever made
// it may still give these roles now: the invitations of a removed or
// demoted admin, or of a revoked, expired or rotated-out key, stop working
// with them. It is the same decision as when the invitation was made.
func (s *Service) inviterMay(ctx context.Context, q keyward.Queries, inv *keyward.Invitation) error {
	a := UserActor(inv.CreatedBy, inv.OrgID, Origin{})
	if keyward.ValidID(keyward.PrefixKey, inv.CreatedBy) {
		a = &Actor{Key: &keyward.Key{ID: inv.CreatedBy, Kind: keyward.KindOrg}, OrgID: inv.OrgID}
	}
	role, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditMemberInvite)
	if err == nil && inv.Role == keyward.OrgOwner && role != keyward.OrgOwner {
		err = errStaleInvitation
	}
	if err == nil {
		err = s.mayGrant(a, inv.Role, inv.Projects, AuditMemberInvite, userRef(inv.UserID))
	}
	for _, pr := range inv.Projects {
		if err != nil {
			break
		}
		_, err = s.projectAccess(ctx, q, a, pr.ProjectID, actProjectMembers, AuditMemberInvite)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			err = nil // a project deleted since: skipped when joining
		}
	}
	switch code := keyward.ErrorCode(err); code {
	case "":
		return nil
	case keyward.CodeUnavailable, keyward.CodeInternal:
		return err
	}
	return errStaleInvitation
}

// ListInvitations lists the org's pending invitations (for org admins and
// org keys with members:read).
func (s *Service) ListInvitations(ctx context.Context, a *Actor) ([]*keyward.Invitation, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actMembersRead, AuditMemberRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	return s.store.ListPendingInvitations(ctx, a.OrgID, s.clock.Now(), maxPendingInvitations)
}

// RevokeInvitation ends a pending invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, a *Actor, id string) (*keyward.Invitation, error) {
	if !keyward.ValidID(keyward.PrefixInvitation, id) {
		return nil, keyward.NotFound("invitation")
	}
	var out *keyward.Invitation
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := q.LockOrg(ctx, a.OrgID); err != nil {
			return err
		}
		if _, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditInvitationRevoke); err != nil {
			return err
		}
		inv, err := q.GetInvitation(ctx, id)
		if keyward.ErrorCode(err) == keyward.CodeNotFound || (err == nil && inv.OrgID != a.OrgID) {
			return keyward.NotFound("invitation")
		}
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if !inv.Pending(now) {
			return keyward.Errorf(keyward.CodeConflict, "This invitation is no longer pending")
		}
		inv.RevokedAt = &now
		if err := q.UpdateInvitation(ctx, inv); err != nil {
			return err
		}
		ev := s.event(a, AuditInvitationRevoke, "", userRef(inv.UserID))
		ev.Details = map[string]any{"invitation_id": inv.ID}
		out = inv
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, s.finish(ctx, err)
}
