package postgres

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// usageCounts are key_usage's count columns, in Outcome order.
const usageCounts = `valid, invalid, expired, insufficient_scope, ip_not_allowed, rate_limited`

// usageSums are SUMs of usageCounts, as bigint.
const usageSums = `SUM(valid)::bigint, SUM(invalid)::bigint, SUM(expired)::bigint, SUM(insufficient_scope)::bigint, SUM(ip_not_allowed)::bigint, SUM(rate_limited)::bigint`

// AddUsage adds the deltas to their buckets in one statement; a key that
// no longer exists gets none. Rows are written in key order, so two nodes'
// batches queue rather than deadlock.
func (q queries) AddUsage(ctx context.Context, deltas []keyward.UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	ids := make([]string, len(deltas))
	spans := make([]int64, len(deltas))
	starts := make([]time.Time, len(deltas))
	var n [keyward.NumOutcomes][]int64
	for i := range n {
		n[i] = make([]int64, len(deltas))
	}
	for i, d := range deltas {
		ids[i], spans[i], starts[i] = d.KeyID, int64(d.Span/time.Second), d.Start
		for j, c := range d.Counts.Array() {
			n[j][i] = c
		}
	}
	_, err := q.db.Exec(ctx, `INSERT INTO key_usage (key_id, span, bucket, org_id, project_id, `+usageCounts+`)
		SELECT k.id, u.span, u.bucket, k.org_id, COALESCE(k.project_id, ''), u.valid, u.invalid, u.expired, u.insufficient_scope, u.ip_not_allowed, u.rate_limited
		FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
			AS u (key_id, span, bucket, valid, invalid, expired, insufficient_scope, ip_not_allowed, rate_limited)
		JOIN keys k ON k.id = u.key_id
		ORDER BY k.id, u.span, u.bucket
		ON CONFLICT (key_id, span, bucket) DO UPDATE SET
			valid = key_usage.valid + EXCLUDED.valid, invalid = key_usage.invalid + EXCLUDED.invalid,
			expired = key_usage.expired + EXCLUDED.expired, insufficient_scope = key_usage.insufficient_scope + EXCLUDED.insufficient_scope,
			ip_not_allowed = key_usage.ip_not_allowed + EXCLUDED.ip_not_allowed, rate_limited = key_usage.rate_limited + EXCLUDED.rate_limited`,
		ids, spans, starts, n[0], n[1], n[2], n[3], n[4], n[5])
	return dbError(err, "postgres: addUsage(%d buckets)", len(deltas))
}

// usageWhere is the condition and arguments that select f's buckets.
func usageWhere(f keyward.UsageFilter) (string, params) {
	col, v := "org_id", f.OrgID
	switch {
	case f.KeyID != "":
		col, v = "key_id", f.KeyID
	case f.ProjectID != "":
		col, v = "project_id", f.ProjectID
	}
	var p params
	where := ` WHERE ` + col + ` = ` + p.add(v) + ` AND span = ` + p.add(int64(f.Span/time.Second)) +
		` AND bucket >= ` + p.add(f.Since) + ` AND bucket < ` + p.add(f.Until)
	return where, p
}

// Usage sums the selected buckets per start.
func (q queries) Usage(ctx context.Context, f keyward.UsageFilter) ([]keyward.UsageRow, error) {
	where, args := usageWhere(f)
	rows, err := q.db.Query(ctx, `SELECT '', bucket, `+usageSums+` FROM key_usage`+where+` GROUP BY bucket ORDER BY bucket`, args...)
	return collect(rows, err, scanUsage, "postgres: usage")
}

// UsageByKey sums the selected buckets per key.
func (q queries) UsageByKey(ctx context.Context, f keyward.UsageFilter) ([]keyward.UsageRow, error) {
	where, args := usageWhere(f)
	rows, err := q.db.Query(ctx, `SELECT key_id, NULL::timestamptz, `+usageSums+` FROM key_usage`+where+` GROUP BY key_id ORDER BY key_id`, args...)
	return collect(rows, err, scanUsage, "postgres: usageByKey")
}

func scanUsage(s scanner) (keyward.UsageRow, error) {
	var r keyward.UsageRow
	var start *time.Time
	var n [keyward.NumOutcomes]int64
	if err := s.Scan(&r.KeyID, &start, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5]); err != nil {
		return r, err
	}
	if start != nil {
		r.Start = start.UTC()
	}
	r.Counts = keyward.CountsOf(n)
	return r, nil
}

// PruneUsage deletes the buckets of span that start before t.
func (q queries) PruneUsage(ctx context.Context, span time.Duration, before time.Time) error {
	_, err := q.db.Exec(ctx, `DELETE FROM key_usage WHERE span = $1 AND bucket < $2`, int64(span/time.Second), before)
	return dbError(err, "postgres: pruneUsage(%s)", span)
}
