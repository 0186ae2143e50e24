package postgres

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// keyWhere builds the WHERE clause shared by ListKeys and CountUsableKeys:
// f's org, kind, project and owner (empty = any), its status judged at
// f.Now, mirroring keyward.Key.StatusAt, its search and scope, and the
// page's start. It numbers its parameters in args.
func keyWhere(f keyward.KeyFilter, args *params) (string, error) {
	var conds []string
	if f.OrgID != "" {
		conds = append(conds, "org_id = "+args.add(f.OrgID))
	}
	if f.Kind != "" {
		conds = append(conds, "kind = "+args.add(string(f.Kind)))
	}
	if f.ProjectID != "" {
		conds = append(conds, "project_id = "+args.add(f.ProjectID))
	}
	if f.OwnerUserID != "" {
		conds = append(conds, "owner_user_id = "+args.add(f.OwnerUserID))
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch f.Status {
	case "", string(keyward.StatusActive):
		conds = append(conds, "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "+args.add(now)+")")
	case string(keyward.StatusExpiring):
		conds = append(conds, "revoked_at IS NULL AND replaced_by IS NOT NULL AND (expires_at IS NULL OR expires_at > "+args.add(now)+")")
	case string(keyward.StatusRevoked):
		conds = append(conds, "revoked_at IS NOT NULL")
	case string(keyward.StatusExpired):
		conds = append(conds, "revoked_at IS NULL AND expires_at <= "+args.add(now))
	case "all":
	default:
		return "", keyward.Invalid(keyward.FieldError{
			Field: "status", Problem: "must be one of active, expiring, revoked, expired, all"})
	}
	if f.Search != "" {
		// strpos, unlike LIKE, has no wildcards to escape.
		s := args.add(strings.ToLower(f.Search))
		conds = append(conds, "(strpos(lower(name), "+s+") > 0 OR strpos(lower(hint), "+s+") > 0)")
	}
	if f.Scope != "" {
		conds = append(conds, "scopes @> jsonb_build_array("+args.add(f.Scope)+"::text)")
	}
	if f.After != nil {
		// A row comparison on the order's columns: the keys past After,
		// in the direction the page goes.
		op := " > "
		if f.Order.Descending() != f.Back {
			op = " < "
		}
		if f.Order.ByUse() {
			used := "'-infinity'::timestamptz"
			if f.After.LastUsedAt != nil {
				used = args.add(*f.After.LastUsedAt) + "::timestamptz"
			}
			conds = append(conds, "("+usedKey+", id)"+op+"("+used+", "+args.add(f.After.ID)+"::text)")
		} else {
			conds = append(conds, "id"+op+args.add(f.After.ID))
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

// usedKey is last_used_at as the orders by use compare it: never used
// (NULL) sorts below every use.
const usedKey = "COALESCE(last_used_at, '-infinity'::timestamptz)"

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
	var args params
	where, err := keyWhere(f, &args)
	if err != nil {
		return nil, err
	}
	rows, err := q.db.Query(ctx, `SELECT `+keyReadColumns+` FROM keys`+where+
		keyOrderBy(f.Order, f.Back)+` LIMIT `+args.add(sqlLimit(f.Limit)), args...)
	keys, err := collect(rows, err, scanKey, "postgres: listKeys(org %q, project %q)", f.OrgID, f.ProjectID)
	if err == nil && f.Back {
		slices.Reverse(keys)
	}
	return keys, err
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
	var args params
	where, err := keyWhere(f, &args)
	if err != nil {
		return 0, err
	}
	query := `SELECT COUNT(*) FROM keys` + where
	if bound > 0 {
		query = `SELECT COUNT(*) FROM (SELECT FROM keys` + where + ` LIMIT ` + args.add(bound) + `) AS usable`
	}
	var n int
	if err := q.db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, dbError(err, "postgres: countUsableKeys(org %q, project %q)", f.OrgID, f.ProjectID)
	}
	return n, nil
}

// TouchKeys records when keys were last used, from where and by what, in
// one statement. A use older than the one stored is ignored, so batches may
// land out of order; unknown (deleted) keys are skipped. The rows are locked
// in id order, so two batches touching the same keys queue rather than
// deadlock.
func (q queries) TouchKeys(ctx context.Context, used map[string]keyward.KeyUse) error {
	if len(used) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(used))
	times := make([]time.Time, len(ids))
	ips := make([]*string, len(ids))
	agents := make([]*string, len(ids))
	for i, id := range ids {
		u := used[id]
		times[i] = u.At
		if u.IP != "" {
			ips[i] = &u.IP
		}
		if u.UserAgent != "" {
			agents[i] = &u.UserAgent
		}
	}
	_, err := q.db.Exec(ctx, `UPDATE keys k SET last_used_at = t.used, last_used_ip = t.ip, last_used_user_agent = t.agent
		FROM (
			SELECT keys.id, u.used, u.ip, u.agent
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS u (id, used, ip, agent)
			JOIN keys ON keys.id = u.id
			ORDER BY keys.id
			FOR UPDATE OF keys
		) t
		WHERE k.id = t.id AND (k.last_used_at IS NULL OR k.last_used_at < t.used)`, ids, times, ips, agents)
	return dbError(err, "postgres: touchKeys(%d keys)", len(ids))
}
