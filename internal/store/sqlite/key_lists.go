package sqlite

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// keyWhere builds the WHERE clause shared by ListKeys and CountUsableKeys:
// f's org, kind, project and owner (empty = any), its status judged at
// f.Now, mirroring keyward.Key.StatusAt, its search and scope, and the
// page's start.
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
	case string(keyward.StatusExpiring):
		add("revoked_at IS NULL AND replaced_by IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)", micros(now))
	case string(keyward.StatusRevoked):
		conds = append(conds, "revoked_at IS NOT NULL")
	case string(keyward.StatusExpired):
		add("revoked_at IS NULL AND expires_at <= ?", micros(now))
	case "all":
	default:
		return "", nil, keyward.Invalid(keyward.FieldError{
			Field: "status", Problem: "must be one of active, expiring, revoked, expired, all"})
	}
	if f.Search != "" {
		// lower() folds ASCII letters only, as the lowered argument is
		// compared with it; instr, unlike LIKE, has no wildcards to escape.
		s := strings.ToLower(f.Search)
		conds = append(conds, "(instr(lower(name), ?) > 0 OR instr(lower(hint), ?) > 0)")
		args = append(args, s, s)
	}
	if f.Scope != "" {
		add("EXISTS (SELECT 1 FROM json_each(keys.scopes) WHERE json_each.value = ?)", f.Scope)
	}
	if f.After != nil {
		// A row value comparison on the order's columns: the keys past
		// After, in the direction the page goes.
		op := ">"
		if f.Order.Descending() != f.Back {
			op = "<"
		}
		if f.Order.ByUse() {
			add("("+usedKey+", id) "+op+" (?, ?)", usedPos(f.After.LastUsedAt))
			args = append(args, f.After.ID)
		} else {
			add("id "+op+" ?", f.After.ID)
		}
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// usedKey is last_used_at as the orders by use compare it: never used
// (NULL) sorts below every use.
const usedKey = "COALESCE(last_used_at, -1)"

func usedPos(t *time.Time) int64 {
	if t == nil {
		return -1
	}
	return micros(*t)
}

// keyOrderBy is the ORDER BY of o, reversed when going back.
func keyOrderBy(o keyward.KeyOrder, back bool) string {
	dir := " ASC"
	if o.Descending() != back {
		dir = " DESC"
	}
	if o.ByUse() {
		return " ORDER BY " + usedKey + dir + ", id" + dir
	}
	return " ORDER BY id" + dir
}

// ListKeys returns the keys matching f, in f.Order. A zero f.Now means
// the current time. The orders by creation read keys_org or keys_project
// in id order; the orders by use sort the matching keys (an index on
// last_used_at would be rewritten on every use).
func (q queries) ListKeys(ctx context.Context, f keyward.KeyFilter) ([]*keyward.Key, error) {
	if !slices.Contains(keyward.KeyOrders, f.Order) {
		return nil, keyward.Invalid(keyward.FieldError{Field: "order", Problem: "is not an order of keys"})
	}
	where, args, err := keyWhere(f)
	if err != nil {
		return nil, err
	}
	args = append(args, sqlLimit(f.Limit))
	rows, err := q.r.QueryContext(ctx, `SELECT `+keyReadColumns+` FROM keys`+where+
		keyOrderBy(f.Order, f.Back)+` LIMIT ?`, args...)
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
	if f.Back {
		slices.Reverse(keys)
	}
	return keys, nil
}

// CountUsableKeys counts the keys that are neither revoked nor expired at
// f.Now (zero = the current time) and match f's org, kind, project and
// owner, stopping at f.Limit when it is positive: a limit check only needs
// to know whether the count has reached the limit, so it reads at most that
// many index entries however many keys there are. f's Status, Search,
// Scope, Order and After are ignored. The keys_usable index (migration
// 0006) serves the count.
func (q queries) CountUsableKeys(ctx context.Context, f keyward.KeyFilter) (int, error) {
	bound := f.Limit
	f = keyward.KeyFilter{OrgID: f.OrgID, Kind: f.Kind, ProjectID: f.ProjectID, OwnerUserID: f.OwnerUserID, Now: f.Now}
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

// TouchKeys records when keys were last used, from where and by what, in
// one transaction. A use older than the one stored is ignored, so batches
// may land out of order; unknown (deleted) keys are skipped.
func (q queries) TouchKeys(ctx context.Context, used map[string]keyward.KeyUse) error {
	if len(used) == 0 {
		return nil
	}
	return q.atomic(ctx, "touchKeys", func(w dbtx) error {
		// Sorted ids give every batch the same write order.
		for _, id := range slices.Sorted(maps.Keys(used)) {
			u := used[id]
			_, err := w.ExecContext(ctx, `UPDATE keys SET last_used_at = ?1, last_used_ip = ?3, last_used_user_agent = ?4
				WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`,
				micros(u.At), id, emptyNull(u.IP), emptyNull(u.UserAgent))
			if err != nil {
				return dbError(err, "sqlite: touchKeys(%q)", id)
			}
		}
		return nil
	})
}

// emptyNull is s, or NULL for "".
func emptyNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
