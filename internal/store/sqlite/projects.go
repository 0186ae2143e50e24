package sqlite

import (
	"context"

	"github.com/keyward/keyward"
)

const projectColumns = `id, org_id, name, slug, custom_scopes, created_at, updated_at`

const projectSlugTaken = "A project with this slug already exists"

// CreateProject inserts p. A slug already used in the same org is a
// CONFLICT.
func (q queries) CreateProject(ctx context.Context, p *keyward.Project) error {
	scopes, err := toJSON(p.CustomScopes)
	if err != nil {
		return err
	}
	_, err = q.w.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.Name, p.Slug, scopes, micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return conflict(err, projectSlugTaken, "sqlite: createProject(%q)", p.ID)
	}
	return nil
}

// GetProject returns the project with the given id.
func (q queries) GetProject(ctx context.Context, id string) (*keyward.Project, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`, id)
	p, err := scanProject(row)
	if err != nil {
		return nil, notFound(err, "project", "sqlite: getProject(%q)", id)
	}
	return p, nil
}

// ListProjects returns the org's projects newest first, those with ids
// below before ("" = from the newest), at most limit of them (0 = no limit).
func (q queries) ListProjects(ctx context.Context, orgID string, before string, limit int) ([]*keyward.Project, error) {
	query := `SELECT ` + projectColumns + ` FROM projects WHERE org_id = ?`
	args := []any{orgID}
	if before != "" {
		query += ` AND id < ?`
		args = append(args, before)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, sqlLimit(limit))

	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: listProjects(%q)", orgID)
	}
	defer rows.Close()
	ps := []*keyward.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listProjects(%q)", orgID)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listProjects(%q)", orgID)
	}
	return ps, nil
}

// UpdateProject writes p's name, slug, custom scopes and updated_at.
func (q queries) UpdateProject(ctx context.Context, p *keyward.Project) error {
	scopes, err := toJSON(p.CustomScopes)
	if err != nil {
		return err
	}
	res, err := q.w.ExecContext(ctx, `UPDATE projects
		SET name = ?, slug = ?, custom_scopes = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Slug, scopes, micros(p.UpdatedAt), p.ID)
	if err != nil {
		return conflict(err, projectSlugTaken, "sqlite: updateProject(%q)", p.ID)
	}
	return mustAffect(res, "project")
}

// DeleteProject deletes the project with its keys and project roles, and
// records a change for each of its keys, in one transaction. Audit events
// naming the project stay.
func (q queries) DeleteProject(ctx context.Context, id string) error {
	return q.atomic(ctx, "deleteProject", func(w dbtx) error {
		// Every key of the project is announced before it goes (a project
		// that does not exist has none).
		if _, err := w.ExecContext(ctx, `INSERT INTO key_changes (key_id, org_id, project_id, at)
			SELECT id, org_id, project_id, ? FROM keys WHERE project_id = ? ORDER BY id`,
			micros(keyward.SystemClock{}.Now()), id); err != nil {
			return dbError(err, "sqlite: deleteProject(%q): record key changes", id)
		}
		// Foreign keys would cascade these; deleting them by name keeps the
		// behaviour visible and independent of the foreign_keys pragma.
		for _, stmt := range []string{
			`DELETE FROM keys WHERE project_id = ?`,
			`DELETE FROM project_members WHERE project_id = ?`,
		} {
			if _, err := w.ExecContext(ctx, stmt, id); err != nil {
				return dbError(err, "sqlite: deleteProject(%q)", id)
			}
		}
		res, err := w.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, id)
		if err != nil {
			return dbError(err, "sqlite: deleteProject(%q)", id)
		}
		return mustAffect(res, "project")
	})
}

func scanProject(s scanner) (*keyward.Project, error) {
	var p keyward.Project
	var scopes string
	var created, updated int64
	if err := s.Scan(&p.ID, &p.OrgID, &p.Name, &p.Slug, &scopes, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if p.CustomScopes, err = stringsFromJSON(scopes); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return &p, nil
}
