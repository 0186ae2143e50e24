package sqlite

import (
	"context"

	"github.com/keyward/keyward"
)

// memberSelect reads members with their user's email and name.
const memberSelect = `SELECT m.org_id, m.user_id, u.email, u.name, m.role, m.created_at
	FROM members m JOIN users u ON u.id = m.user_id`

// PutMember makes m.UserID a member of m.OrgID with m.Role, or changes the
// role of an existing member (keeping the original created_at).
func (q queries) PutMember(ctx context.Context, m *keyward.Member) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO members (org_id, user_id, role, created_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`,
		m.OrgID, m.UserID, string(m.Role), micros(m.CreatedAt))
	if err != nil {
		return dbError(err, "sqlite: putMember(%q, %q)", m.OrgID, m.UserID)
	}
	return nil
}

// GetMember returns the user's membership of the org.
func (q queries) GetMember(ctx context.Context, orgID, userID string) (*keyward.Member, error) {
	row := q.r.QueryRowContext(ctx, memberSelect+` WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID)
	m, err := scanMember(row)
	if err != nil {
		return nil, notFound(err, "member", "sqlite: getMember(%q, %q)", orgID, userID)
	}
	return m, nil
}

// ListMembers returns the org's members ordered by user id, those with ids
// above after, at most limit of them (0 = no limit).
func (q queries) ListMembers(ctx context.Context, orgID string, after string, limit int) ([]*keyward.Member, error) {
	rows, err := q.r.QueryContext(ctx, memberSelect+`
		WHERE m.org_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?`,
		orgID, after, sqlLimit(limit))
	if err != nil {
		return nil, dbError(err, "sqlite: listMembers(%q)", orgID)
	}
	defer rows.Close()
	ms := []*keyward.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listMembers(%q)", orgID)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listMembers(%q)", orgID)
	}
	return ms, nil
}

// DeleteMember removes the user from the org and from every project of the
// org, in one transaction.
func (q queries) DeleteMember(ctx context.Context, orgID, userID string) error {
	return q.atomic(ctx, "deleteMember", func(w dbtx) error {
		res, err := w.ExecContext(ctx, `DELETE FROM members WHERE org_id = ? AND user_id = ?`, orgID, userID)
		if err != nil {
			return dbError(err, "sqlite: deleteMember(%q, %q)", orgID, userID)
		}
		if err := mustAffect(res, "member"); err != nil {
			return err
		}
		_, err = w.ExecContext(ctx, `DELETE FROM project_members WHERE user_id = ?
			AND project_id IN (SELECT id FROM projects WHERE org_id = ?)`, userID, orgID)
		if err != nil {
			return dbError(err, "sqlite: deleteMember(%q, %q): project roles", orgID, userID)
		}
		return nil
	})
}

// CountOwners returns how many owners the org has.
func (q queries) CountOwners(ctx context.Context, orgID string) (int, error) {
	var n int
	err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE org_id = ? AND role = ?`,
		orgID, string(keyward.OrgOwner)).Scan(&n)
	if err != nil {
		return 0, dbError(err, "sqlite: countOwners(%q)", orgID)
	}
	return n, nil
}

func scanMember(s scanner) (*keyward.Member, error) {
	var m keyward.Member
	var role string
	var created int64
	if err := s.Scan(&m.OrgID, &m.UserID, &m.Email, &m.Name, &role, &created); err != nil {
		return nil, err
	}
	m.Role = keyward.OrgRole(role)
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

// sqlLimit turns "0 = no limit" into SQLite's "LIMIT -1 = no limit".
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}
