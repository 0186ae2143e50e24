package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// invitation stores a pending invitation of u to org, changed by mods.
func (e *env) invitation(org *keyward.Org, u *keyward.User, mods ...func(*keyward.Invitation)) *keyward.Invitation {
	e.t.Helper()
	inv := &keyward.Invitation{
		ID: keyward.NewID(keyward.PrefixInvitation), OrgID: org.ID, UserID: u.ID, Email: u.Email,
		Role: keyward.OrgMember, Projects: []keyward.ProjectMember{}, Digest: digest(),
		CreatedBy: "usr_inviter", CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour),
	}
	for _, m := range mods {
		m(inv)
	}
	if err := e.s.CreateInvitation(e.ctx, inv); err != nil {
		e.t.Fatalf("CreateInvitation: %v", err)
	}
	return inv
}

var invitationTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		org, u := e.org(), e.user(unicodeName)
		p := e.project(org)
		inv := e.invitation(org, u, func(inv *keyward.Invitation) {
			inv.Role = keyward.OrgAdmin
			inv.Projects = []keyward.ProjectMember{{ProjectID: p.ID, UserID: u.ID, Role: keyward.ProjectDeveloper}}
		})
		got, err := e.s.GetInvitation(e.ctx, inv.ID)
		mustNil(t, "GetInvitation", err)
		diff(t, "GetInvitation", inv, got)
		got, err = e.s.GetInvitationByDigest(e.ctx, inv.Digest)
		mustNil(t, "GetInvitationByDigest", err)
		diff(t, "GetInvitationByDigest", inv, got)

		_, err = e.s.GetInvitation(e.ctx, keyward.NewID(keyward.PrefixInvitation))
		wantCode(t, "GetInvitation(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.GetInvitationByDigest(e.ctx, digest())
		wantCode(t, "GetInvitationByDigest(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.GetInvitationByDigest(e.ctx, nil)
		wantCode(t, "GetInvitationByDigest(nil)", err, keyward.CodeNotFound)

		dup := *inv
		dup.ID = keyward.NewID(keyward.PrefixInvitation)
		wantCode(t, "CreateInvitation(same digest)", e.s.CreateInvitation(e.ctx, &dup), keyward.CodeConflict)
	}},
	{"UpdateAndListPending", func(t *testing.T, e *env) {
		org, other := e.org(), e.org()
		a, b, c, d := e.invitation(org, e.user("A")), e.invitation(org, e.user("B")), e.invitation(org, e.user("C")), e.invitation(org, e.user("D"), func(inv *keyward.Invitation) {
			inv.ExpiresAt = base.Add(time.Hour)
		})
		e.invitation(other, e.user("E"))

		at := base.Add(time.Minute + 3*time.Microsecond)
		b.AcceptedAt = &at
		mustNil(t, "UpdateInvitation(accept)", e.s.UpdateInvitation(e.ctx, b))
		c.RevokedAt = &at
		mustNil(t, "UpdateInvitation(revoke)", e.s.UpdateInvitation(e.ctx, c))
		got, err := e.s.GetInvitation(e.ctx, b.ID)
		mustNil(t, "GetInvitation(accepted)", err)
		diff(t, "accepted invitation", b, got)

		pending, err := e.s.ListPendingInvitations(e.ctx, org.ID, base, 10)
		mustNil(t, "ListPendingInvitations", err)
		diff(t, "pending before d expires", []*keyward.Invitation{a, d}, pending)
		pending, err = e.s.ListPendingInvitations(e.ctx, org.ID, d.ExpiresAt, 10)
		mustNil(t, "ListPendingInvitations(at d's expiry)", err)
		diff(t, "pending at d's expiry", []*keyward.Invitation{a}, pending)
		pending, err = e.s.ListPendingInvitations(e.ctx, org.ID, base, 1)
		mustNil(t, "ListPendingInvitations(limit 1)", err)
		diff(t, "pending, limit 1", []*keyward.Invitation{a}, pending)

		missing := *a
		missing.ID = keyward.NewID(keyward.PrefixInvitation)
		wantCode(t, "UpdateInvitation(unknown)", e.s.UpdateInvitation(e.ctx, &missing), keyward.CodeNotFound)
	}},
}
