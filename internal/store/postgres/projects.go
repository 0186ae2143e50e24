package postgres

import (
	"context"
	"fmt"
	"time"

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
	return q.insert(ctx, projectSlugTaken, fmt.Sprintf("createProject(%q)", p.ID),
		`INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.OrgID, p.Name, p.Slug, scopes, p.CreatedAt, p.UpdatedAt)
}

// GetProject returns the project with the given id.
func (q queries) GetProject(ctx context.Context, id string) (*keyward.Project, error) {
	row := q.db.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id)
	p, err := scanProject(row)
	if err != nil {
		return nil, notFound(err, "project", "postgres: getProject(%q)", id)
	}
	return p, nil
}

// ListProjects returns the org's projects newest first, those with ids
// below before ("" = from the newest), at most limit of them (0 = no limit).
func (q queries) ListProjects(ctx context.Context, orgID string, before string, limit int) ([]*keyward.Project, error) {
	var args params
	query := `SELECT ` + projectColumns + ` FROM projects WHERE org_id = ` + args.add(orgID)
	if before != "" {
		query += ` AND id < ` + args.add(before)
	}
	query += ` ORDER BY id DESC LIMIT ` + args.add(sqlLimit(limit))
	rows, err := q.db.Query(ctx, query, args...)
	return collect(rows, err, scanProject, "postgres: listProjects(%q)", orgID)
}

// UpdateProject writes p's name, slug, custom scopes and updated_at.
func (q queries) UpdateProject(ctx context.Context, p *keyward.Project) error {
	scopes, err := toJSON(p.CustomScopes)
	if err != nil {
		return err
	}
	tag, err := q.db.Exec(ctx, `UPDATE projects
		SET name = $1, slug = $2, custom_scopes = $3, updated_at = $4 WHERE id = $5`,
		p.Name, p.Slug, scopes, p.UpdatedAt, p.ID)
	if err != nil {
		return conflict(err, projectSlugTaken, "postgres: updateProject(%q)", p.ID)
	}
	return mustAffect(tag, "project")
}

// DeleteProject deletes the project with its keys and project roles, and
// records a change for each of its keys, in one transaction. The keys are
// deleted by name so that their ids can be recorded; project roles go by
// cascade. No key can join the project meanwhile: creating one waits for
// the key change lock this transaction holds. Audit events naming the
// project stay.
func (q queries) DeleteProject(ctx context.Context, id string) error {
	return q.atomic(ctx, "deleteProject", func(db dbtx) error {
		if _, err := writeKeys(ctx, db, `DELETE FROM keys WHERE project_id = $1 `+returningOwner, id); err != nil {
			return dbError(err, "postgres: deleteProject(%q)", id)
		}
		tag, err := db.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
		if err != nil {
			return dbError(err, "postgres: deleteProject(%q)", id)
		}
		return mustAffect(tag, "project")
	})
}

func scanProject(s scanner) (*keyward.Project, error) {
	var p keyward.Project
	var scopes []byte
	var created, updated time.Time
	if err := s.Scan(&p.ID, &p.OrgID, &p.Name, &p.Slug, &scopes, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if p.CustomScopes, err = stringsFromJSON(scopes); err != nil {
		return nil, err
	}
	p.CreatedAt = utc(created)
	p.UpdatedAt = utc(updated)
	return &p, nil
}
