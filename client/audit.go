package client

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/keyward/keyward"
)

// ListAuditParams filters an audit log, newest first. Action is an exact
// action or a prefix ending in "." ("key."); Actor is a user or key id;
// Since is inclusive and Until exclusive (zero means no bound). ProjectID
// narrows the org log to one project; the project log ignores it.
type ListAuditParams struct {
	ProjectID string
	Action    string
	Actor     string
	Since     time.Time
	Until     time.Time
	Limit     int
	Cursor    string
}

// AuditService reads an audit log: the caller's project's (Client.Audit)
// or the whole org's (OrgService.Audit).
type AuditService struct {
	c    *Client
	path string
	cred credential
}

// Audit returns the audit log of the caller's project (project key).
func (c *Client) Audit() *AuditService {
	return &AuditService{c: c, path: "/v1/audit-events", cred: credProject}
}

// Audit returns the whole org's audit log (org key).
func (o *OrgService) Audit() *AuditService {
	return &AuditService{c: o.c, path: "/v1/org/audit-events", cred: credOrg}
}

// List returns one page of audit events.
func (s *AuditService) List(ctx context.Context, p ListAuditParams) (*keyward.Page[keyward.AuditEvent], error) {
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	if p.ProjectID != "" && s.cred == credOrg {
		q.Set("project_id", p.ProjectID)
	}
	if p.Action != "" {
		q.Set("action", p.Action)
	}
	if p.Actor != "" {
		q.Set("actor", p.Actor)
	}
	if !p.Since.IsZero() {
		q.Set("since", p.Since.UTC().Format(time.RFC3339Nano))
	}
	if !p.Until.IsZero() {
		q.Set("until", p.Until.UTC().Format(time.RFC3339Nano))
	}
	var page keyward.Page[keyward.AuditEvent]
	if err := s.c.do(ctx, call{method: http.MethodGet, path: s.path, query: q, cred: s.cred, idempotent: true}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// All iterates over every event that p selects, from p.Cursor on.
func (s *AuditService) All(ctx context.Context, p ListAuditParams) iter.Seq2[keyward.AuditEvent, error] {
	return all(ctx, p.Cursor, func(ctx context.Context, cursor string) (*keyward.Page[keyward.AuditEvent], error) {
		p.Cursor = cursor
		return s.List(ctx, p)
	})
}
