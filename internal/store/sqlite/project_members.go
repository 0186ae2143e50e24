package sqlite

import (
	"context"

	"github.com/keyward/keyward"
)

// PutProjectMember gives the user a role in the project, or changes it.
func (q queries) PutProjectMember(ctx context.Context, m *keyward.ProjectMember) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role)
		VALUES (?, ?, ?)
		ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
		m.ProjectID, m.UserID, string(m.Role))
	if err != nil {
		return dbError(err, "sqlite: putProjectMember(%q, %q)", m.ProjectID, m.UserID)
	}
	return nil
}

// GetProjectMember returns the user's role in the project.
func (q queries) GetProjectMember(ctx context.Context, projectID, userID string) (*keyward.ProjectMember, error) {
	row := q.r.QueryRowContext(ctx, `SELECT project_id, user_id, role FROM project_members
		WHERE project_id = ? AND user_id = ?`, projectID, userID)
	m, err := scanProjectMember(row)
	if err != nil {
		return nil, notFound(err, "project member", "sqlite: getProjectMember(%q, %q)", projectID, userID)
	}
	return m, nil
}

// ListProjectMembers returns the project's members ordered by user id.
func (q queries) ListProjectMembers(ctx context.Context, projectID string) ([]*keyward.ProjectMember, error) {
	return q.listProjectMembers(ctx, "listProjectMembers", `SELECT project_id, user_id, role
		FROM project_members WHERE project_id = ? ORDER BY user_id`, projectID)
}

// ListUserProjectRoles returns the user's roles in the org's projects,
// ordered by project id.
func (q queries) ListUserProjectRoles(ctx context.Context, orgID, userID string) ([]*keyward.ProjectMember, error) {
	return q.listProjectMembers(ctx, "listUserProjectRoles", `SELECT pm.project_id, pm.user_id, pm.role
		FROM project_members pm JOIN projects p ON p.id = pm.project_id
		WHERE p.org_id = ? AND pm.user_id = ? ORDER BY pm.project_id`, orgID, userID)
}

// DeleteProjectMember removes the user's role in the project.
func (q queries) DeleteProjectMember(ctx context.Context, projectID, userID string) error {
	res, err := q.w.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`,
		projectID, userID)
	if err != nil {
		return dbError(err, "sqlite: deleteProjectMember(%q, %q)", projectID, userID)
	}
	return mustAffect(res, "project member")
}

func (q queries) listProjectMembers(ctx context.Context, op, query string, args ...any) ([]*keyward.ProjectMember, error) {
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: %s(%q)", op, args)
	}
	defer rows.Close()
	ms := []*keyward.ProjectMember{}
	for rows.Next() {
		m, err := scanProjectMember(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: %s(%q)", op, args)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: %s(%q)", op, args)
	}
	return ms, nil
}

func scanProjectMember(s scanner) (*keyward.ProjectMember, error) {
	var m keyward.ProjectMember
	var role string
	if err := s.Scan(&m.ProjectID, &m.UserID, &role); err != nil {
		return nil, err
	}
	m.Role = keyward.ProjectRole(role)
	return &m, nil
}
