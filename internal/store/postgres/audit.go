package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	insert := `INSERT INTO audit_events (` + auditColumns + `, aggregate_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`
	args := []any{e.ID, e.OrgID, e.ProjectID, e.Time, e.Actor.Type, e.Actor.ID, e.Action,
		e.Target.Type, e.Target.ID, e.Result, e.IP, e.UserAgent, e.RequestID, details, max(e.Count, 1), nullString(e.AggregateKey)}
	op := fmt.Sprintf("insertAuditEvent(%q)", e.ID)
	if e.AggregateKey == "" {
		return q.insert(ctx, "An audit event with this id already exists", op, insert, args...)
	}
	_, err = q.db.Exec(ctx, insert+` ON CONFLICT (aggregate_key) DO UPDATE SET count = audit_events.count + EXCLUDED.count`, args...)
	if err != nil {
		return conflict(err, "An audit event with this id already exists", "postgres: %s", op)
	}
	return nil
}

// nullString is s, or NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ListAuditEvents returns the org's events matching f, newest first. Action
// matches exactly, or as a prefix when it ends in "." ("key." matches
// "key.create" and "key.revoke").
func (q queries) ListAuditEvents(ctx context.Context, f keyward.AuditFilter) ([]*keyward.AuditEvent, error) {
	var args params
	conds := []string{"org_id = " + args.add(f.OrgID)}
	if f.ProjectID != "" {
		conds = append(conds, "project_id = "+args.add(f.ProjectID))
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// starts_with rather than LIKE: actions may hold '_' or '%'.
			conds = append(conds, "starts_with(action, "+args.add(f.Action)+")")
		} else {
			conds = append(conds, "action = "+args.add(f.Action))
		}
	}
	if f.TargetID != "" {
		conds = append(conds, "target_id = "+args.add(f.TargetID))
	}
	if f.ActorID != "" {
		conds = append(conds, "actor_id = "+args.add(f.ActorID))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "time >= "+args.add(f.Since))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "time < "+args.add(f.Until))
	}
	if f.Before != "" {
		conds = append(conds, "id < "+args.add(f.Before))
	}
	rows, err := q.db.Query(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE `+
		strings.Join(conds, " AND ")+` ORDER BY id DESC LIMIT `+args.add(sqlLimit(f.Limit)), args...)
	return collect(rows, err, scanAuditEvent, "postgres: listAuditEvents(%q)", f.OrgID)
}

func scanAuditEvent(s scanner) (*keyward.AuditEvent, error) {
	var e keyward.AuditEvent
	var t time.Time
	var details []byte
	err := s.Scan(&e.ID, &e.OrgID, &e.ProjectID, &t, &e.Actor.Type, &e.Actor.ID, &e.Action,
		&e.Target.Type, &e.Target.ID, &e.Result, &e.IP, &e.UserAgent, &e.RequestID, &details, &e.Count)
	if err != nil {
		return nil, err
	}
	e.Time = utc(t)
	if e.Details, err = mapFromJSON[any](details); err != nil {
		return nil, err
	}
	return &e, nil
}
