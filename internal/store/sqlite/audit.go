package sqlite

import (
	"context"
	"strings"

	"github.com/keyward/keyward"
)

const auditColumns = `id, org_id, project_id, time, actor_type, actor_id, action,
	target_type, target_id, result, ip, user_agent, request_id, details, count`

// InsertAuditEvent appends e to the audit log, or, when e has an aggregate
// key that an event already has, adds e's count to that event's.
func (q queries) InsertAuditEvent(ctx context.Context, e *keyward.AuditEvent) error {
	details, err := toJSON(e.Details)
	if err != nil {
		return err
	}
	var key any // NULL: never conflicts
	upsert := ""
	if e.AggregateKey != "" {
		key = e.AggregateKey
		upsert = ` ON CONFLICT (aggregate_key) DO UPDATE SET count = audit_events.count + excluded.count`
	}
	_, err = q.w.ExecContext(ctx, `INSERT INTO audit_events (`+auditColumns+`, aggregate_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+upsert,
		e.ID, e.OrgID, e.ProjectID, micros(e.Time), e.Actor.Type, e.Actor.ID, e.Action,
		e.Target.Type, e.Target.ID, e.Result, e.IP, e.UserAgent, e.RequestID, details, max(e.Count, 1), key)
	if err != nil {
		return conflict(err, "An audit event with this id already exists", "sqlite: insertAuditEvent(%q)", e.ID)
	}
	return nil
}

// ListAuditEvents returns the org's events matching f, newest first. Action
// matches exactly, or as a prefix when it ends in "." ("key." matches
// "key.create" and "key.revoke").
func (q queries) ListAuditEvents(ctx context.Context, f keyward.AuditFilter) ([]*keyward.AuditEvent, error) {
	conds := []string{"org_id = ?"}
	args := []any{f.OrgID}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.ProjectID != "" {
		add("project_id = ?", f.ProjectID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// substr rather than LIKE: actions may hold '_' or '%'.
			conds = append(conds, "substr(action, 1, length(?)) = ?")
			args = append(args, f.Action, f.Action)
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if !f.Since.IsZero() {
		add("time >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", micros(f.Until))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	args = append(args, sqlLimit(f.Limit))

	rows, err := q.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE `+
		strings.Join(conds, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: listAuditEvents(%q)", f.OrgID)
	}
	defer rows.Close()
	events := []*keyward.AuditEvent{}
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return nil, dbError(err, "sqlite: listAuditEvents(%q)", f.OrgID)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: listAuditEvents(%q)", f.OrgID)
	}
	return events, nil
}

func scanAuditEvent(s scanner) (*keyward.AuditEvent, error) {
	var e keyward.AuditEvent
	var t int64
	var details string
	err := s.Scan(&e.ID, &e.OrgID, &e.ProjectID, &t, &e.Actor.Type, &e.Actor.ID, &e.Action,
		&e.Target.Type, &e.Target.ID, &e.Result, &e.IP, &e.UserAgent, &e.RequestID, &details, &e.Count)
	if err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	if e.Details, err = mapFromJSON[any](details); err != nil {
		return nil, err
	}
	return &e, nil
}
