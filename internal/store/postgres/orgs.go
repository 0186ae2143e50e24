package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyward/keyward"
)

const orgColumns = `o.id, o.name, o.slug, o.settings, o.created_at`

const orgSlugTaken = "An organization with this slug already exists"

// CreateOrg inserts o. A slug already in use is a CONFLICT.
func (q queries) CreateOrg(ctx context.Context, o *keyward.Org) error {
	settings, err := json.Marshal(o.Settings)
	if err != nil {
		return fmt.Errorf("postgres: createOrg(%q): encode settings: %w", o.ID, err)
	}
	return q.insert(ctx, orgSlugTaken, fmt.Sprintf("createOrg(%q)", o.ID),
		`INSERT INTO orgs (id, name, slug, settings, created_at) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, o.Name, o.Slug, settings, o.CreatedAt)
}

// GetOrg returns the org with the given id.
func (q queries) GetOrg(ctx context.Context, id string) (*keyward.Org, error) {
	row := q.db.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = $1`, id)
	o, err := scanOrg(row)
	if err != nil {
		return nil, notFound(err, "organization", "postgres: getOrg(%q)", id)
	}
	return o, nil
}

// UpdateOrg writes o's name, slug and settings.
func (q queries) UpdateOrg(ctx context.Context, o *keyward.Org) error {
	settings, err := json.Marshal(o.Settings)
	if err != nil {
		return fmt.Errorf("postgres: updateOrg(%q): encode settings: %w", o.ID, err)
	}
	tag, err := q.db.Exec(ctx, `UPDATE orgs SET name = $1, slug = $2, settings = $3 WHERE id = $4`,
		o.Name, o.Slug, settings, o.ID)
	if err != nil {
		return conflict(err, orgSlugTaken, "postgres: updateOrg(%q)", o.ID)
	}
	return mustAffect(tag, "organization")
}

// ListOrgsForUser returns the orgs the user is a member of, oldest first.
func (q queries) ListOrgsForUser(ctx context.Context, userID string) ([]*keyward.Org, error) {
	rows, err := q.db.Query(ctx, `SELECT `+orgColumns+`
		FROM orgs o JOIN members m ON m.org_id = o.id
		WHERE m.user_id = $1 ORDER BY o.id`, userID)
	return collect(rows, err, scanOrg, "postgres: listOrgsForUser(%q)", userID)
}

// CountOrgs returns the number of orgs (zero means a fresh install).
func (q queries) CountOrgs(ctx context.Context) (int, error) {
	var n int
	if err := q.db.QueryRow(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
		return 0, dbError(err, "postgres: countOrgs")
	}
	return n, nil
}

func scanOrg(s scanner) (*keyward.Org, error) {
	var o keyward.Org
	var settings []byte
	var created time.Time
	if err := s.Scan(&o.ID, &o.Name, &o.Slug, &settings, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &o.Settings); err != nil {
		return nil, fmt.Errorf("postgres: org %q: decode settings: %w", o.ID, err)
	}
	o.CreatedAt = utc(created)
	return &o, nil
}
