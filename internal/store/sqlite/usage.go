package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyward/keyward"
)

// usageCounts are key_usage's count columns, in Outcome order.
const usageCounts = `valid, invalid, expired, insufficient_scope, ip_not_allowed, rate_limited`

// usageSums are SUMs of usageCounts.
const usageSums = `SUM(valid), SUM(invalid), SUM(expired), SUM(insufficient_scope), SUM(ip_not_allowed), SUM(rate_limited)`

// AddUsage adds the deltas to their buckets in one transaction; a key that
// no longer exists gets none.
func (q queries) AddUsage(ctx context.Context, deltas []keyward.UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	return q.atomic(ctx, "addUsage", func(w dbtx) error {
		for _, d := range deltas {
			n := d.Counts.Array()
			_, err := w.ExecContext(ctx, `INSERT INTO key_usage (key_id, span, bucket, org_id, project_id, `+usageCounts+`)
				SELECT id, ?, ?, org_id, COALESCE(project_id, ''), ?, ?, ?, ?, ?, ? FROM keys WHERE id = ?
				ON CONFLICT (key_id, span, bucket) DO UPDATE SET
					valid = valid + excluded.valid, invalid = invalid + excluded.invalid,
					expired = expired + excluded.expired, insufficient_scope = insufficient_scope + excluded.insufficient_scope,
					ip_not_allowed = ip_not_allowed + excluded.ip_not_allowed, rate_limited = rate_limited + excluded.rate_limited`,
				int64(d.Span/time.Second), micros(d.Start), n[0], n[1], n[2], n[3], n[4], n[5], d.KeyID)
			if err != nil {
				return dbError(err, "sqlite: addUsage(%q)", d.KeyID)
			}
		}
		return nil
	})
}

// usageWhere is the condition and arguments that select f's buckets.
func usageWhere(f keyward.UsageFilter) (string, []any) {
	col, v := "org_id", f.OrgID
	switch {
	case f.KeyID != "":
		col, v = "key_id", f.KeyID
	case f.ProjectID != "":
		col, v = "project_id", f.ProjectID
	}
	return ` WHERE ` + col + ` = ? AND span = ? AND bucket >= ? AND bucket < ?`,
		[]any{v, int64(f.Span / time.Second), micros(f.Since), micros(f.Until)}
}

// Usage sums the selected buckets per start.
func (q queries) Usage(ctx context.Context, f keyward.UsageFilter) ([]keyward.UsageRow, error) {
	where, args := usageWhere(f)
	return q.usageRows(ctx, `SELECT '', bucket, `+usageSums+` FROM key_usage`+where+` GROUP BY bucket ORDER BY bucket`, args)
}

// UsageByKey sums the selected buckets per key.
func (q queries) UsageByKey(ctx context.Context, f keyward.UsageFilter) ([]keyward.UsageRow, error) {
	where, args := usageWhere(f)
	return q.usageRows(ctx, `SELECT key_id, 0, `+usageSums+` FROM key_usage`+where+` GROUP BY key_id ORDER BY key_id`, args)
}

func (q queries) usageRows(ctx context.Context, query string, args []any) ([]keyward.UsageRow, error) {
	rows, err := q.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: usage")
	}
	defer rows.Close()
	out := []keyward.UsageRow{}
	for rows.Next() {
		var r keyward.UsageRow
		var start int64
		var n [keyward.NumOutcomes]sql.NullInt64
		if err := rows.Scan(&r.KeyID, &start, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]); err != nil {
			return nil, dbError(err, "sqlite: usage")
		}
		var c [keyward.NumOutcomes]int64
		for i := range n {
			c[i] = n[i].Int64
		}
		if start != 0 {
			r.Start = fromMicros(start)
		}
		r.Counts = keyward.CountsOf(c)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: usage")
	}
	return out, nil
}

// PruneUsage deletes the buckets of span that start before t.
func (q queries) PruneUsage(ctx context.Context, span time.Duration, before time.Time) error {
	_, err := q.w.ExecContext(ctx, `DELETE FROM key_usage WHERE span = ? AND bucket < ?`, int64(span/time.Second), micros(before))
	return dbError(err, "sqlite: pruneUsage(%s)", span)
}
