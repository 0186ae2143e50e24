package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Adding an email that already has an account (here: the owner of another
// org) does not make it a member: the answer is 202 with status "pending"
// and the invitation, whose link is on --public-url. A new person is a
// member at once (201). Pending invitations are listed and can be revoked.
func TestAddExistingAccountIsPending(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	other, err := s.srv.Service.CreateOrg(ctx, s.srv.OwnerID, service.CreateOrgInput{Name: "Other"}, service.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	// Someone who belongs to the other org only.
	stranger, err := s.srv.Service.AddMember(ctx, service.UserActor(s.srv.OwnerID, other.ID, service.Origin{}), keyward.AddMemberInput{Email: "stranger@example.com", Role: keyward.OrgMember})
	if err != nil {
		t.Fatal(err)
	}

	var m keyward.Member
	s.ok(t, "POST", "/v1/org/members", map[string]any{
		"email": "stranger@example.com", "role": "admin",
		"projects": []map[string]string{{"project_id": s.project.ID, "role": "developer"}},
	}).want(t, 202).decode(t, &m)
	if m.Status != "pending" || m.UserID != stranger.UserID || m.Invitation == nil ||
		!strings.HasPrefix(m.Invitation.URL, kwtest.PublicURL+"/invite?token=") || len(m.Invitation.Projects) != 1 {
		t.Fatalf("answer: %+v, invitation %+v", m, m.Invitation)
	}
	isMember := func(userID string) bool {
		var ms keyward.Page[keyward.Member]
		s.ok(t, "GET", "/v1/org/members?limit=200", nil).want(t, 200).decode(t, &ms)
		for _, m := range ms.Data {
			if m.UserID == userID {
				return true
			}
		}
		return false
	}
	if isMember(stranger.UserID) {
		t.Fatal("the existing account was attached without accepting")
	}

	var page keyward.Page[keyward.Invitation]
	s.ok(t, "GET", "/v1/org/invitations", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != m.Invitation.ID || page.Data[0].URL != "" || page.Data[0].Email != "stranger@example.com" {
		t.Fatalf("pending invitations: %+v", page.Data)
	}
	var revoked keyward.Invitation
	s.ok(t, "POST", "/v1/org/invitations/"+m.Invitation.ID+"/revoke", nil).want(t, 200).decode(t, &revoked)
	if revoked.RevokedAt == nil {
		t.Errorf("revoked: %+v", revoked)
	}
	s.ok(t, "POST", "/v1/org/invitations/"+m.Invitation.ID+"/revoke", nil).wantError(t, 409, keyward.CodeConflict)
	s.ok(t, "POST", "/v1/org/invitations/inv_nope/revoke", nil).wantError(t, 404, keyward.CodeNotFound)
	s.ok(t, "GET", "/v1/org/invitations", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 0 {
		t.Errorf("after revoke: %+v", page.Data)
	}

	var added keyward.Member
	s.ok(t, "POST", "/v1/org/members", map[string]any{"email": "newbie@example.com", "role": "member"}).want(t, 201).decode(t, &added)
	if added.Status != "" || added.Invitation == nil || !strings.HasPrefix(added.Invitation.URL, kwtest.PublicURL+"/invite?token=") {
		t.Errorf("new person: %+v", added)
	}
	if !isMember(added.UserID) {
		t.Error("the new person is not a member")
	}
}
