package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyward/keyward"
)

const invitationColumns = `id, org_id, user_id, email, role, projects, digest, created_by, created_at, expires_at, accepted_at, revoked_at`

// CreateInvitation inserts inv. An invitation whose id or token digest is
// taken is a CONFLICT.
func (q queries) CreateInvitation(ctx context.Context, inv *keyward.Invitation) error {
	projects, err := encodeInvitationProjects(inv.Projects)
	if err != nil {
		return fmt.Errorf("postgres: createInvitation(%q): %w", inv.ID, err)
	}
	return q.insert(ctx, "An invitation with this id or token already exists", fmt.Sprintf("createInvitation(%q)", inv.ID),
		`INSERT INTO invitations (`+invitationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		inv.ID, inv.OrgID, inv.UserID, inv.Email, string(inv.Role), projects, digestArg(inv.Digest),
		inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt, inv.AcceptedAt, inv.RevokedAt)
}

// GetInvitation returns the invitation with the given id.
func (q queries) GetInvitation(ctx context.Context, id string) (*keyward.Invitation, error) {
	row := q.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = $1`, id)
	inv, err := scanInvitation(row)
	if err != nil {
		return nil, notFound(err, "invitation", "postgres: getInvitation(%q)", id)
	}
	return inv, nil
}

// GetInvitationByDigest returns the invitation whose token digest is d,
// whatever its state: the caller judges it.
func (q queries) GetInvitationByDigest(ctx context.Context, d []byte) (*keyward.Invitation, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("invitation")
	}
	row := q.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE digest = $1`, d)
	inv, err := scanInvitation(row)
	if err != nil {
		// Never name the digest: it is as good as the token.
		return nil, notFound(err, "invitation", "postgres: getInvitationByDigest")
	}
	return inv, nil
}

// ListPendingInvitations returns the org's pending invitations at now,
// ordered by id.
func (q queries) ListPendingInvitations(ctx context.Context, orgID string, now time.Time, limit int) ([]*keyward.Invitation, error) {
	rows, err := q.db.Query(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
		ORDER BY id LIMIT $3`, orgID, now, limit)
	if err != nil {
		return nil, dbError(err, "postgres: listPendingInvitations(%q)", orgID)
	}
	defer rows.Close()
	out := []*keyward.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, dbError(err, "postgres: listPendingInvitations(%q)", orgID)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "postgres: listPendingInvitations(%q)", orgID)
	}
	return out, nil
}

// UpdateInvitation writes inv's accepted_at and revoked_at.
func (q queries) UpdateInvitation(ctx context.Context, inv *keyward.Invitation) error {
	tag, err := q.db.Exec(ctx, `UPDATE invitations SET accepted_at = $1, revoked_at = $2 WHERE id = $3`,
		inv.AcceptedAt, inv.RevokedAt, inv.ID)
	if err != nil {
		return dbError(err, "postgres: updateInvitation(%q)", inv.ID)
	}
	return mustAffect(tag, "invitation")
}

// encodeInvitationProjects keeps an invitation's project roles as JSON.
func encodeInvitationProjects(prs []keyward.ProjectMember) (string, error) {
	type pr struct {
		ProjectID string              `json:"project_id"`
		Role      keyward.ProjectRole `json:"role"`
	}
	out := make([]pr, 0, len(prs))
	for _, p := range prs {
		out = append(out, pr{ProjectID: p.ProjectID, Role: p.Role})
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func scanInvitation(s scanner) (*keyward.Invitation, error) {
	var (
		inv               keyward.Invitation
		role              string
		projects          []byte
		created, expires  time.Time
		accepted, revoked *time.Time
	)
	if err := s.Scan(&inv.ID, &inv.OrgID, &inv.UserID, &inv.Email, &role, &projects, &inv.Digest,
		&inv.CreatedBy, &created, &expires, &accepted, &revoked); err != nil {
		return nil, err
	}
	inv.Role = keyward.OrgRole(role)
	if err := json.Unmarshal(projects, &inv.Projects); err != nil {
		return nil, fmt.Errorf("invitation %s: projects: %w", inv.ID, err)
	}
	for i := range inv.Projects {
		inv.Projects[i].UserID = inv.UserID
	}
	inv.CreatedAt = utc(created)
	inv.ExpiresAt = utc(expires)
	inv.AcceptedAt = utcPtr(accepted)
	inv.RevokedAt = utcPtr(revoked)
	return &inv, nil
}
