package postgres

import (
	"context"

	"github.com/keyward/keyward"
)

// PutProjectMember gives the user a role in the project, or changes it.
func (q queries) PutProjectMember(ctx context.Context, m *keyward.ProjectMember) error {
	_, err := q.db.Exec(ctx, `INSERT INTO project_members (project_id, user_id, role)
		VALUES ($1, $2, $3)
		ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
		m.ProjectID, m.UserID, string(m.Role))
	return dbError(err, "postgres: putProjectMember(%q, %q)", m.ProjectID, m.UserID)
}

// GetProjectMember returns the user's role in the project.
func (q queries) GetProjectMember(ctx context.Context, projectID, userID string) (*keyward.ProjectMember, error) {
	row := q.db.QueryRow(ctx, `SELECT project_id, user_id, role FROM project_members
		WHERE project_id = $1 AND user_id = $2`, projectID, userID)
	m, err := scanProjectMember(row)
	if err != nil {
		return nil, notFound(err, "project member", "postgres: getProjectMember(%q, %q)", projectID, userID)
	}
	return m, nil
}

// ListProjectMembers returns the project's members ordered by user id.
func (q queries) ListProjectMembers(ctx context.Context, projectID string) ([]*keyward.ProjectMember, error) {
	rows, err := q.db.Query(ctx, `SELECT project_id, user_id, role
		FROM project_members WHERE project_id = $1 ORDER BY user_id`, projectID)
	return collect(rows, err, scanProjectMember, "postgres: listProjectMembers(%q)", projectID)
}

// ListUserProjectRoles returns the user's roles in the org's projects,
// ordered by project id.
func (q queries) ListUserProjectRoles(ctx context.Context, orgID, userID string) ([]*keyward.ProjectMember, error) {
	rows, err := q.db.Query(ctx, `SELECT pm.project_id, pm.user_id, pm.role
		FROM project_members pm JOIN projects p ON p.id = pm.project_id
		WHERE p.org_id = $1 AND pm.user_id = $2 ORDER BY pm.project_id`, orgID, userID)
	return collect(rows, err, scanProjectMember, "postgres: listUserProjectRoles(%q, %q)", orgID, userID)
}

// DeleteProjectMember removes the user's role in the project.
func (q queries) DeleteProjectMember(ctx context.Context, projectID, userID string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`,
		projectID, userID)
	if err != nil {
		return dbError(err, "postgres: deleteProjectMember(%q, %q)", projectID, userID)
	}
	return mustAffect(tag, "project member")
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
