package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/keyward/keyward"
)

// ProjectsService manages the org's projects (org key).
type ProjectsService struct{ c *Client }

// Projects returns the org's projects.
func (o *OrgService) Projects() *ProjectsService { return &ProjectsService{c: o.c} }

// List returns one page of projects.
func (s *ProjectsService) List(ctx context.Context, p ListParams) (*keyward.Page[keyward.Project], error) {
	var page keyward.Page[keyward.Project]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/projects", query: p.values(), cred: credOrg, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// All iterates over every project from p.Cursor on.
func (s *ProjectsService) All(ctx context.Context, p ListParams) iter.Seq2[keyward.Project, error] {
	return all(ctx, p.Cursor, func(ctx context.Context, cursor string) (*keyward.Page[keyward.Project], error) {
		p.Cursor = cursor
		return s.List(ctx, p)
	})
}

// Create creates a project. It is never retried.
func (s *ProjectsService) Create(ctx context.Context, in keyward.CreateProjectInput) (*keyward.Project, error) {
	return s.send(ctx, call{method: http.MethodPost, path: "/v1/org/projects", body: in})
}

// Get returns one project.
func (s *ProjectsService) Get(ctx context.Context, id string) (*keyward.Project, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.send(ctx, call{method: http.MethodGet, path: "/v1/org/projects/" + escape(id), idempotent: true})
}

// Update renames a project or changes its slug or custom scopes.
func (s *ProjectsService) Update(ctx context.Context, id string, patch keyward.ProjectPatch) (*keyward.Project, error) {
	if id == "" {
		return nil, ErrEmptyID
	}
	return s.send(ctx, call{method: http.MethodPatch, path: "/v1/org/projects/" + escape(id), body: patch})
}

// Delete deletes a project.
func (s *ProjectsService) Delete(ctx context.Context, id string) error {
	if id == "" {
		return ErrEmptyID
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: "/v1/org/projects/" + escape(id), cred: credOrg, idempotent: true}, nil)
}

func (s *ProjectsService) send(ctx context.Context, cl call) (*keyward.Project, error) {
	cl.cred = credOrg
	var p keyward.Project
	if err := s.c.do(ctx, cl, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
