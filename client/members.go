package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/keyward/keyward"
)

// MembersService manages the org's members and their roles (org key).
type MembersService struct{ c *Client }

// Members returns the org's members.
func (o *OrgService) Members() *MembersService { return &MembersService{c: o.c} }

// List returns one page of members.
func (s *MembersService) List(ctx context.Context, p ListParams) (*keyward.Page[keyward.Member], error) {
	var page keyward.Page[keyward.Member]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/members", query: p.values(), cred: credOrg, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// All iterates over every member from p.Cursor on.
func (s *MembersService) All(ctx context.Context, p ListParams) iter.Seq2[keyward.Member, error] {
	return all(ctx, p.Cursor, func(ctx context.Context, cursor string) (*keyward.Page[keyward.Member], error) {
		p.Cursor = cursor
		return s.List(ctx, p)
	})
}

// Add adds a new person to the org by email (the user is created; the
// answer's Invitation.URL is the link that sets their password). An email
// that already has an account is only invited: the answer has Status
// "pending", and the person becomes a member once they accept the link.
func (s *MembersService) Add(ctx context.Context, in keyward.AddMemberInput) (*keyward.Member, error) {
	return s.send(ctx, call{method: http.MethodPost, path: "/v1/org/members", body: in})
}

// Update changes a member's org role and project roles.
func (s *MembersService) Update(ctx context.Context, userID string, patch keyward.MemberPatch) (*keyward.Member, error) {
	if userID == "" {
		return nil, ErrEmptyID
	}
	return s.send(ctx, call{method: http.MethodPatch, path: "/v1/org/members/" + escape(userID), body: patch})
}

// Remove removes a member from the org. Their keys are revoked (the
// default) or transferred, as in says.
func (s *MembersService) Remove(ctx context.Context, userID string, in keyward.RemoveMemberInput) error {
	if userID == "" {
		return ErrEmptyID
	}
	q := url.Values{}
	if in.KeyHandling != "" {
		q.Set("key_handling", string(in.KeyHandling))
	}
	if in.TransferTo != "" {
		q.Set("transfer_to", in.TransferTo)
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: "/v1/org/members/" + escape(userID), query: q, cred: credOrg, idempotent: true}, nil)
}

func (s *MembersService) send(ctx context.Context, cl call) (*keyward.Member, error) {
	cl.cred = credOrg
	var m keyward.Member
	if err := s.c.do(ctx, cl, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// SettingsService reads and changes the org's limits and policies.
type SettingsService struct{ c *Client }

// Settings returns the org's settings endpoints (org key).
func (o *OrgService) Settings() *SettingsService { return &SettingsService{c: o.c} }

// Get returns the org's settings.
func (s *SettingsService) Get(ctx context.Context) (*keyward.Settings, error) {
	var st keyward.Settings
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/settings", cred: credOrg, idempotent: true}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Update changes some settings and returns all of them.
func (s *SettingsService) Update(ctx context.Context, patch keyward.SettingsPatch) (*keyward.Settings, error) {
	var st keyward.Settings
	if err := s.c.do(ctx, call{method: http.MethodPatch, path: "/v1/org/settings", body: patch, cred: credOrg}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
