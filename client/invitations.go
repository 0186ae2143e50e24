package client

import (
	"context"
	"net/http"

	"github.com/keyward/keyward"
)

// InvitationsService lists and revokes the org's pending invitations (org
// key). Invitations are made by MembersService.Add.
type InvitationsService struct{ c *Client }

// Invitations returns the org's pending invitations.
func (o *OrgService) Invitations() *InvitationsService { return &InvitationsService{c: o.c} }

// List returns the pending invitations (at most 200, in one page: the
// answer has no cursor). Their links are never shown again: an invitation
// lists who was invited, with what roles, and until when.
func (s *InvitationsService) List(ctx context.Context) (*keyward.Page[keyward.Invitation], error) {
	var page keyward.Page[keyward.Invitation]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/invitations", cred: credOrg, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// Revoke ends a pending invitation: its link stops working. It returns the
// revoked invitation. Revoking one that is no longer pending (revoked,
// accepted or expired) is a CONFLICT error, so Revoke is never retried.
func (s *InvitationsService) Revoke(ctx context.Context, id string) (*keyward.Invitation, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	var inv keyward.Invitation
	err := s.c.do(ctx, call{method: http.MethodPost, path: "/v1/org/invitations/" + escape(id) + "/revoke", cred: credOrg}, &inv)
	if err != nil {
		return nil, err
	}
	return &inv, nil
}
