package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// Audit actions. Every change writes exactly one of these in the same
// transaction; denied attempts write one with result "denied".
const (
	AuditKeyCreate         = "key.create"
	AuditKeyUpdate         = "key.update"
	AuditKeyRotate         = "key.rotate"
	AuditKeyRevoke         = "key.revoke"
	AuditKeyTransfer       = "key.transfer"
	AuditKeyRead           = "key.read"
	AuditKeyVerify         = "key.verify"
	AuditKeyLeaked         = "key.leaked"
	AuditProjectCreate     = "project.create"
	AuditProjectUpdate     = "project.update"
	AuditProjectDelete     = "project.delete"
	AuditProjectRead       = "project.read"
	AuditMemberAdd         = "member.add"
	AuditMemberUpdate      = "member.update"
	AuditMemberRemove      = "member.remove"
	AuditMemberRead        = "member.read"
	AuditSettingsUpdate    = "settings.update"
	AuditSettingsRead      = "settings.read"
	AuditAuditRead         = "audit.read"
	AuditOrgCreate         = "org.create"
	AuditUserPasswordReset = "user.password_reset"
)

// event returns a new successful audit event by actor a.
func (s *Service) event(a *Actor, action, projectID string, target keyward.ActorRef) *keyward.AuditEvent {
	return &keyward.AuditEvent{
		ID:        keyward.NewID(keyward.PrefixEvent),
		OrgID:     a.OrgID,
		ProjectID: projectID,
		Time:      s.clock.Now(),
		Actor:     a.Ref(),
		Action:    action,
		Target:    target,
		Result:    keyward.ResultSuccess,
		IP:        a.Origin.IP,
		UserAgent: a.Origin.UserAgent,
		RequestID: a.Origin.RequestID,
		Details:   map[string]any{},
	}
}

// AuditQuery is a request for audit events. ProjectID is required for the
// project log and optional (a filter) for the org log.
type AuditQuery struct {
	ProjectID string
	Action    string
	ActorID   string
	TargetID  string // a key's, person's or project's own events
	Since     time.Time
	Until     time.Time
	Limit     int
	Cursor    string
}

// ListProjectAudit returns one project's audit events, newest first.
func (s *Service) ListProjectAudit(ctx context.Context, a *Actor, q AuditQuery) (*keyward.Page[*keyward.AuditEvent], error) {
	if _, err := s.projectAccess(ctx, s.store, a, q.ProjectID, actAuditRead, AuditAuditRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	return s.listAudit(ctx, a, q)
}

// ListOrgAudit returns the whole org's audit events, newest first.
func (s *Service) ListOrgAudit(ctx context.Context, a *Actor, q AuditQuery) (*keyward.Page[*keyward.AuditEvent], error) {
	if _, err := s.orgAccess(ctx, s.store, a, actOrgAuditRead, AuditAuditRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	return s.listAudit(ctx, a, q)
}

func (s *Service) listAudit(ctx context.Context, a *Actor, q AuditQuery) (*keyward.Page[*keyward.AuditEvent], error) {
	limit, before, err := pageArgs(q.Limit, q.Cursor)
	if err != nil {
		return nil, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, keyward.Invalid(keyward.FieldError{Field: "since", Problem: "must be before until"})
	}
	if len(q.Action) > MaxAuditFilter || len(q.ActorID) > MaxAuditFilter || len(q.TargetID) > MaxAuditFilter {
		return nil, keyward.Invalid(keyward.FieldError{Field: "action", Problem: "too long"})
	}
	events, err := s.store.ListAuditEvents(ctx, keyward.AuditFilter{
		OrgID: a.OrgID, ProjectID: q.ProjectID, Action: q.Action, ActorID: q.ActorID, TargetID: q.TargetID,
		Since: q.Since, Until: q.Until, Limit: limit + 1, Before: before,
	})
	if err != nil {
		return nil, err
	}
	return makePage(events, limit, func(e *keyward.AuditEvent) string { return e.ID }), nil
}
