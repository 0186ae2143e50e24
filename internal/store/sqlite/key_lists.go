package sqlite

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// keyWhere builds the WHERE clause shared by ListKeys and CountUsableKeys:
// f's org, kind, project and owner (empty = any) and its status judged at
// f.Now, mirroring keyward.Key.StatusAt.
func keyWhere(f keyward.KeyFilter) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.OrgID != "" {
		add("org_id = ?", f.OrgID)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.OwnerUserID != "" {
		add("owner_user_id = ?", f.OwnerUserID)
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch f.Status {
	case "", string(keyward.StatusActive):
		add("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", micros(now))
	case string(keyward.StatusRevoked):
		conds = append(conds, "revoked_at IS NOT NULL")
	case string(keyward.StatusExpired):
		add("revoked_at IS NULL AND expires_at <= ?", micros(now))
	case "all":
	default:
		return "", nil, keyward.Invalid(keyward.FieldError{
			Field: "status", Problem: "must be one of active, revoked, expired, all"})
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// ListKeys returns the keys matching f, newest first. A zero f.Now means
// the current time.
func (q queries) ListKeys(ctx context.Context, f keyward.KeyFilter) ([]*keyward.Key, error) {
	where, args, err := keyWhere(f)
	if err != nil {
		return nil, err
	}
	args = append(args, sqlLimit(f.Limit))
	rows, err := q.r.QueryContext(ctx, `SELECT `+keyColumns+` FROM keys`+where+
		` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: listKeys(org %q, project %q)", f.OrgID, f.ProjectID)
	}
	defer rows.Close()
	keys := []*keyward.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listKeys(org %q, project %q)", f.OrgID, f.ProjectID)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listKeys(org %q, project %q)", f.OrgID, f.ProjectID)
	}
	return keys, nil
}

// CountUsableKeys counts the keys that are neither revoked nor expired at
// f.Now (zero = the current time) and match f's org, kind, project and
// owner, stopping at f.Limit when it is positive: a limit check only needs
// to know whether the count has reached the limit, so it reads at most that
// many index entries however many keys there are. f's Status and Before
// are ignored. The keys_usable index (migration 0006) serves the count.
func (q queries) CountUsableKeys(ctx context.Context, f keyward.KeyFilter) (int, error) {
	bound := f.Limit
	f.Status, f.Before, f.Limit = "", "", 0
	where, args, err := keyWhere(f)
	if err != nil {
		return 0, err
	}
	query := `SELECT COUNT(*) FROM keys` + where
	if bound > 0 {
		query = `SELECT COUNT(*) FROM (SELECT 1 FROM keys` + where + ` LIMIT ?)`
		args = append(args, bound)
	}
	var n int
	if err := q.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, dbError(err, "sqlite: countUsableKeys(org %q, project %q)", f.OrgID, f.ProjectID)
	}
	return n, nil
}

// TouchKeys records when keys were last used, in one transaction. A time
// older than the one stored is ignored, so batches may land out of order;
// unknown (deleted) keys are skipped.
func (q queries) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return q.atomic(ctx, "touchKeys", func(w dbtx) error {
		// Sorted ids give every batch the same write order.
		for _, id := range slices.Sorted(maps.Keys(used)) {
			_, err := w.ExecContext(ctx, `UPDATE keys SET last_used_at = ?1
				WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`,
				micros(used[id]), id)
			if err != nil {
				return dbError(err, "sqlite: touchKeys(%q)", id)
			}
		}
		return nil
	})
}
