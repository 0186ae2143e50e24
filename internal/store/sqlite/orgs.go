package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/keyward/keyward"
)

const orgColumns = `o.id, o.name, o.slug, o.settings, o.created_at`

const orgSlugTaken = "An organization with this slug already exists"

// CreateOrg inserts o. A slug already in use is a CONFLICT.
func (q queries) CreateOrg(ctx context.Context, o *keyward.Org) error {
	settings, err := json.Marshal(o.Settings)
	if err != nil {
		return fmt.Errorf("sqlite: createOrg(%q): encode settings: %w", o.ID, err)
	}
	_, err = q.w.ExecContext(ctx, `INSERT INTO orgs (id, name, slug, settings, created_at)
		VALUES (?, ?, ?, ?, ?)`, o.ID, o.Name, o.Slug, string(settings), micros(o.CreatedAt))
	if err != nil {
		return conflict(err, orgSlugTaken, "sqlite: createOrg(%q)", o.ID)
	}
	return nil
}

// GetOrg returns the org with the given id.
func (q queries) GetOrg(ctx context.Context, id string) (*keyward.Org, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = ?`, id)
	o, err := scanOrg(row)
	if err != nil {
		return nil, notFound(err, "organization", "sqlite: getOrg(%q)", id)
	}
	return o, nil
}

// UpdateOrg writes o's name, slug and settings.
func (q queries) UpdateOrg(ctx context.Context, o *keyward.Org) error {
	settings, err := json.Marshal(o.Settings)
	if err != nil {
		return fmt.Errorf("sqlite: updateOrg(%q): encode settings: %w", o.ID, err)
	}
	res, err := q.w.ExecContext(ctx, `UPDATE orgs SET name = ?, slug = ?, settings = ? WHERE id = ?`,
		o.Name, o.Slug, string(settings), o.ID)
	if err != nil {
		return conflict(err, orgSlugTaken, "sqlite: updateOrg(%q)", o.ID)
	}
	return mustAffect(res, "organization")
}

// ListOrgsForUser returns the orgs the user is a member of, oldest first.
func (q queries) ListOrgsForUser(ctx context.Context, userID string) ([]*keyward.Org, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+orgColumns+`
		FROM orgs o JOIN members m ON m.org_id = o.id
		WHERE m.user_id = ? ORDER BY o.id`, userID)
	if err != nil {
		return nil, dbError(err, "sqlite: listOrgsForUser(%q)", userID)
	}
	defer rows.Close()
	orgs := []*keyward.Org{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listOrgsForUser(%q)", userID)
		}
		orgs = append(orgs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listOrgsForUser(%q)", userID)
	}
	return orgs, nil
}

// CountOrgs returns the number of orgs (zero means a fresh install).
func (q queries) CountOrgs(ctx context.Context) (int, error) {
	var n int
	if err := q.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
		return 0, dbError(err, "sqlite: countOrgs")
	}
	return n, nil
}

func scanOrg(s scanner) (*keyward.Org, error) {
	var o keyward.Org
	var settings string
	var created int64
	if err := s.Scan(&o.ID, &o.Name, &o.Slug, &settings, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &o.Settings); err != nil {
		return nil, fmt.Errorf("sqlite: org %q: decode settings: %w", o.ID, err)
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}
