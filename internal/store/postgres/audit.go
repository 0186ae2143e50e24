package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

const auditColumns = `id, org_id, project_id, time, actor_type, actor_id, action,
	target_type, target_id, result, ip, user_agent, request_id, details`

// InsertAuditEvent appends e to the audit log.
func (q queries) InsertAuditEvent(ctx context.Context, e *keyward.AuditEvent) error {
	details, err := toJSON(e.Details)
	if err != nil {
		return err
	}
	return q.insert(ctx, "An audit event with this id already exists", fmt.Sprintf("insertAuditEvent(%q)", e.ID),
		`INSERT INTO audit_events (`+auditColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		e.ID, e.OrgID, e.ProjectID, e.Time, e.Actor.Type, e.Actor.ID, e.Action,
		e.Target.Type, e.Target.ID, e.Result, e.IP, e.UserAgent, e.RequestID, details)
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
		&e.Target.Type, &e.Target.ID, &e.Result, &e.IP, &e.UserAgent, &e.RequestID, &details)
	if err != nil {
		return nil, err
	}
	e.Time = utc(t)
	if e.Details, err = mapFromJSON[any](details); err != nil {
		return nil, err
	}
	return &e, nil
}
