package sqlite

import (
	"context"
	"database/sql"
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
		return fmt.Errorf("sqlite: createInvitation(%q): %w", inv.ID, err)
	}
	_, err = q.w.ExecContext(ctx, `INSERT INTO invitations (`+invitationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.ID, inv.OrgID, inv.UserID, inv.Email, string(inv.Role), projects, digestArg(inv.Digest),
		inv.CreatedBy, micros(inv.CreatedAt), micros(inv.ExpiresAt), nullMicros(inv.AcceptedAt), nullMicros(inv.RevokedAt))
	if err != nil {
		return conflict(err, "An invitation with this id or token already exists", "sqlite: createInvitation(%q)", inv.ID)
	}
	return nil
}

// GetInvitation returns the invitation with the given id.
func (q queries) GetInvitation(ctx context.Context, id string) (*keyward.Invitation, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE id = ?`, id)
	inv, err := scanInvitation(row)
	if err != nil {
		return nil, notFound(err, "invitation", "sqlite: getInvitation(%q)", id)
	}
	return inv, nil
}

// GetInvitationByDigest returns the invitation whose token digest is d,
// whatever its state: the caller judges it.
func (q queries) GetInvitationByDigest(ctx context.Context, d []byte) (*keyward.Invitation, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("invitation")
	}
	row := q.r.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE digest = ?`, d)
	inv, err := scanInvitation(row)
	if err != nil {
		// Never name the digest: it is as good as the token.
		return nil, notFound(err, "invitation", "sqlite: getInvitationByDigest")
	}
	return inv, nil
}

// ListPendingInvitations returns the org's pending invitations at now,
// ordered by id.
func (q queries) ListPendingInvitations(ctx context.Context, orgID string, now time.Time, limit int) ([]*keyward.Invitation, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		ORDER BY id LIMIT ?`, orgID, micros(now), limit)
	if err != nil {
		return nil, dbError(err, "sqlite: listPendingInvitations(%q)", orgID)
	}
	defer rows.Close()
	out := []*keyward.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listPendingInvitations(%q)", orgID)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listPendingInvitations(%q)", orgID)
	}
	return out, nil
}

// UpdateInvitation writes inv's accepted_at and revoked_at.
func (q queries) UpdateInvitation(ctx context.Context, inv *keyward.Invitation) error {
	res, err := q.w.ExecContext(ctx, `UPDATE invitations SET accepted_at = ?, revoked_at = ? WHERE id = ?`,
		nullMicros(inv.AcceptedAt), nullMicros(inv.RevokedAt), inv.ID)
	if err != nil {
		return dbError(err, "sqlite: updateInvitation(%q)", inv.ID)
	}
	return mustAffect(res, "invitation")
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
		role, projects    string
		created, expires  int64
		accepted, revoked sql.NullInt64
	)
	if err := s.Scan(&inv.ID, &inv.OrgID, &inv.UserID, &inv.Email, &role, &projects, &inv.Digest,
		&inv.CreatedBy, &created, &expires, &accepted, &revoked); err != nil {
		return nil, err
	}
	inv.Role = keyward.OrgRole(role)
	if err := json.Unmarshal([]byte(projects), &inv.Projects); err != nil {
		return nil, fmt.Errorf("invitation %s: projects: %w", inv.ID, err)
	}
	for i := range inv.Projects {
		inv.Projects[i].UserID = inv.UserID
	}
	inv.CreatedAt = fromMicros(created)
	inv.ExpiresAt = fromMicros(expires)
	inv.AcceptedAt = timePtr(accepted)
	inv.RevokedAt = timePtr(revoked)
	return &inv, nil
}
