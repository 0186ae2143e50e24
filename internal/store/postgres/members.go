package postgres

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// memberSelect reads members with their user's email and name.
const memberSelect = `SELECT m.org_id, m.user_id, u.email, u.name, m.role, m.created_at
	FROM members m JOIN users u ON u.id = m.user_id`

// PutMember makes m.UserID a member of m.OrgID with m.Role, or changes the
// role of an existing member (keeping the original created_at).
func (q queries) PutMember(ctx context.Context, m *keyward.Member) error {
	_, err := q.db.Exec(ctx, `INSERT INTO members (org_id, user_id, role, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
		m.OrgID, m.UserID, string(m.Role), m.CreatedAt)
	return dbError(err, "postgres: putMember(%q, %q)", m.OrgID, m.UserID)
}

// GetMember returns the user's membership of the org.
func (q queries) GetMember(ctx context.Context, orgID, userID string) (*keyward.Member, error) {
	row := q.db.QueryRow(ctx, memberSelect+` WHERE m.org_id = $1 AND m.user_id = $2`, orgID, userID)
	m, err := scanMember(row)
	if err != nil {
		return nil, notFound(err, "member", "postgres: getMember(%q, %q)", orgID, userID)
	}
	return m, nil
}

// ListMembers returns the org's members ordered by user id, those with ids
// above after, at most limit of them (0 = no limit).
func (q queries) ListMembers(ctx context.Context, orgID string, after string, limit int) ([]*keyward.Member, error) {
	rows, err := q.db.Query(ctx, memberSelect+`
		WHERE m.org_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3`,
		orgID, after, sqlLimit(limit))
	return collect(rows, err, scanMember, "postgres: listMembers(%q)", orgID)
}

// DeleteMember removes the user from the org and from every project of the
// org, in one statement.
func (q queries) DeleteMember(ctx context.Context, orgID, userID string) error {
	var n int
	err := q.db.QueryRow(ctx, `WITH gone AS (
			DELETE FROM members WHERE org_id = $1 AND user_id = $2 RETURNING user_id
		), roles AS (
			DELETE FROM project_members
			WHERE user_id IN (SELECT user_id FROM gone)
			AND project_id IN (SELECT id FROM projects WHERE org_id = $1)
		)
		SELECT COUNT(*) FROM gone`, orgID, userID).Scan(&n)
	if err != nil {
		return dbError(err, "postgres: deleteMember(%q, %q)", orgID, userID)
	}
	if n == 0 {
		return keyward.NotFound("member")
	}
	return nil
}

// CountOwners returns how many owners the org has.
func (q queries) CountOwners(ctx context.Context, orgID string) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT COUNT(*) FROM members WHERE org_id = $1 AND role = $2`,
		orgID, string(keyward.OrgOwner)).Scan(&n)
	if err != nil {
		return 0, dbError(err, "postgres: countOwners(%q)", orgID)
	}
	return n, nil
}

func scanMember(s scanner) (*keyward.Member, error) {
	var m keyward.Member
	var role string
	var created time.Time
	if err := s.Scan(&m.OrgID, &m.UserID, &m.Email, &m.Name, &role, &created); err != nil {
		return nil, err
	}
	m.Role = keyward.OrgRole(role)
	m.CreatedAt = utc(created)
	return &m, nil
}
